package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/provider/internal/diags"
)

var (
	_ resource.Resource                = (*secretResource)(nil)
	_ resource.ResourceWithConfigure   = (*secretResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*secretResource)(nil)
	_ resource.ResourceWithImportState = (*secretResource)(nil)

	_ resource.ResourceWithConfigValidators = (*secretResource)(nil)
	_ resource.ResourceWithValidateConfig   = (*secretResource)(nil)
)

// NewSecretResource returns the runtime_secret resource.
func NewSecretResource() resource.Resource {
	return &secretResource{}
}

type secretResource struct {
	data *providerData
}

type secretResourceModel struct {
	ID             types.String `tfsdk:"id"`
	ProjectID      types.String `tfsdk:"project_id"`
	Key            types.String `tfsdk:"key"`
	Value          types.String `tfsdk:"value"`
	ValueWO        types.String `tfsdk:"value_wo"`
	ValueWOVersion types.Int64  `tfsdk:"value_wo_version"`
	File           types.Bool   `tfsdk:"file"`
	Version        types.Int64  `tfsdk:"version"`
}

// writeOnlyNote explains write-only arguments once for secrets and passwords.
const writeOnlyNote = "Write-only arguments (`*_wo`, Terraform 1.11 or later) are sent to the agent whenever apply " +
	"creates or updates the resource, and never stored in Terraform's plan or state. Terraform cannot tell when such " +
	"a value changes, so change its `*_wo_version` (for example increment it) to rotate it; re-sending an unchanged " +
	"value changes nothing on the agent. The sensitive arguments work with any Terraform version, but their value is " +
	"stored in the state and only hidden from the CLI output."

func (r *secretResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_secret"
}

func (r *secretResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A credential of a project, given to its app as the environment variable `KEY=value`, byte " +
			"for byte (nothing is expanded or quoted). Streamlit apps also find it as a top-level key of the generated " +
			"`~/.streamlit/secrets.toml` (`st.secrets[\"KEY\"]`); Airflow apps also get it as the Airflow Variable " +
			"`AIRFLOW_VAR_<KEY>`. With `file = true` the app reads it from the file `/run/secrets/<KEY>` instead " +
			"(certificates, service-account JSON, values over 128 KiB).\n\n" +
			"The agent keeps the value encrypted at rest and never returns, logs or prints it. Set it with exactly one " +
			"of `value_wo` (write-only, preferred) and `value`. " + writeOnlyNote + "\n\n" +
			"Because the value cannot be read back, a change made outside Terraform is detected by `version`, which the " +
			"agent increases whenever the value actually changes: the next plan then shows an update, and apply writes " +
			"the configured value again. For the same reason, the first plan after an import shows an update; applying " +
			"it writes the configured value once (when it equals the agent's, nothing changes and the app is not " +
			"restarted).\n\n" + precedenceNote + "\n\n" + restartNote,
		Attributes: map[string]schema.Attribute{
			"project_id": projectIDAttribute("secret"),
			"key":        envKeyAttribute("secret"),
			"value": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "Value of the secret, stored in Terraform's state (sensitive: hidden from the CLI " +
					"output only). Prefer `value_wo`, which is never stored, with Terraform 1.11 or later. Exactly one of " +
					"`value` and `value_wo` must be set. Changes in place.",
				Validators: []validator.String{
					stringvalidator.PreferWriteOnlyAttribute(path.MatchRoot("value_wo")),
				},
			},
			"value_wo": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				WriteOnly: true,
				MarkdownDescription: "Value of the secret, write-only: sent to the agent when apply creates or updates the " +
					"secret, never stored in Terraform's plan or state (Terraform 1.11 or later). Requires " +
					"`value_wo_version`; change that to make a new value take effect. Exactly one of `value` and " +
					"`value_wo` must be set.",
			},
			"value_wo_version": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Version of `value_wo`, chosen by you. Terraform cannot see a write-only value change, " +
					"so change this number (for example increment it) whenever `value_wo` changes; apply then writes " +
					"the new value. Required with `value_wo`.",
			},
			"file": schema.BoolAttribute{
				Optional: true,
				Computed: true,
				Default:  booldefault.StaticBool(false),
				MarkdownDescription: "Give the value to the app as a file instead of an environment variable: " +
					"`/run/secrets/<key>` (read-only, mode 0400, owned by the user the app runs as), with " +
					"`<KEY>_FILE` holding that path. For certificates, service-account JSON and anything larger than " +
					"an environment variable holds (128 KiB, which plan refuses otherwise). The value is then in no " +
					"environment variable (nor in `AIRFLOW_VAR_<KEY>`); Streamlit apps still find it in " +
					"`st.secrets[\"KEY\"]`. Point a library at it with a variable, for example " +
					"`GOOGLE_APPLICATION_CREDENTIALS = \"/run/secrets/GCP_SA\"`. Defaults to `false`; changes in place.",
			},
			"version": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "Version of the value held by the agent; it increases each time the value actually " +
					"changes (writing the same value again keeps it). When it differs from the version Terraform's own " +
					"last write produced, the secret was changed outside Terraform and the plan shows an update.",
			},
			"id": childIDAttribute("key"),
		},
	}
}

// ConfigValidators: exactly one of value and value_wo; value_wo and
// value_wo_version together.
func (r *secretResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("value"), path.MatchRoot("value_wo")),
		resourcevalidator.RequiredTogether(path.MatchRoot("value_wo"), path.MatchRoot("value_wo_version")),
	}
}

// ValidateConfig refuses at plan time a value no environment variable can
// hold (too large, or with a NUL byte), unless the secret is a file, and a
// file secret over its limit. The message never holds the value.
func (r *secretResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg secretResourceModel
	if resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...); resp.Diagnostics.HasError() {
		return
	}
	if cfg.Key.IsNull() || cfg.Key.IsUnknown() || cfg.File.IsUnknown() {
		return
	}
	file := cfg.File.ValueBool()
	summary := "Secret Value Cannot Be an Environment Variable"
	if file {
		if err := api.ValidateSecretFile(cfg.Key.ValueString(), ""); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("key"), "Invalid File Secret", err.Error()+".")
			return
		}
		summary = "Secret Too Large for a File"
	}
	for attr, v := range map[string]types.String{"value": cfg.Value, "value_wo": cfg.ValueWO} {
		if v.IsNull() || v.IsUnknown() {
			continue
		}
		if err := api.ValidateSecretValue(cfg.Key.ValueString(), v.ValueString(), file); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root(attr), summary, err.Error()+".")
		}
	}
}

func (r *secretResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	d, err := providerDataFrom(req.ProviderData)
	if err != nil {
		resp.Diagnostics.AddError("Unexpected Resource Configure Type", err.Error())
		return
	}
	if d != nil {
		r.data = d
	}
}

// ModifyPlan plans an update when the secret was changed outside Terraform
// (its version is not the one the provider last wrote).
func (r *secretResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	drifted, current, written := planVersionDrift(ctx, req, resp, "version")
	if !drifted {
		return
	}
	var state secretResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.AddAttributeWarning(path.Root("version"), "Secret Changed Outside Terraform",
		fmt.Sprintf("Secret %q of project %q is at version %d on the agent, but Terraform last wrote version %d: it "+
			"was changed outside Terraform. Apply writes the configured value again.",
			state.Key.ValueString(), state.ProjectID.ValueString(), current, written))
}

// secretValue is the value to send: value_wo from the configuration (write-only
// values exist nowhere else), or value.
func secretValue(ctx context.Context, config tfsdk.Config) (string, bool, error) {
	var cfg secretResourceModel
	if ds := config.Get(ctx, &cfg); ds.HasError() {
		return "", false, fmt.Errorf("reading the configuration: %v", ds)
	}
	switch {
	case !cfg.ValueWO.IsNull() && !cfg.ValueWO.IsUnknown():
		return cfg.ValueWO.ValueString(), true, nil
	case !cfg.Value.IsNull() && !cfg.Value.IsUnknown():
		return cfg.Value.ValueString(), true, nil
	}
	return "", false, nil
}

func (r *secretResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan secretResourceModel
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

	_, err := client.GetSecret(ctx, slug, key)
	if resp.Diagnostics.Append(secretKind.checkAbsent(err, slug, key)...); resp.Diagnostics.HasError() {
		return
	}
	s, ok := r.write(ctx, client, req.Config, slug, key, plan.File.ValueBool(), "Create", resp.Private, &resp.Diagnostics)
	if !ok {
		return
	}
	tflog.Debug(ctx, "created secret", map[string]any{"version": s.Version})
	setSecretComputed(&plan, slug, key, s)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *secretResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state, ds := secretFromState(req.State)
	if resp.Diagnostics.Append(ds...); resp.Diagnostics.HasError() {
		return
	}
	if r.data == nil || r.data.client == nil {
		tflog.Debug(ctx, "provider not configured with known values; secret not refreshed")
		return
	}
	slug, key := state.ProjectID.ValueString(), state.Key.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	ctx = tflog.SetField(ctx, "key", key)
	s, err := r.data.children.secret(ctx, r.data.client, slug, key)
	if api.IsNotFound(err) {
		tflog.Info(ctx, "secret (or its project) no longer exists on the agent; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(diags.AgentError("Unable to Read Secret", fmt.Sprintf("reading secret %q of project %q", key, slug), err))
		return
	}
	// The value cannot be read; value and value_wo_version keep what was
	// applied (null after an import).
	before := state
	setSecretComputed(&state, slug, key, s)
	if state != before { // unchanged: the state sent stands (see variableResource.Read)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
}

func (r *secretResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan secretResourceModel
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
	s, ok := r.write(ctx, client, req.Config, slug, key, plan.File.ValueBool(), "Update", resp.Private, &resp.Diagnostics)
	if !ok {
		return
	}
	tflog.Debug(ctx, "updated secret", map[string]any{"version": s.Version})
	setSecretComputed(&plan, slug, key, s)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// write sends the configured value and records the version it produced.
// Neither the value nor anything derived from it goes into logs or
// diagnostics.
func (r *secretResource) write(ctx context.Context, client *api.Client, config tfsdk.Config, slug, key string, file bool, op string,
	private privateSetter, ds *diag.Diagnostics) (*api.Secret, bool) {
	summary := "Unable to " + op + " Secret"
	value, ok, err := secretValue(ctx, config)
	switch {
	case err != nil:
		ds.AddError(summary, fmt.Sprintf("Secret %q of project %q: %s.", key, slug, err))
		return nil, false
	case !ok:
		ds.AddAttributeError(path.Root("value_wo"), summary,
			fmt.Sprintf("Secret %q of project %q has no value: set value_wo (with value_wo_version) or value.", key, slug))
		return nil, false
	}
	defer r.data.children.forget(slug) // after the write: later reads see it
	s, err := client.SetSecret(ctx, slug, key, api.SetSecretRequest{Value: value, File: file})
	if err != nil {
		if api.IsNotFound(err) {
			ds.Append(secretKind.projectMissing(slug, err))
			return nil, false
		}
		ds.Append(diags.AgentError(summary, fmt.Sprintf("setting secret %q of project %q", key, slug), err))
		return nil, false
	}
	ds.Append(setWrittenVersion(ctx, private, s.Version)...)
	return s, true
}

func (r *secretResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	secretKind.deleteChild(ctx, r.data, req, resp, (*api.Client).DeleteSecret)
}

// ImportState imports a secret by `<project-slug>/<key>`; its value cannot be
// imported.
func (r *secretResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	secretKind.importChild(ctx, req, resp)
}

// secretFromState reads a prior state the way State.Get would, without its
// reflection (see rawState).
func secretFromState(st tfsdk.State) (secretResourceModel, diag.Diagnostics) {
	raw := readRawState(st.Raw)
	m := secretResourceModel{
		ID: raw.String("id"), ProjectID: raw.String("project_id"), Key: raw.String("key"),
		Value: raw.String("value"), ValueWO: raw.String("value_wo"),
		ValueWOVersion: raw.Int64("value_wo_version"), File: raw.Bool("file"), Version: raw.Int64("version"),
	}
	return m, raw.Diagnostics()
}

func setSecretComputed(m *secretResourceModel, slug, key string, s *api.Secret) {
	if s.ProjectID != "" {
		slug = s.ProjectID
	}
	if s.Key != "" {
		key = s.Key
	}
	m.ID = types.StringValue(childID(slug, key))
	m.ProjectID = types.StringValue(slug)
	m.Key = types.StringValue(key)
	m.Version = types.Int64Value(s.Version)
	m.File = types.BoolValue(s.File)
	m.ValueWO = types.StringNull() // write-only: never in state
}
