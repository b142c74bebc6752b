// Package provider is the Terraform glue of terraform-provider-runtime: the
// provider, its resources and data sources. Everything it knows about the
// agent comes from agent/api, the same package the agent uses, so both sides
// apply the same input rules.
package provider

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/provider/internal/diags"
	"github.com/runtimeops/terraform-provider-runtime/provider/internal/validators"
)

// Environment variables read when the matching argument is not set.
const (
	envEndpoint = "RUNTIME_ENDPOINT"
	envToken    = "RUNTIME_TOKEN"
)

const (
	defaultRequestTimeout = 30 * time.Second
	defaultRetries        = 4
	// clientSubsystem is the tflog subsystem of the agent client's request log.
	clientSubsystem = "agent_client"
)

var _ provider.Provider = (*runtimeProvider)(nil)

// New returns the provider factory; version is the provider's release version
// (set by main through -ldflags), sent to the agent in the User-Agent.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &runtimeProvider{version: version}
	}
}

type runtimeProvider struct {
	version string
}

type runtimeProviderModel struct {
	Endpoint       types.String `tfsdk:"endpoint"`
	Token          types.String `tfsdk:"token"`
	CACertPEM      types.String `tfsdk:"ca_cert_pem"`
	RequestTimeout types.String `tfsdk:"request_timeout"`
	Retries        types.Int64  `tfsdk:"retries"`
}

// providerData is what Configure hands to resources and data sources. client is
// nil when part of the configuration was unknown (for example an endpoint that
// comes from a resource not created yet); unknown names those arguments.
type providerData struct {
	client   *api.Client
	unknown  []string
	children childCache
}

func (p *runtimeProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "runtime"
	resp.Version = p.version
}

func (p *runtimeProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The `runtime` provider manages data apps (Streamlit, Dash, Airflow, Open WebUI and other web apps) " +
			"on hosts run by `runtime-agent`. It talks to one agent over HTTP(S) with a bearer token; use one provider " +
			"alias per host.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Address of the agent's API, such as `https://apps-host:7788`. " +
					"Falls back to the `" + envEndpoint + "` environment variable; one of the two is required.",
			},
			"token": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "Bearer token the agent was started with (its `RUNTIME_AGENT_TOKEN`). " +
					"Falls back to the `" + envToken + "` environment variable; one of the two is required. " +
					"Prefer the environment variable, or a variable marked `sensitive`, over a literal.",
			},
			"ca_cert_pem": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "PEM-encoded CA certificate(s) to trust, in addition to the system's, for the agent's " +
					"TLS certificate (for example a private CA or a self-signed agent certificate).",
			},
			"request_timeout": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Timeout of each HTTP request to the agent, as a duration such as `30s` or `2m`. " +
					"Defaults to `30s`. Waiting for a deployment is bounded by the resource's `timeouts` instead.",
				Validators: []validator.String{validators.Duration()},
			},
			"retries": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: "How many times a request is retried after a connection error or an HTTP 429/5xx answer, " +
					"with backoff. Defaults to `4`; `0` disables retries.",
				Validators: []validator.Int64{int64validator.Between(0, 20)},
			},
		},
	}
}

func (p *runtimeProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg runtimeProviderModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	// Arguments can be unknown during plan, for example an endpoint taken from
	// a resource that does not exist yet. Keep the client nil: plan-time
	// checks that need the agent are skipped, and operations that cannot do
	// without it say why.
	var unknown []string
	for _, a := range []struct {
		name string
		v    attr.Value
	}{
		{"endpoint", cfg.Endpoint}, {"token", cfg.Token}, {"ca_cert_pem", cfg.CACertPEM},
		{"request_timeout", cfg.RequestTimeout}, {"retries", cfg.Retries},
	} {
		if a.v.IsUnknown() {
			unknown = append(unknown, a.name)
		}
	}
	if len(unknown) > 0 {
		tflog.Debug(ctx, "provider configuration is not known yet; the agent client is not built in this step",
			map[string]any{"unknown": unknown})
		data := &providerData{unknown: unknown}
		resp.ResourceData = data
		resp.DataSourceData = data
		return
	}

	endpoint := stringOrEnv(cfg.Endpoint, envEndpoint)
	token := stringOrEnv(cfg.Token, envToken)
	if endpoint == "" {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Missing Runtime Agent Endpoint",
			"The provider needs the address of runtime-agent's API, such as https://apps-host:7788. "+
				"Set endpoint in the provider block or the "+envEndpoint+" environment variable.")
	}
	if token == "" {
		resp.Diagnostics.AddAttributeError(path.Root("token"), "Missing Runtime Agent Token",
			"The provider needs the bearer token runtime-agent was started with (RUNTIME_AGENT_TOKEN on the agent). "+
				"Set token in the provider block or the "+envToken+" environment variable.")
	}

	timeout := defaultRequestTimeout
	if s := cfg.RequestTimeout.ValueString(); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			resp.Diagnostics.AddAttributeError(path.Root("request_timeout"), "Invalid Request Timeout",
				fmt.Sprintf("request_timeout %q is not a positive duration: use a number with a unit, such as \"30s\".", s))
		}
		timeout = d
	}

	retries := int64(defaultRetries)
	if !cfg.Retries.IsNull() {
		retries = cfg.Retries.ValueInt64()
	}
	retryMax := int(retries)
	if retryMax == 0 {
		// api.ClientConfig reads 0 as "use the default"; retryablehttp makes
		// no retry for any value below one.
		retryMax = -1
	}

	caPEM := cfg.CACertPEM.ValueString()
	if caPEM != "" && !x509.NewCertPool().AppendCertsFromPEM([]byte(caPEM)) {
		resp.Diagnostics.AddAttributeError(path.Root("ca_cert_pem"), "Invalid CA Certificate",
			"ca_cert_pem holds no PEM-encoded certificate: give the CA certificate that signed the agent's TLS certificate, "+
				"starting with \"-----BEGIN CERTIFICATE-----\".")
	}
	if resp.Diagnostics.HasError() {
		return
	}

	logCtx := tflog.NewSubsystem(ctx, clientSubsystem)
	logCtx = tflog.SubsystemMaskAllFieldValuesStrings(logCtx, clientSubsystem, token)
	logCtx = tflog.SubsystemMaskMessageStrings(logCtx, clientSubsystem, token)

	client, err := api.NewClient(api.ClientConfig{
		Endpoint:  endpoint,
		Token:     token,
		CACertPEM: caPEM,
		Timeout:   timeout,
		RetryMax:  retryMax,
		UserAgent: fmt.Sprintf("terraform-provider-runtime/%s (+https://registry.terraform.io/providers/runtimeops/runtime; Terraform %s)", p.version, req.TerraformVersion),
		Logger:    leveledLogger{ctx: logCtx},
	})
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Invalid Runtime Agent Endpoint",
			fmt.Sprintf("%s.", err))
		return
	}
	tflog.Debug(ctx, "configured runtime-agent client", map[string]any{
		"endpoint": endpoint, "request_timeout": timeout.String(), "retries": retries,
	})

	data := &providerData{client: client}
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *runtimeProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewProjectResource,
		NewDeploymentResource,
		NewVariableResource,
		NewSecretResource,
		NewConnectionResource,
	}
}

func (p *runtimeProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewDeployKeyDataSource,
	}
}

func stringOrEnv(v types.String, env string) string {
	if !v.IsNull() && v.ValueString() != "" {
		return v.ValueString()
	}
	return os.Getenv(env)
}

// providerDataFrom type-checks what the provider handed to a resource or data
// source in Configure. A nil input (before the provider is configured) yields
// nil without error.
func providerDataFrom(in any) (*providerData, error) {
	if in == nil {
		return nil, nil
	}
	d, ok := in.(*providerData)
	if !ok {
		return nil, fmt.Errorf("expected *providerData, got %T; please report this issue to the provider developers", in)
	}
	return d, nil
}

// leveledLogger sends the agent client's request log (retryablehttp) to tflog
// under the agent_client subsystem. retryablehttp logs the method and the URL,
// never bodies; the token is masked in case it ever shows up.
type leveledLogger struct {
	ctx context.Context
}

func (l leveledLogger) Error(msg string, kv ...any) {
	// retryablehttp reports each failed attempt as an error although it
	// retries; the final outcome is a diagnostic, so a warning is enough here.
	tflog.SubsystemWarn(l.ctx, clientSubsystem, msg, fields(kv))
}
func (l leveledLogger) Warn(msg string, kv ...any) {
	tflog.SubsystemWarn(l.ctx, clientSubsystem, msg, fields(kv))
}
func (l leveledLogger) Info(msg string, kv ...any) {
	tflog.SubsystemInfo(l.ctx, clientSubsystem, msg, fields(kv))
}
func (l leveledLogger) Debug(msg string, kv ...any) {
	tflog.SubsystemDebug(l.ctx, clientSubsystem, msg, fields(kv))
}

func fields(kv []any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k := fmt.Sprint(kv[i])
		switch v := kv[i+1].(type) {
		case error:
			m[k] = v.Error()
		case fmt.Stringer:
			m[k] = v.String()
		default:
			m[k] = v
		}
	}
	return m
}

// agent returns the client, or a diagnostic saying why there is none.
func (d *providerData) agent() (*api.Client, diag.Diagnostics) {
	var ds diag.Diagnostics
	switch {
	case d == nil:
		ds.AddError("Runtime Provider Not Configured",
			"The provider was not configured before this operation. Please report this issue to the provider developers.")
	case d.client == nil:
		ds.Append(diags.NotConfigured(d.unknown))
	}
	if ds.HasError() {
		return nil, ds
	}
	return d.client, nil
}
