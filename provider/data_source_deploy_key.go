package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/provider/internal/diags"
	"github.com/runtimeops/terraform-provider-runtime/provider/internal/validators"
)

var (
	_ datasource.DataSource              = (*deployKeyDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*deployKeyDataSource)(nil)
)

// NewDeployKeyDataSource returns the runtime_deploy_key data source.
func NewDeployKeyDataSource() datasource.DataSource {
	return &deployKeyDataSource{}
}

type deployKeyDataSource struct {
	data *providerData
}

type deployKeyDataSourceModel struct {
	ID                types.String `tfsdk:"id"`
	ProjectID         types.String `tfsdk:"project_id"`
	PublicKey         types.String `tfsdk:"public_key"`
	FingerprintSHA256 types.String `tfsdk:"fingerprint_sha256"`
}

func (d *deployKeyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_deploy_key"
}

func (d *deployKeyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The public half of a project's SSH deploy key, to register with the git host (for example " +
			"as a read-only deploy key of the repository) before the project's first deployment. The private half " +
			"never leaves the agent. The key stays the same for the life of the project; replacing the project " +
			"generates a new one.",
		Attributes: map[string]schema.Attribute{
			"project_id": schema.StringAttribute{
				Required:            true,
				MarkdownDescription: "`id` (slug) of the project.",
				Validators:          []validator.String{validators.Rule("a project slug", api.ValidateSlug)},
			},
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The project's slug.",
			},
			"public_key": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The public key as one `authorized_keys` line (`ssh-ed25519 AAAA... comment`).",
			},
			"fingerprint_sha256": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "SHA-256 fingerprint of the key as `ssh-keygen -l` and git hosts show it " +
					"(`SHA256:...`); errors about a refused key name it.",
			},
		},
	}
}

func (d *deployKeyDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	pd, err := providerDataFrom(req.ProviderData)
	if err != nil {
		resp.Diagnostics.AddError("Unexpected Data Source Configure Type", err.Error())
		return
	}
	if pd != nil {
		d.data = pd
	}
}

func (d *deployKeyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg deployKeyDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := d.data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	slug := cfg.ProjectID.ValueString()
	ctx = tflog.SetField(ctx, "project", slug)
	k, err := client.GetDeployKey(ctx, slug)
	if api.IsNotFound(err) {
		resp.Diagnostics.AddAttributeError(path.Root("project_id"), "Project Not Found",
			fmt.Sprintf("The agent has no project %q: check project_id, or create the project first (runtime_project).", slug))
		return
	}
	if err != nil {
		resp.Diagnostics.Append(diags.AgentError("Unable to Read Deploy Key", fmt.Sprintf("reading the deploy key of project %q", slug), err))
		return
	}
	cfg.ID = types.StringValue(slug)
	cfg.PublicKey = types.StringValue(k.PublicKey)
	cfg.FingerprintSHA256 = types.StringValue(k.FingerprintSHA256)
	resp.Diagnostics.Append(resp.State.Set(ctx, &cfg)...)
}
