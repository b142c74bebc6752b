package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
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
	_ resource.Resource                = (*deploymentResource)(nil)
	_ resource.ResourceWithConfigure   = (*deploymentResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*deploymentResource)(nil)
	_ resource.ResourceWithImportState = (*deploymentResource)(nil)
)

const defaultDeployTimeout = 10 * time.Minute

// Keys of the deployment's private state (values are JSON strings).
const (
	// privateBranchHead is the branch head the agent reported at the last
	// refresh; ModifyPlan plans a pull to it.
	privateBranchHead = "branch_head"
	// privateSentCommit is the commit apply sent while commit was unset, so
	// the agent deploys exactly what the plan showed. The agent keeps it in
	// its spec like a pin; Read must not mistake it for one.
	privateSentCommit = "sent_commit"
)

// NewDeploymentResource returns the runtime_deployment resource.
func NewDeploymentResource() resource.Resource {
	return &deploymentResource{}
}

type deploymentResource struct {
	data *providerData
}

type deploymentResourceModel struct {
	ID             types.String   `tfsdk:"id"`
	ProjectID      types.String   `tfsdk:"project_id"`
	State          types.String   `tfsdk:"state"`
	Commit         types.String   `tfsdk:"commit"`
	Triggers       types.Map      `tfsdk:"triggers"`
	MemoryMB       types.Int64    `tfsdk:"memory_mb"`
	CPUs           types.Float64  `tfsdk:"cpus"`
	PathPrefix     types.String   `tfsdk:"path_prefix"`
	Status         types.String   `tfsdk:"status"`
	DeployedCommit types.String   `tfsdk:"deployed_commit"`
	URL            types.String   `tfsdk:"url"`
	LastError      types.String   `tfsdk:"last_error"`
	Timeouts       timeouts.Value `tfsdk:"timeouts"`
}

func (r *deploymentResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_deployment"
}

func (r *deploymentResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The running app of a `runtime_project`: the agent clones the repository with the project's " +
			"deploy key, checks that the entrypoint exists, and runs the app in a container behind its reverse proxy.\n\n" +
			"Refresh reads what is true on the host: an app stopped by hand or a dead container reads as " +
			"`state = \"stopped\"`, so the plan shows `stopped -> running` and apply starts it again. When `commit` is " +
			"not set, refresh also asks the git host for the branch head; when it moved past `deployed_commit`, the " +
			"plan shows the new commit and apply deploys exactly that commit.\n\n" +
			"Apply waits until the app is healthy, within the `timeouts` block (default 10 minutes). When a create " +
			"times out, nothing is saved to state and the agent keeps working: the next apply sends the same " +
			"configuration, finds the container it already started and waits for it, instead of starting over.\n\n" +
			"Everything but `project_id` changes in place. Deleting the resource stops and removes the app; the " +
			"project and its deploy key stay.",
		Attributes: map[string]schema.Attribute{
			// Required
			"project_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "`id` (slug) of the project whose app this is. Changing it replaces the deployment.",
				Validators:          []validator.String{validators.Rule("a project slug", api.ValidateSlug)},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},

			// Optional
			"state": schema.StringAttribute{
				Optional: true,
				Computed: true,
				Default:  stringdefault.StaticString(api.StateRunning),
				MarkdownDescription: "Wanted state of the app: `running` (default) or `stopped`. Changes in place. " +
					"Refresh sets it to `stopped` whenever the app is not actually serving (stopped by hand, container " +
					"gone, deploy failed), so the next apply starts it again.",
				Validators: []validator.String{stringvalidator.OneOf(api.StateRunning, api.StateStopped)},
			},
			"commit": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Commit to deploy, as a full or abbreviated (at least 7 hex digits) SHA; it must be " +
					"on `branch`. Pins the app to that commit. When unset, the app follows the branch head: each " +
					"refresh looks at the branch and plans a pull when it moved. Changes in place.",
				Validators: []validator.String{validators.Rule("a commit SHA", api.ValidateCommit)},
			},
			"triggers": schema.MapAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Arbitrary values; any change makes the agent pull the branch and restart the app " +
					"(for example a version number or the hash of a data file). Changes in place. Not read back from " +
					"the agent: after an import it is empty until the next apply.",
			},

			"memory_mb": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Memory limit of the app's container in MiB (swap included, so it is a real ceiling). " +
					"Unset: no limit. Changes in place by restarting the app; an app killed for exceeding it reads " +
					"`status = \"failed\"` with a `last_error` saying so.",
				Validators: []validator.Int64{int64validator.Between(16, 1<<20)},
			},
			"path_prefix": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Also serve the app at `http://<apps domain>/<path_prefix>/` (for example `team/sales`), " +
					"with the app told its base path (Streamlit `server.baseUrlPath`, Dash `DASH_URL_BASE_PATHNAME`, Airflow " +
					"`base_url` and execution API URL); `url` then shows that address. Only `streamlit`, `dash` and `airflow` " +
					"support it: Open WebUI and web apps need the root of their own host name, and a prefix for them is refused " +
					"at plan time. Changes in place by restarting the app.",
				Validators: []validator.String{validators.Rule("a path prefix", api.ValidatePathPrefix)},
			},
			"cpus": schema.Float64Attribute{
				Optional:            true,
				MarkdownDescription: "CPU limit of the app's container, in cores (for example `0.5`). Unset: no limit. Changes in place by restarting the app.",
				Validators:          []validator.Float64{float64validator.Between(0.01, 1024)},
			},

			// Computed
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Identifier of the deployment: the project's slug.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"status": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Observed state of the app: `deployed` (running), `stopped`, `failed` (see " +
					"`last_error`) or `created` (never deployed).",
			},
			"deployed_commit": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Full SHA of the commit the app runs (or last ran, when stopped).",
			},
			"url": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Address the agent serves the app at: `http://<slug>.<apps domain>`.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"last_error": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Why the last deploy or start failed, with the last lines of the app's log; empty " +
					"when it succeeded. It is kept in Terraform's state like every attribute: the agent replaces the " +
					"project's secret values and passwords in it with `[secret]`, wherever the error or the app's log " +
					"quoted them.",
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *deploymentResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	d, err := providerDataFrom(req.ProviderData)
	if err != nil {
		resp.Diagnostics.AddError("Unexpected Resource Configure Type", err.Error())
		return
	}
	if d != nil {
		r.data = d
	}
}

// ModifyPlan fills in the computed values apply will produce, so that a
// plan shows the commit that will be deployed and apply's result matches it.
func (r *deploymentResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy
	}
	var plan deploymentResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if plan.ID.IsUnknown() && !plan.ProjectID.IsUnknown() {
		plan.ID = plan.ProjectID
	}
	defer func() { resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...) }()

	var state *deploymentResourceModel
	if !req.State.Raw.IsNull() {
		state = &deploymentResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	planComputed(&plan, state, privateString(ctx, req.Private, privateBranchHead))

	if !plan.PathPrefix.IsNull() && !plan.PathPrefix.IsUnknown() {
		if state == nil || !plan.PathPrefix.Equal(state.PathPrefix) {
			plan.URL = types.StringUnknown() // the app moves to the prefix
		}
		// Refuse a prefix for app types that cannot run under one, at plan
		// time when the project already exists.
		if r.data != nil && r.data.client != nil && !plan.ProjectID.IsUnknown() {
			if p, err := r.data.client.GetProject(ctx, plan.ProjectID.ValueString()); err == nil && !api.PrefixRouting(p.AppType) {
				resp.Diagnostics.AddAttributeError(path.Root("path_prefix"), "Path Prefix Not Supported",
					fmt.Sprintf("%s apps cannot be served under a path prefix: they need the root of their own host name (%s). Remove path_prefix.", p.AppType, p.URL))
			}
		}
	} else if state != nil && !state.PathPrefix.IsNull() && plan.PathPrefix.IsNull() {
		plan.URL = types.StringUnknown() // back to its own host name
	}
}

// planComputed sets the computed values of a deployment's plan: what apply
// will produce, as far as it can be known. state is nil on create; head is the
// branch head seen at the last refresh ("" when unknown).
//
// The rules keep two promises: a plan after apply is empty (values are only
// touched when something changes or a pull is due), and apply's result matches
// the plan (what cannot be predicted stays unknown).
func planComputed(plan, state *deploymentResourceModel, head string) {
	// Values known only after apply: nothing to decide yet; the computed
	// attributes stay unknown.
	if plan.State.IsUnknown() || plan.Commit.IsUnknown() || !mapFullyKnown(plan.Triggers) {
		return
	}
	running := plan.State.ValueString() == api.StateRunning

	if state == nil { // create
		if running {
			plan.Status = types.StringValue(api.StatusDeployed)
			plan.LastError = types.StringValue("")
		}
		return
	}

	pinned := !plan.Commit.IsNull()
	deployed := state.DeployedCommit.ValueString()
	changed := !plan.State.Equal(state.State) || !plan.Commit.Equal(state.Commit) || !plan.Triggers.Equal(state.Triggers) ||
		!plan.MemoryMB.Equal(state.MemoryMB) || !plan.CPUs.Equal(state.CPUs) || !plan.PathPrefix.Equal(state.PathPrefix)
	pull := !pinned && running && head != "" && head != deployed
	// A pinned commit that is not what runs (its deploy failed while the
	// previous version kept serving) is applied again.
	offPin := pinned && running && deployed != "" && !strings.HasPrefix(deployed, plan.Commit.ValueString())
	// So is a failed deploy whose previous version still serves.
	failed := running && state.Status.ValueString() == api.StatusFailed
	if !changed && !pull && !offPin && !failed {
		return // the state's values stand
	}

	switch {
	case running:
		plan.Status = types.StringValue(api.StatusDeployed)
		plan.LastError = types.StringValue("")
	case state.Status.ValueString() == api.StatusDeployed || state.Status.ValueString() == api.StatusStopped:
		plan.Status = types.StringValue(api.StatusStopped)
		plan.LastError = types.StringUnknown()
	default:
		plan.Status = types.StringUnknown()
		plan.LastError = types.StringUnknown()
	}

	switch {
	case pinned:
		if pin := plan.Commit.ValueString(); deployed != "" && strings.HasPrefix(deployed, pin) {
			plan.DeployedCommit = state.DeployedCommit
		} else {
			plan.DeployedCommit = types.StringUnknown() // the agent resolves the pin to a full SHA
		}
	case pull:
		plan.DeployedCommit = types.StringValue(head)
	default:
		plan.DeployedCommit = state.DeployedCommit
	}
}

func (r *deploymentResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan deploymentResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := r.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	timeout, ds := plan.Timeouts.Create(ctx, defaultDeployTimeout)
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	slug := plan.ProjectID.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)

	spec, sent, ds := deploymentSpecFor(ctx, &plan)
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	d, ds := r.apply(ctx, client, slug, spec, timeout, "Create")
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		// Nothing is saved: the next apply puts the same spec again.
		return
	}
	if ds := deployFailed(slug, spec, d); ds.HasError() {
		resp.Diagnostics.Append(ds...)
		return
	}
	setObserved(&plan, d, false)
	resp.Diagnostics.Append(setPrivateString(ctx, resp.Private, privateSentCommit, sent)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *deploymentResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state deploymentResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.data == nil || r.data.client == nil {
		tflog.Debug(ctx, "provider not configured with known values; deployment not refreshed")
		return
	}
	slug := state.ID.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	d, err := r.data.client.GetDeployment(ctx, slug, true)
	if api.IsNotFound(err) || err == nil && !d.Exists {
		tflog.Info(ctx, "deployment no longer exists on the agent; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(diags.AgentError("Unable to Read Deployment", fmt.Sprintf("reading the deployment of project %q", slug), err))
		return
	}

	if state.ProjectID.IsNull() || state.ProjectID.ValueString() == "" {
		state.ProjectID = types.StringValue(slug)
	}
	// commit: what the agent holds as pin, unless it is the commit apply sent
	// while following the branch, or the configured abbreviation of it.
	sent := privateString(ctx, req.Private, privateSentCommit)
	switch cur := state.Commit.ValueString(); {
	case d.Commit == "" || d.Commit == sent:
		state.Commit = types.StringNull()
	case cur != "" && (strings.HasPrefix(d.Commit, cur) || strings.HasPrefix(cur, d.Commit)):
		// keep the configured form
	default:
		state.Commit = types.StringValue(d.Commit)
	}
	// triggers cannot be read back, only their hash; when it no longer
	// matches, drop them so that the plan puts them back.
	if rev, ds := triggersRevisionOf(ctx, state.Triggers); !ds.HasError() && rev != d.Revision && !state.Triggers.IsNull() {
		state.Triggers = types.MapNull(types.StringType)
	}
	setObserved(&state, d, true)

	resp.Diagnostics.Append(setPrivateString(ctx, resp.Private, privateBranchHead, d.BranchHead)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *deploymentResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan deploymentResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := r.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	timeout, ds := plan.Timeouts.Update(ctx, defaultDeployTimeout)
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	slug := plan.ProjectID.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)

	spec, sent, ds := deploymentSpecFor(ctx, &plan)
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	resp.Diagnostics.Append(setPrivateString(ctx, resp.Private, privateSentCommit, sent)...)
	d, ds := r.apply(ctx, client, slug, spec, timeout, "Update")
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		if d != nil {
			// Save what the agent reports so that the next plan shows the drift.
			setObserved(&plan, d, true)
			resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		}
		return
	}
	if ds := deployFailed(slug, spec, d); ds.HasError() {
		resp.Diagnostics.Append(ds...)
		setObserved(&plan, d, true)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	setObserved(&plan, d, false)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *deploymentResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state deploymentResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := r.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	timeout, ds := state.Timeouts.Delete(ctx, defaultDeployTimeout)
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	slug := state.ID.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	d, err := client.DeleteDeployment(ctx, slug)
	if api.IsNotFound(err) {
		return
	}
	if err != nil {
		resp.Diagnostics.Append(diags.AgentError("Unable to Delete Deployment", fmt.Sprintf("deleting the deployment of project %q", slug), err))
		return
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := client.WaitDeployment(wctx, slug, d.Generation); err != nil && !api.IsNotFound(err) {
		resp.Diagnostics.Append(diags.AgentError("Unable to Delete Deployment",
			fmt.Sprintf("waiting for the agent to stop and remove the app of project %q", slug), err))
	}
}

// ImportState imports a deployment by its project's slug:
// `terraform import runtime_deployment.sales sales`.
func (r *deploymentResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := api.ValidateSlug(req.ID); err != nil {
		resp.Diagnostics.AddError("Invalid Import ID",
			fmt.Sprintf("A deployment is imported by its project's slug, such as `terraform import runtime_deployment.sales sales`: %s.", err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("project_id"), req.ID)...)
}

// apply records spec and waits (within timeout) for the agent to act on it.
// On a failed wait it still returns the last deployment read, when there is one.
func (r *deploymentResource) apply(ctx context.Context, client *api.Client, slug string, spec api.DeploymentSpec, timeout time.Duration, op string) (*api.Deployment, diag.Diagnostics) {
	var ds diag.Diagnostics
	summary := "Unable to " + op + " Deployment"
	tflog.Debug(ctx, "recording deployment spec", map[string]any{"state": spec.State, "commit": spec.Commit, "revision": spec.Revision})
	d, err := client.PutDeployment(ctx, slug, spec)
	if err != nil {
		if api.IsNotFound(err) {
			ds.AddAttributeError(path.Root("project_id"), summary,
				fmt.Sprintf("Project %q does not exist on the agent (%s). Create it first (runtime_project), or fix project_id.", slug, err))
			return nil, ds
		}
		ds.Append(diags.AgentError(summary, fmt.Sprintf("setting the deployment of project %q", slug), err))
		return nil, ds
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	w, err := client.WaitDeployment(wctx, slug, d.Generation)
	if err != nil {
		ds.Append(diags.AgentError(summary, fmt.Sprintf("waiting for the deployment of project %q (timeout %s)", slug, timeout), err))
		return w, ds
	}
	tflog.Debug(ctx, "deployment settled", map[string]any{"status": w.Status, "deployed_commit": w.DeployedCommit})
	return w, ds
}

// deployFailed turns an unsuccessful outcome into the error users see; the
// agent's LastError carries the reason and the tail of the app's log.
func deployFailed(slug string, spec api.DeploymentSpec, d *api.Deployment) diag.Diagnostics {
	var ds diag.Diagnostics
	switch {
	case spec.State == api.StateRunning && d.Status != api.StatusDeployed:
		ds.AddError("Deploy Failed", fmt.Sprintf("deploy of %s failed: %s", slug, lastErrorText(d)))
	case d.Status == api.StatusFailed:
		ds.AddError("Stop Failed", fmt.Sprintf("stopping %s failed: %s", slug, lastErrorText(d)))
	}
	return ds
}

// deploymentSpecFor builds the spec apply sends. sent is the commit sent
// although commit is unset (see privateSentCommit), or "".
func deploymentSpecFor(ctx context.Context, plan *deploymentResourceModel) (spec api.DeploymentSpec, sent string, ds diag.Diagnostics) {
	spec.State = plan.State.ValueString()
	spec.Revision, ds = triggersRevisionOf(ctx, plan.Triggers)
	spec.MemoryMB = plan.MemoryMB.ValueInt64()
	spec.PathPrefix = plan.PathPrefix.ValueString()
	spec.CPUs = plan.CPUs.ValueFloat64()
	switch {
	case !plan.Commit.IsNull():
		spec.Commit = plan.Commit.ValueString()
	case !plan.DeployedCommit.IsUnknown() && plan.DeployedCommit.ValueString() != "":
		// Deploy exactly the commit the plan showed, not whatever the branch
		// head is by the time apply runs.
		spec.TargetCommit = plan.DeployedCommit.ValueString()
		sent = spec.TargetCommit
	}
	return spec, sent, ds
}

// setObserved copies what the agent reports into m. With fromHost, the
// state attribute is the observed truth too ("running" only when the app is
// actually deployed); otherwise it keeps the planned value.
func setObserved(m *deploymentResourceModel, d *api.Deployment, fromHost bool) {
	slug := d.ProjectID
	if slug == "" {
		slug = m.ProjectID.ValueString()
	}
	m.ID = types.StringValue(slug)
	if fromHost {
		m.State = types.StringValue(observedState(d))
		m.MemoryMB, m.CPUs = types.Int64Null(), types.Float64Null()
		m.PathPrefix = types.StringNull()
		if d.PathPrefix != "" {
			m.PathPrefix = types.StringValue(d.PathPrefix)
		}
		if d.MemoryMB != 0 {
			m.MemoryMB = types.Int64Value(d.MemoryMB)
		}
		if d.CPUs != 0 {
			m.CPUs = types.Float64Value(d.CPUs)
		}
	}
	m.Status = types.StringValue(d.Status)
	m.DeployedCommit = types.StringValue(d.DeployedCommit)
	m.URL = types.StringValue(d.URL)
	m.LastError = types.StringValue(d.LastError)
}

// observedState maps what the host runs onto the state attribute: anything
// but a deployed app reads as stopped, so a plan puts a wanted "running" back.
func observedState(d *api.Deployment) string {
	if d.Status == api.StatusDeployed || d.Serving {
		// Also after a failed deploy that left the previous version serving:
		// deployed_commit then names the serving commit, and the plan pulls
		// (or moves to the pin) again.
		return api.StateRunning
	}
	return api.StateStopped
}

// triggersRevision is the revision sent for a triggers map: a stable hash of
// its entries (independent of order), or "" for no triggers.
func triggersRevision(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m) // encoding/json sorts map keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func triggersRevisionOf(ctx context.Context, v types.Map) (string, diag.Diagnostics) {
	if v.IsNull() || v.IsUnknown() {
		return "", nil
	}
	m := map[string]string{}
	ds := v.ElementsAs(ctx, &m, false)
	return triggersRevision(m), ds
}

func mapFullyKnown(v types.Map) bool {
	if v.IsUnknown() {
		return false
	}
	for _, e := range v.Elements() {
		if e.IsUnknown() {
			return false
		}
	}
	return true
}

// privateGetter and privateSetter are the parts of the framework's private
// state used here.
type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func privateString(ctx context.Context, p privateGetter, key string) string {
	if p == nil {
		return ""
	}
	b, ds := p.GetKey(ctx, key)
	if ds.HasError() || len(b) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return ""
	}
	return s
}

func setPrivateString(ctx context.Context, p privateSetter, key, value string) diag.Diagnostics {
	if value == "" {
		return p.SetKey(ctx, key, nil)
	}
	b, _ := json.Marshal(value)
	return p.SetKey(ctx, key, b)
}
