package provider

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
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
	_ resource.Resource                   = (*connectionResource)(nil)
	_ resource.ResourceWithConfigure      = (*connectionResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*connectionResource)(nil)
	_ resource.ResourceWithImportState    = (*connectionResource)(nil)
	_ resource.ResourceWithValidateConfig = (*connectionResource)(nil)

	_ resource.ResourceWithConfigValidators = (*connectionResource)(nil)
)

// NewConnectionResource returns the runtime_connection resource.
func NewConnectionResource() resource.Resource {
	return &connectionResource{}
}

type connectionResource struct {
	data *providerData
}

type connectionResourceModel struct {
	ID                types.String `tfsdk:"id"`
	ProjectID         types.String `tfsdk:"project_id"`
	Name              types.String `tfsdk:"name"`
	Type              types.String `tfsdk:"type"`
	Host              types.String `tfsdk:"host"`
	Port              types.Int64  `tfsdk:"port"`
	Login             types.String `tfsdk:"login"`
	Password          types.String `tfsdk:"password"`
	PasswordWO        types.String `tfsdk:"password_wo"`
	PasswordWOVersion types.Int64  `tfsdk:"password_wo_version"`
	Schema            types.String `tfsdk:"schema"`
	Extra             types.Map    `tfsdk:"extra"`
	PasswordVersion   types.Int64  `tfsdk:"password_version"`
}

func (r *connectionResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_connection"
}

func (r *connectionResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A typed connection of a project to a database or another system. The app gets it in the " +
			"forms its framework reads, with `<NAME>` the upper-cased `name`:\n\n" +
			"- every app type: `<NAME>_URL`, the whole connection as one URL " +
			"(`scheme://login:password@host:port/schema?extra`, with every reserved character of each part " +
			"percent-encoded, so passwords with `@`, `:`, `/`, `%`, `#` or spaces decode back exactly), and " +
			"`<NAME>_HOST`, `<NAME>_PORT`, `<NAME>_LOGIN`, `<NAME>_PASSWORD`, `<NAME>_SCHEMA` with the raw parts, byte for byte " +
			"(parts that are not set are left out);\n" +
			"- Streamlit: a `[connections.<name>]` table (`url`, `dialect`, `host`, `port`, `database`, `username`, " +
			"`password`, and `query` from `extra`) in the generated `~/.streamlit/secrets.toml`, so " +
			"`st.connection(\"<name>\")` works without code changes (a `.streamlit/secrets.toml` in the repository is " +
			"not overwritten);\n" +
			"- Airflow: `AIRFLOW_CONN_<NAME>` in Airflow's JSON form (connections defined this way do not appear in " +
			"Airflow's UI or `airflow connections list`).\n\n" +
			"The password is kept encrypted at rest by the agent and never returned, logged or printed. Set it with " +
			"`password_wo` (write-only, preferred) or `password`, or leave both unset for a connection without one. " +
			writeOnlyNote + " A password changed outside Terraform is detected by `password_version` and put back " +
			"by the next apply; for the same reason the first plan after importing a connection with a password " +
			"shows an update.\n\n" + precedenceNote + "\n\n" + restartNote,
		Attributes: map[string]schema.Attribute{
			"project_id": projectIDAttribute("connection"),
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name of the connection, such as `warehouse`: letters, digits and underscores, not " +
					"starting with a digit. It is the name for `st.connection(\"<name>\")` and Airflow's connection id, " +
					"and, upper-cased, the prefix of the environment variables (`WAREHOUSE_URL`, ...); names whose " +
					"variables the agent reserves are refused at plan time. Changing it replaces the connection.",
				Validators:    []validator.String{validators.Rule("a connection name usable in environment variable names", validateConnectionName)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"type": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Kind of system: " + quotedList(api.ConnectionTypes) + ". It decides the URL scheme " +
					"(`postgresql://`, `mysql://`, ...), Streamlit's SQLAlchemy `dialect` and Airflow's `conn_type`. For " +
					"`http`, a `schema` of `http` or `https` is the URL's scheme (Airflow's convention). Changes in place.",
				Validators: []validator.String{stringvalidator.OneOf(api.ConnectionTypes...)},
			},
			"host": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Host name or address, without scheme, user or path (for `http`, a base address " +
					"may be given). Reaches the app as `<NAME>_HOST`. Changes in place.",
			},
			"port": schema.Int64Attribute{
				Optional:            true,
				MarkdownDescription: "Port, 1-65535. Reaches the app as `<NAME>_PORT`. Changes in place.",
				Validators:          []validator.Int64{int64validator.Between(1, 65535)},
			},
			"login": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "User name. Reaches the app as `<NAME>_LOGIN` (Streamlit: `username`). Changes in place.",
			},
			"password": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "Password, stored in Terraform's state (sensitive: hidden from the CLI output only). " +
					"Prefer `password_wo`, which is never stored, with Terraform 1.11 or later. Conflicts with " +
					"`password_wo`. Reaches the app as `<NAME>_PASSWORD` and inside `<NAME>_URL`. Changes in place.",
				Validators: []validator.String{
					stringvalidator.PreferWriteOnlyAttribute(path.MatchRoot("password_wo")),
				},
			},
			"password_wo": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				WriteOnly: true,
				MarkdownDescription: "Password, write-only: sent to the agent (with the rest of the connection) when apply " +
					"creates or updates the connection, never stored in Terraform's plan or state (Terraform 1.11 or " +
					"later). Requires `password_wo_version`; change that to make a new password take effect. Conflicts " +
					"with `password`. Reaches the app as `<NAME>_PASSWORD` and inside `<NAME>_URL`.",
			},
			"password_wo_version": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "Version of `password_wo`, chosen by you. Terraform cannot see a write-only value " +
					"change, so change this number (for example increment it) whenever `password_wo` changes; apply then " +
					"writes the new password. Required with `password_wo`.",
			},
			"schema": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Database (or schema) to use. Reaches the app as `<NAME>_SCHEMA`, as the path of " +
					"`<NAME>_URL` and as Streamlit's `database`. Changes in place.",
			},
			"extra": schema.MapAttribute{
				Optional:    true,
				ElementType: types.StringType,
				MarkdownDescription: "Further parameters as a map of strings, such as `{ sslmode = \"require\" }`. " +
					"They become the query string of `<NAME>_URL` (sorted by key), Streamlit's `query` table and " +
					"Airflow's `extra`. Changes in place.",
				Validators: []validator.Map{mapvalidator.KeysAre(stringvalidator.LengthAtLeast(1))},
			},
			"password_version": schema.Int64Attribute{
				Computed: true,
				MarkdownDescription: "Version of the password held by the agent (0 when none was ever set); it increases " +
					"each time the password actually changes, clearing included. When it differs from the version " +
					"Terraform's own last write produced, the password was changed outside Terraform and the plan shows " +
					"an update.",
			},
			"id": childIDAttribute("name"),
		},
	}
}

func (r *connectionResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	d, err := providerDataFrom(req.ProviderData)
	if err != nil {
		resp.Diagnostics.AddError("Unexpected Resource Configure Type", err.Error())
		return
	}
	if d != nil {
		r.data = d
	}
}

// ConfigValidators: at most one of password and password_wo; password_wo
// and password_wo_version together.
func (r *connectionResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.Conflicting(path.MatchRoot("password"), path.MatchRoot("password_wo")),
		resourcevalidator.RequiredTogether(path.MatchRoot("password_wo"), path.MatchRoot("password_wo_version")),
	}
}

// ValidateConfig applies the agent's host rule at plan time (it depends on
// the type, so no attribute validator can), and refuses NUL bytes in every
// part, each of which becomes an environment variable of the app.
func (r *connectionResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	for _, attr := range []string{"host", "login", "password", "password_wo", "schema"} {
		var v types.String
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(attr), &v)...)
		if !v.IsNull() && !v.IsUnknown() && strings.IndexByte(v.ValueString(), 0) >= 0 {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Invalid Attribute Value",
				attr+" contains a NUL byte, which no environment variable can hold: remove it.")
		}
	}
	var extra types.Map
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("extra"), &extra)...)
	for k, v := range extra.Elements() {
		if s, ok := v.(types.String); ok && !s.IsUnknown() && (strings.IndexByte(s.ValueString(), 0) >= 0 || strings.IndexByte(k, 0) >= 0) {
			resp.Diagnostics.AddAttributeError(path.Root("extra").AtMapKey(k), "Invalid Attribute Value",
				"extra contains a NUL byte, which no environment variable can hold: remove it.")
		}
	}
	var typ, host types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("type"), &typ)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("host"), &host)...)
	if resp.Diagnostics.HasError() || typ.IsNull() || typ.IsUnknown() || host.IsNull() || host.IsUnknown() {
		return
	}
	if api.ValidateConnectionType(typ.ValueString()) != nil {
		return // the type's own validator reports it
	}
	in := api.SetConnectionRequest{Type: typ.ValueString(), Host: host.ValueString()}
	if err := in.Validate(); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("host"), "Invalid Attribute Value", fullStop(err.Error()))
	}
}

// ModifyPlan plans an update when the password was changed outside Terraform
// (its version is not the one the provider last wrote).
func (r *connectionResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	drifted, current, written := planVersionDrift(ctx, req, resp, "password_version")
	if !drifted {
		return
	}
	var state connectionResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	resp.Diagnostics.AddAttributeWarning(path.Root("password_version"), "Connection Password Changed Outside Terraform",
		fmt.Sprintf("The password of connection %q of project %q is at version %d on the agent, but Terraform last "+
			"wrote version %d: it was changed outside Terraform. Apply writes the configured password again.",
			state.Name.ValueString(), state.ProjectID.ValueString(), current, written))
}

// connectionRequest builds the request apply sends from the configuration:
// the whole connection, password included (the agent replaces it as a whole
// and keeps the password version when the password is unchanged).
func connectionRequest(ctx context.Context, config tfsdk.Config) (api.SetConnectionRequest, diag.Diagnostics) {
	var cfg connectionResourceModel
	ds := config.Get(ctx, &cfg)
	if ds.HasError() {
		return api.SetConnectionRequest{}, ds
	}
	in := api.SetConnectionRequest{
		Type:   cfg.Type.ValueString(),
		Host:   cfg.Host.ValueString(),
		Port:   cfg.Port.ValueInt64(),
		Login:  cfg.Login.ValueString(),
		Schema: cfg.Schema.ValueString(),
	}
	switch {
	case !cfg.PasswordWO.IsNull():
		in.Password = cfg.PasswordWO.ValueString()
	case !cfg.Password.IsNull():
		in.Password = cfg.Password.ValueString()
	}
	if !cfg.Extra.IsNull() && len(cfg.Extra.Elements()) > 0 {
		in.Extra = map[string]string{}
		ds.Append(cfg.Extra.ElementsAs(ctx, &in.Extra, false)...)
	}
	return in, ds
}

func (r *connectionResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan connectionResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := r.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	slug, name := plan.ProjectID.ValueString(), plan.Name.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	ctx = tflog.SetField(ctx, "connection", name)

	_, err := client.GetConnection(ctx, slug, name)
	if resp.Diagnostics.Append(connKind.checkAbsent(err, slug, name)...); resp.Diagnostics.HasError() {
		return
	}
	c, ok := r.write(ctx, client, req.Config, slug, name, "Create", resp.Private, &resp.Diagnostics)
	if !ok {
		return
	}
	tflog.Debug(ctx, "created connection", map[string]any{"password_version": c.PasswordVersion})
	setConnectionObserved(&plan, slug, name, c)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *connectionResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state connectionResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.data == nil || r.data.client == nil {
		tflog.Debug(ctx, "provider not configured with known values; connection not refreshed")
		return
	}
	slug, name := state.ProjectID.ValueString(), state.Name.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	ctx = tflog.SetField(ctx, "connection", name)
	c, err := r.data.children.connection(ctx, r.data.client, slug, name)
	if api.IsNotFound(err) {
		tflog.Info(ctx, "connection (or its project) no longer exists on the agent; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.Append(diags.AgentError("Unable to Read Connection", fmt.Sprintf("reading connection %q of project %q", name, slug), err))
		return
	}
	before := state
	setConnectionObserved(&state, slug, name, c)
	// Unchanged: the state Terraform sent stands (see variableResource.Read).
	// DeepEqual errs only towards writing.
	if !reflect.DeepEqual(state, before) {
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
}

func (r *connectionResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan connectionResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := r.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	slug, name := plan.ProjectID.ValueString(), plan.Name.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	ctx = tflog.SetField(ctx, "connection", name)
	c, ok := r.write(ctx, client, req.Config, slug, name, "Update", resp.Private, &resp.Diagnostics)
	if !ok {
		return
	}
	tflog.Debug(ctx, "updated connection", map[string]any{"password_version": c.PasswordVersion})
	setConnectionObserved(&plan, slug, name, c)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// write sends the configured connection and records the password version it
// produced. The password goes into no log or diagnostic.
func (r *connectionResource) write(ctx context.Context, client *api.Client, config tfsdk.Config, slug, name, op string,
	private privateSetter, ds *diag.Diagnostics) (*api.Connection, bool) {
	summary := "Unable to " + op + " Connection"
	in, d := connectionRequest(ctx, config)
	if ds.Append(d...); d.HasError() {
		return nil, false
	}
	defer r.data.children.forget(slug) // after the write: later reads see it
	c, err := client.SetConnection(ctx, slug, name, in)
	if err != nil {
		if api.IsNotFound(err) {
			ds.Append(connKind.projectMissing(slug, err))
			return nil, false
		}
		ds.Append(diags.AgentError(summary, fmt.Sprintf("setting connection %q of project %q", name, slug), err))
		return nil, false
	}
	ds.Append(setWrittenVersion(ctx, private, c.PasswordVersion)...)
	return c, true
}

func (r *connectionResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	connKind.deleteChild(ctx, r.data, req, resp, (*api.Client).DeleteConnection)
}

// ImportState imports a connection by `<project-slug>/<name>`; its password
// cannot be imported.
func (r *connectionResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	connKind.importChild(ctx, req, resp)
}

// setConnectionObserved copies what the agent reports into m. The agent
// leaves empty parts out; an attribute the configuration left unset (null)
// or set to its empty form stays that way, so neither makes a diff.
func setConnectionObserved(m *connectionResourceModel, slug, name string, c *api.Connection) {
	if c.ProjectID != "" {
		slug = c.ProjectID
	}
	if c.Name != "" {
		name = c.Name
	}
	m.ID = types.StringValue(childID(slug, name))
	m.ProjectID = types.StringValue(slug)
	m.Name = types.StringValue(name)
	m.Type = types.StringValue(c.Type)
	m.Host = observedString(m.Host, c.Host)
	m.Login = observedString(m.Login, c.Login)
	m.Schema = observedString(m.Schema, c.Schema)
	if c.Port == 0 {
		m.Port = types.Int64Null()
	} else {
		m.Port = types.Int64Value(c.Port)
	}
	m.Extra = observedMap(m.Extra, c.Extra)
	m.PasswordVersion = types.Int64Value(c.PasswordVersion)
	m.PasswordWO = types.StringNull() // write-only: never in state
}

func observedString(prior types.String, got string) types.String {
	if got == "" && (prior.IsNull() || prior.IsUnknown() || prior.ValueString() == "") {
		if prior.IsUnknown() {
			return types.StringNull()
		}
		return prior
	}
	return types.StringValue(got)
}

func observedMap(prior types.Map, got map[string]string) types.Map {
	if len(got) == 0 {
		if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
			return prior
		}
		return types.MapNull(types.StringType)
	}
	elems := make(map[string]attr.Value, len(got))
	for k, v := range got {
		elems[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, elems)
}

// validateConnectionName is api.ValidateConnectionName, whose message names
// the variable a valid-looking but refused name would become.
func validateConnectionName(s string) error { return api.ValidateConnectionName(s) }
