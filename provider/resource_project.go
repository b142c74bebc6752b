package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/provider/internal/diags"
	"github.com/runtimeops/terraform-provider-runtime/provider/internal/validators"
)

var (
	_ resource.Resource                = (*projectResource)(nil)
	_ resource.ResourceWithConfigure   = (*projectResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*projectResource)(nil)
	_ resource.ResourceWithImportState = (*projectResource)(nil)
)

// restartWait bounds each wait for the agent while a project update stops and
// restarts its app. runtime_project has no timeouts block of its own.
const restartWait = 10 * time.Minute

// NewProjectResource returns the runtime_project resource.
func NewProjectResource() resource.Resource {
	return &projectResource{}
}

type projectResource struct {
	data *providerData
}

type projectResourceModel struct {
	ID              types.String `tfsdk:"id"`
	Name            types.String `tfsdk:"name"`
	Slug            types.String `tfsdk:"slug"`
	AppType         types.String `tfsdk:"app_type"`
	Environment     types.String `tfsdk:"environment"`
	GitURL          types.String `tfsdk:"git_url"`
	Branch          types.String `tfsdk:"branch"`
	Path            types.String `tfsdk:"path"`
	Status          types.String `tfsdk:"status"`
	DeployPublicKey types.String `tfsdk:"deploy_public_key"`
	URL             types.String `tfsdk:"url"`
}

func (r *projectResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_project"
}

func (r *projectResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = projectResourceSchema()
}

func projectResourceSchema() schema.Schema {
	return schema.Schema{
		MarkdownDescription: "A project on runtime-agent: one data app, its git repository and its SSH deploy key. " +
			"Creating a project generates the key pair; register the public half (`deploy_public_key`, or the " +
			"`runtime_deploy_key` data source) with the git host before the first deployment. The app itself is run by " +
			"`runtime_deployment`.\n\n" +
			"`name`, `environment` and `path` change in place. The agent only accepts such a change while the app is " +
			"stopped, so when the app is running apply stops it, updates the project and starts it again (the plan " +
			"warns about this). Any other change replaces the project, which deletes its app and data and generates a " +
			"new deploy key.",
		Attributes: map[string]schema.Attribute{
			// Required
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Display name, at most 100 characters. `slug` is derived from it when not set. " +
					"Changes in place (a running app is stopped, updated and started again); the slug does not follow " +
					"a later change of the name.",
				Validators: []validator.String{validators.Rule("a project name with letters or digits, at most 100 characters", api.ValidateName)},
			},
			"app_type": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Kind of app, which decides how it is started, probed and routed: " +
					quotedList(api.AppTypes) + " (`web` for other web applications). Changing it replaces the project.",
				Validators:    []validator.String{stringvalidator.OneOf(api.AppTypes...)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"environment": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Python environment the app runs in, by name, such as `python-3.12`; it must be one " +
					"of the environments configured on the agent (checked at plan time). Changes in place (a running " +
					"app is stopped, updated and started again).",
				Validators: []validator.String{validators.Rule("an environment name known to the agent", api.ValidateEnvironmentName)},
			},
			"git_url": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Repository of the app: `git@host:org/repo.git` or `ssh://git@host:port/org/repo.git` " +
					"(cloned with the project's deploy key, host key checked against the agent's known_hosts), or " +
					"`https://host/org/repo.git` for public repositories. Changing it replaces the project.",
				Validators:    []validator.String{validators.Rule("a git repository URL", validateGitURL)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"path": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Path of the app's entrypoint inside the repository, such as `src/app.py` " +
					"(for Airflow: the DAGs folder). A leading `/` means the repository root. Deploy checks that it exists. " +
					"Changes in place (a running app is stopped, updated and started again).",
				Validators: []validator.String{validators.Rule("a path inside the repository", api.ValidatePath)},
			},

			// Optional
			"slug": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "URL-friendly identifier: 1-63 lowercase letters, digits and dashes. It names the " +
					"app's address (`<slug>.<apps domain>`), its container and its data. Derived from `name` when not " +
					"set (shown in the plan) and then kept, even when the name changes later. Setting it to a different " +
					"value replaces the project; removing it from the configuration keeps the current slug. A project " +
					"replaced for another reason (say a new `branch`) derives its slug again from the current name, so " +
					"set `slug` explicitly when the app's address must never change.",
				Validators: []validator.String{validators.Rule("a valid slug", api.ValidateSlug)},
				PlanModifiers: []planmodifier.String{
					stringplanmodifier.UseStateForUnknown(),
					stringplanmodifier.RequiresReplaceIfConfigured(),
				},
			},
			"branch": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString("main"),
				MarkdownDescription: "Branch to deploy. Defaults to `main`. Changing it replaces the project.",
				Validators:          []validator.String{validators.Rule("a valid git branch name", api.ValidateBranch)},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},

			// Computed
			"id": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Identifier of the project: its slug. Use it as `project_id` of other resources. " +
					"It is known after apply only, even when `slug` is known at plan time, so that resources referencing it " +
					"are replaced together with the project.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"status": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "State of the project's app as the agent last saw it: `created` (never deployed), " +
					"`deployed` (running), `stopped` or `failed` (see `runtime_deployment.last_error`).",
			},
			"deploy_public_key": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Public half of the project's SSH deploy key, as one `authorized_keys` line. Register it " +
					"as a read-only deploy key with the git host. The private half never leaves the agent.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"url": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Address the agent serves the app at: `http://<slug>.<apps domain>`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
		},
	}
}

func validateGitURL(s string) error {
	_, err := api.ParseGitURL(s)
	return err
}

func quotedList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "`" + s + "`"
	}
	return strings.Join(q, ", ")
}

func (r *projectResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	d, err := providerDataFrom(req.ProviderData)
	if err != nil {
		resp.Diagnostics.AddError("Unexpected Resource Configure Type", err.Error())
		return
	}
	if d != nil {
		r.data = d
	}
}

// ModifyPlan derives the slug (so the plan shows it), checks the environment
// against the agent, and warns when an in-place update will restart the app.
func (r *projectResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan projectResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	creating := req.State.Raw.IsNull()
	var state projectResourceModel
	if !creating {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}

	if creating {
		if plan.Slug.IsUnknown() && !plan.Name.IsUnknown() && !plan.Name.IsNull() {
			plan.Slug = types.StringValue(api.Slugify(plan.Name.ValueString()))
		}
		// id stays unknown on purpose: when the project is replaced (same slug),
		// an unknown id makes everything that references it (the deployment,
		// the deploy key) follow the replacement in the same apply.
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	}

	// Ask the agent whether it knows the environment, when it is new or changes.
	if !plan.Environment.IsUnknown() && !plan.Environment.IsNull() && (creating || !plan.Environment.Equal(state.Environment)) &&
		r.data != nil && r.data.client != nil {
		env := plan.Environment.ValueString()
		known, err := r.data.client.Environments(ctx)
		if err != nil {
			resp.Diagnostics.Append(diags.AgentError("Unable to Check Environment",
				fmt.Sprintf("listing the agent's environments to check environment %q", env), err))
			return
		}
		if _, ok := known[env]; !ok {
			names := make([]string, 0, len(known))
			for n := range known {
				names = append(names, n)
			}
			sort.Strings(names)
			msg := "the agent has no environments configured: add one to the environments block of its configuration"
			if len(names) > 0 {
				msg = "use one of " + strings.Join(names, ", ") + ", or add it to the environments block of the agent's configuration"
			}
			resp.Diagnostics.AddAttributeError(path.Root("environment"), "Unknown Environment",
				fmt.Sprintf("environment %q is not known to the agent: %s.", env, msg))
		}
	}

	if creating {
		return
	}
	var changed []string
	for _, f := range []struct {
		name        string
		plan, state types.String
	}{{"name", plan.Name, state.Name}, {"environment", plan.Environment, state.Environment}, {"path", plan.Path, state.Path}} {
		if !f.plan.Equal(f.state) {
			changed = append(changed, f.name)
		}
	}
	// A replacement deletes the app anyway; Terraform plans it again as a
	// create, so only an in-place update warns.
	replacing := !plan.AppType.Equal(state.AppType) || !plan.GitURL.Equal(state.GitURL) ||
		!plan.Branch.Equal(state.Branch) || !plan.Slug.Equal(state.Slug)
	if len(changed) > 0 && state.Status.ValueString() == api.StatusDeployed && !replacing {
		resp.Diagnostics.AddWarning("Apply Will Restart The App",
			fmt.Sprintf("The plan changes %s of project %q while its app is running. The agent only updates a stopped "+
				"project, so apply will stop the app, update the project and start the app again; it is unavailable "+
				"in between.", strings.Join(changed, ", "), state.ID.ValueString()))
	}
}

func (r *projectResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan projectResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := r.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}

	in := api.CreateProjectRequest{
		Name:        plan.Name.ValueString(),
		Slug:        plan.Slug.ValueString(), // empty when still unknown: the agent derives it the same way
		AppType:     plan.AppType.ValueString(),
		Environment: plan.Environment.ValueString(),
		GitURL:      plan.GitURL.ValueString(),
		Branch:      plan.Branch.ValueString(),
		Path:        plan.Path.ValueString(),
	}
	ctx = tflog.SetField(ctx, "project", in.Slug)
	p, err := client.CreateProject(ctx, in)
	if err != nil {
		if api.IsConflict(err) {
			resp.Diagnostics.AddAttributeError(path.Root("slug"), "Project Already Exists",
				fmt.Sprintf("The agent already has a project with slug %q (%s). Import it with "+
					"`terraform import <address> %s` (or an import block), or choose another slug.", in.Slug, err, in.Slug))
			return
		}
		resp.Diagnostics.Append(diags.AgentError("Unable to Create Project", fmt.Sprintf("creating project %q", in.Slug), err))
		return
	}
	tflog.Debug(ctx, "created project")
	resp.Diagnostics.Append(resp.State.Set(ctx, projectModelFrom(p))...)
}

func (r *projectResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state projectResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.data == nil || r.data.client == nil {
		// The provider's configuration is not known yet (plan); keep the state.
		tflog.Debug(ctx, "provider not configured with known values; project not refreshed")
		return
	}
	slug := state.ID.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	p, err := r.data.client.GetProject(ctx, slug)
	if api.IsNotFound(err) {
		tflog.Info(ctx, "project no longer exists on the agent; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(diags.AgentError("Unable to Read Project", fmt.Sprintf("reading project %q", slug), err))
		return
	}
	// Every project gets its own key pair: another key under the same slug
	// means the project was deleted and created again outside Terraform.
	// That is not the object in state; plan it anew (creating it then says
	// the slug is taken and how to import it) rather than adopt it silently.
	if known := state.DeployPublicKey.ValueString(); known != "" && known != p.DeployPublicKey {
		resp.Diagnostics.AddWarning("Project Replaced Outside Terraform",
			fmt.Sprintf("Project %q on the agent is not the one Terraform created: it has another deploy key (%s), so it was deleted and created again outside Terraform. It is removed from state; import it (terraform import <address> %s) to manage it.", slug, p.FingerprintSHA256, slug))
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, projectModelFrom(p))...)
}

// Update changes name, environment and path. The agent accepts that only while
// the app is stopped, so a running app is stopped first and started again
// afterwards with the same commit and revision.
func (r *projectResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state projectResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := r.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	slug := state.ID.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)

	var in api.UpdateProjectRequest
	if !plan.Name.Equal(state.Name) {
		in.Name = plan.Name.ValueStringPointer()
	}
	if !plan.Environment.Equal(state.Environment) {
		in.Environment = plan.Environment.ValueStringPointer()
	}
	if !plan.Path.Equal(state.Path) {
		in.Path = plan.Path.ValueStringPointer()
	}
	if in.Name == nil && in.Environment == nil && in.Path == nil {
		r.readInto(ctx, client, slug, resp)
		return
	}

	// Is the app meant to run? Then it has to be stopped for the update.
	dep, err := client.GetDeployment(ctx, slug, false)
	if err != nil && !api.IsNotFound(err) {
		resp.Diagnostics.Append(diags.AgentError("Unable to Update Project", fmt.Sprintf("reading the deployment of project %q", slug), err))
		return
	}
	restart := err == nil && dep.Exists && dep.State == api.StateRunning
	wasServing := restart && dep.Status == api.StatusDeployed
	var spec api.DeploymentSpec
	if wasServing {
		// Refuse a path that is not in the running commit before stopping
		// anything: a typo must not take a working app down.
		if err := client.CheckProjectUpdate(ctx, slug, in); err != nil {
			resp.Diagnostics.Append(diags.AgentError("Unable to Update Project", fmt.Sprintf("checking the update of project %q (nothing was changed)", slug), err))
			return
		}
	}
	if restart {
		spec = dep.DeploymentSpec
		if spec.Commit == "" && dep.DeployedCommit != "" {
			// Restart the commit that ran: an update of name, environment
			// or path must not also pull new code.
			spec.TargetCommit = dep.DeployedCommit
		}
		tflog.Info(ctx, "stopping the app to update the project", map[string]any{"status": dep.Status})
		stop := spec
		stop.State = api.StateStopped
		if _, err := r.putAndWait(ctx, client, slug, stop); err != nil {
			resp.Diagnostics.Append(diags.AgentError("Unable to Update Project",
				fmt.Sprintf("stopping the app of project %q before updating it (the project was not changed)", slug), err))
			return
		}
	}

	_, err = client.UpdateProject(ctx, slug, in)
	if err != nil {
		detail := fmt.Sprintf("updating project %q", slug)
		if restart {
			if d, rerr := r.putAndWait(ctx, client, slug, spec); rerr != nil || (wasServing && d.Status != api.StatusDeployed) {
				detail += " (the app was stopped for the update and could not be started again; apply again once the cause is fixed)"
			} else {
				detail += " (the app was stopped for the update and has been started again)"
			}
		}
		resp.Diagnostics.Append(diags.AgentError("Unable to Update Project", detail, err))
		return
	}

	if restart {
		tflog.Info(ctx, "starting the app again after the update")
		d, err := r.putAndWait(ctx, client, slug, spec)
		switch {
		case err != nil:
			resp.Diagnostics.Append(diags.AgentError("App Not Restarted",
				fmt.Sprintf("starting the app of project %q again after the update (the project itself was updated)", slug), err))
		case d.Status != api.StatusDeployed && wasServing:
			resp.Diagnostics.AddError("App Not Restarted",
				fmt.Sprintf("Project %q was updated, but its app did not start again (status %s): %s", slug, d.Status, lastErrorText(d)))
		case d.Status != api.StatusDeployed:
			resp.Diagnostics.AddWarning("App Still Not Running",
				fmt.Sprintf("Project %q was updated. Its app was not running before (status %s) and still is not: %s", slug, dep.Status, lastErrorText(d)))
		}
	}
	r.readInto(ctx, client, slug, resp)
}

// putAndWait records a deployment spec and waits until the agent has acted on it.
func (r *projectResource) putAndWait(ctx context.Context, client *api.Client, slug string, spec api.DeploymentSpec) (*api.Deployment, error) {
	d, err := client.PutDeployment(ctx, slug, spec)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, restartWait)
	defer cancel()
	return client.WaitDeployment(wctx, slug, d.Generation)
}

func (r *projectResource) readInto(ctx context.Context, client *api.Client, slug string, resp *resource.UpdateResponse) {
	p, err := client.GetProject(ctx, slug)
	if err != nil {
		resp.Diagnostics.Append(diags.AgentError("Unable to Read Project", fmt.Sprintf("reading project %q after the update", slug), err))
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, projectModelFrom(p))...)
}

func (r *projectResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state projectResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := r.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	slug := state.ID.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	if err := client.DeleteProject(ctx, slug); err != nil && !api.IsNotFound(err) {
		resp.Diagnostics.Append(diags.AgentError("Unable to Delete Project", fmt.Sprintf("deleting project %q", slug), err))
		return
	}
	tflog.Debug(ctx, "deleted project")
}

// ImportState imports a project by slug: `terraform import runtime_project.sales sales`.
func (r *projectResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := api.ValidateSlug(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid Import ID",
			fmt.Sprintf("A project is imported by its slug, such as `terraform import runtime_project.sales sales`: %s.", err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("slug"), req.ID)...)
}

func projectModelFrom(p *api.Project) *projectResourceModel {
	id := p.ID
	if id == "" {
		id = p.Slug
	}
	return &projectResourceModel{
		ID:              types.StringValue(id),
		Name:            types.StringValue(p.Name),
		Slug:            types.StringValue(p.Slug),
		AppType:         types.StringValue(p.AppType),
		Environment:     types.StringValue(p.Environment),
		GitURL:          types.StringValue(p.GitURL),
		Branch:          types.StringValue(p.Branch),
		Path:            types.StringValue(p.Path),
		Status:          types.StringValue(p.Status),
		DeployPublicKey: types.StringValue(p.DeployPublicKey),
		URL:             types.StringValue(p.URL),
	}
}

// lastErrorText is the agent's reason for a failed deployment, or a pointer
// to where it can be found when the agent gave none.
func lastErrorText(d *api.Deployment) string {
	if s := strings.TrimSpace(d.LastError); s != "" {
		return s
	}
	return "the agent gave no reason; see `runtime-agent logs " + d.ProjectID + "` on the host"
}
