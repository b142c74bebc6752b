package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/provider/internal/diags"
	"github.com/runtimeops/terraform-provider-runtime/provider/internal/validators"
)

var (
	_ resource.Resource                = (*variableResource)(nil)
	_ resource.ResourceWithConfigure   = (*variableResource)(nil)
	_ resource.ResourceWithImportState = (*variableResource)(nil)

	_ resource.ResourceWithValidateConfig = (*variableResource)(nil)
)

// NewVariableResource returns the runtime_variable resource.
func NewVariableResource() resource.Resource {
	return &variableResource{}
}

type variableResource struct {
	data *providerData
}

type variableResourceModel struct {
	ID        types.String `tfsdk:"id"`
	ProjectID types.String `tfsdk:"project_id"`
	Key       types.String `tfsdk:"key"`
	Value     types.String `tfsdk:"value"`
}

// Descriptions shared by the three project children.
const (
	restartNote = "Creating, changing or deleting it restarts the project's app when it is running: once per apply, " +
		"however many variables, secrets and connections change, shortly after the last change reaches the agent " +
		"(apply does not wait for the restart). A stopped app picks the change up when it starts."
	precedenceNote = "When names collide, secrets win over variables, and variables over the environment variables " +
		"derived from connections and file secrets (`<KEY>_FILE`); a file secret also removes a variable of its own " +
		"name. Names are case-sensitive.\n\n" +
		"An app's environment has limits, checked before anything changes: one variable holds at most 128 KiB " +
		"(with its name) and no NUL byte (plan refuses more; a `runtime_secret` with `file = true` can hold it " +
		"instead), and a project's variables, secrets and connections together take at most 1 MiB (a variable hidden " +
		"by a secret of its name, and Airflow's `AIRFLOW_VAR_` copies, count in full; the write that would pass it fails " +
		"at apply; removing things always works). Near that limit, moving secrets between the " +
		"environment and files can take two applies, as Terraform writes them in any order."
	projectIDDescription = "`id` (slug) of the project the %s belongs to, usually `runtime_project.<name>.id`. " +
		"Changing it replaces the %s."
)

func projectIDAttribute(noun string) schema.StringAttribute {
	return schema.StringAttribute{
		Required:            true,
		MarkdownDescription: fmt.Sprintf(projectIDDescription, noun, noun),
		Validators:          []validator.String{validators.Rule("a project slug", api.ValidateSlug)},
		PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

func childIDAttribute(keyAttr string) schema.StringAttribute {
	return schema.StringAttribute{
		Computed:            true,
		MarkdownDescription: fmt.Sprintf("Identifier: `<project slug>/<%s>`, the form `terraform import` takes.", keyAttr),
		PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
	}
}

func envKeyAttribute(noun string) schema.StringAttribute {
	return schema.StringAttribute{
		Required: true,
		MarkdownDescription: fmt.Sprintf("Name of the environment variable the app sees, such as `REGION`: letters, digits and "+
			"underscores, not starting with a digit. Names the agent sets itself for some app type (such as `PORT`, `HOST`, "+
			"`HOME`, `PATH`, `STREAMLIT_SERVER_*`, `STREAMLIT_BROWSER_*`, `DASH_URL_BASE_PATHNAME`, `AIRFLOW__CORE__*`, "+
			"`AIRFLOW__API__*`, `WEBUI_SECRET_KEY`) are refused at plan time, with the reason. Changing it replaces the %s.", noun),
		Validators:    []validator.String{validators.Rule("an environment variable name the agent does not reserve", validateEnvKey)},
		PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
	}
}

func (r *variableResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_variable"
}

func (r *variableResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A plain configuration value of a project, given to its app as the environment variable " +
			"`KEY=value` (exactly as written: spaces, quotes, `$`, newlines and non-ASCII characters arrive unchanged, " +
			"nothing is expanded). Airflow apps also get it as the Airflow Variable `AIRFLOW_VAR_<KEY>`.\n\n" +
			"The value is stored in the agent and in Terraform's state in clear; use `runtime_secret` for credentials. " +
			precedenceNote + "\n\n" + restartNote + "\n\n" +
			"A variable deleted outside Terraform is planned for creation again.",
		Attributes: map[string]schema.Attribute{
			"project_id": projectIDAttribute("variable"),
			"key":        envKeyAttribute("variable"),
			"value": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Value of the variable; any string up to 128 KiB without a NUL byte, empty included. " +
					"Changes in place. A value changed " +
					"outside Terraform shows in the next plan and is put back by apply.",
			},
			"id": childIDAttribute("key"),
		},
	}
}

// ValidateConfig refuses at plan time a value no environment variable can
// hold, too large or with a NUL byte (the app's container could not start).
func (r *variableResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg variableResourceModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...); resp.Diagnostics.HasError() {
		return
	}
	if cfg.Key.IsNull() || cfg.Key.IsUnknown() || cfg.Value.IsNull() || cfg.Value.IsUnknown() {
		return
	}
	if err := api.ValidateEnvValue("variable", cfg.Key.ValueString(), cfg.Value.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("value"), "Value Cannot Be an Environment Variable",
			err.Error()+"; a runtime_secret with file = true can hold it as a file instead.")
	}
}

func (r *variableResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	d, err := providerDataFrom(req.ProviderData)
	if err != nil {
		resp.Diagnostics.AddError("Unexpected Resource Configure Type", err.Error())
		return
	}
	if d != nil {
		r.data = d
	}
}

func (r *variableResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan variableResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := r.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	slug, key := plan.ProjectID.ValueString(), plan.Key.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	ctx = tflog.SetField(ctx, "key", key)

	_, err := client.GetVariable(ctx, slug, key)
	if resp.Diagnostics.Append(variableKind.checkAbsent(err, slug, key)...); resp.Diagnostics.HasError() {
		return
	}
	defer r.data.children.forget(slug) // after the write: later reads see it
	v, err := client.SetVariable(ctx, slug, key, plan.Value.ValueString())
	if err != nil {
		if api.IsNotFound(err) {
			resp.Diagnostics.Append(variableKind.projectMissing(slug, err))
			return
		}
		resp.Diagnostics.Append(diags.AgentError("Unable to Create Variable", fmt.Sprintf("setting variable %q of project %q", key, slug), err))
		return
	}
	tflog.Debug(ctx, "created variable")
	resp.Diagnostics.Append(resp.State.Set(ctx, variableModelFrom(slug, key, v))...)
}

func (r *variableResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state, ds := variableFromState(req.State)
	if resp.Diagnostics.Append(ds...); resp.Diagnostics.HasError() {
		return
	}
	if r.data == nil || r.data.client == nil {
		tflog.Debug(ctx, "provider not configured with known values; variable not refreshed")
		return
	}
	slug, key := state.ProjectID.ValueString(), state.Key.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	ctx = tflog.SetField(ctx, "key", key)
	v, err := r.data.children.variable(ctx, r.data.client, slug, key)
	if api.IsNotFound(err) {
		tflog.Info(ctx, "variable (or its project) no longer exists on the agent; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(diags.AgentError("Unable to Read Variable", fmt.Sprintf("reading variable %q of project %q", key, slug), err))
		return
	}
	// The response starts as the state Terraform sent: leaving it alone when
	// nothing changed spares the framework's reflection, most of a quiet
	// refresh's cost over a few hundred children.
	if now := variableModelFrom(slug, key, v); *now != state {
		resp.Diagnostics.Append(resp.State.Set(ctx, now)...)
	}
}

func (r *variableResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan variableResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := r.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	slug, key := plan.ProjectID.ValueString(), plan.Key.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	ctx = tflog.SetField(ctx, "key", key)
	defer r.data.children.forget(slug) // after the write: later reads see it
	v, err := client.SetVariable(ctx, slug, key, plan.Value.ValueString())
	if err != nil {
		if api.IsNotFound(err) {
			resp.Diagnostics.Append(variableKind.projectMissing(slug, err))
			return
		}
		resp.Diagnostics.Append(diags.AgentError("Unable to Update Variable", fmt.Sprintf("setting variable %q of project %q", key, slug), err))
		return
	}
	tflog.Debug(ctx, "updated variable")
	resp.Diagnostics.Append(resp.State.Set(ctx, variableModelFrom(slug, key, v))...)
}

func (r *variableResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	variableKind.deleteChild(ctx, r.data, req, resp, (*api.Client).DeleteVariable)
}

// ImportState imports a variable by `<project-slug>/<key>`.
func (r *variableResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	variableKind.importChild(ctx, req, resp)
}

// variableFromState reads a prior state the way State.Get would, without
// its reflection (see rawState): refresh reads hundreds of these.
func variableFromState(st tfsdk.State) (variableResourceModel, diag.Diagnostics) {
	raw := readRawState(st.Raw)
	m := variableResourceModel{ID: raw.String("id"), ProjectID: raw.String("project_id"), Key: raw.String("key"), Value: raw.String("value")}
	return m, raw.Diagnostics()
}

func variableModelFrom(slug, key string, v *api.Variable) *variableResourceModel {
	if v.ProjectID != "" {
		slug = v.ProjectID
	}
	if v.Key != "" {
		key = v.Key
	}
	return &variableResourceModel{
		ID:        types.StringValue(childID(slug, key)),
		ProjectID: types.StringValue(slug),
		Key:       types.StringValue(key),
		Value:     types.StringValue(v.Value),
	}
}
