package provider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// testAccProtoV6ProviderFactories serves the provider in-process to the
// terraform binary the tests run (TF_ACC_TERRAFORM_PATH, else PATH).
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"runtime": providerserver.NewProtocol6WithError(New("test")()),
}

// testProviderConfigUnknownEndpoint configures the provider with an endpoint
// that is known only after apply, as when it comes from another resource. No
// agent is contacted during plan, so plan-only unit tests can use it.
const testProviderConfigUnknownEndpoint = `
resource "terraform_data" "endpoint" {
  input = "http://127.0.0.1:1"
}

provider "runtime" {
  endpoint = terraform_data.endpoint.output
  token    = "unit-test"
}
`

// clearProviderEnv makes the tests independent of the caller's environment.
func clearProviderEnv(t *testing.T) {
	t.Setenv(envEndpoint, "")
	t.Setenv(envToken, "")
}

// fakeAgent answers the few agent routes the unit tests need (environments and
// one deploy key); everything else is a JSON 404, as the agent would answer.
func fakeAgent(t *testing.T, token string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /v1/environments", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, api.Environments{Environments: map[string]string{
			"python-3.12": "python:3.12-slim", "python-3.11": "python:3.11-slim",
		}})
	})
	mux.HandleFunc("GET /v1/projects/sales/deploy-key", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, api.DeployKey{
			ProjectID:         "sales",
			PublicKey:         "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake runtime-sales",
			FingerprintSHA256: "SHA256:fakefakefakefakefakefakefakefakefakefakefak",
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, api.ErrorBody{Error: &api.Error{Code: api.CodeNotFound, Message: r.URL.Path + " not found"}})
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			writeJSON(w, http.StatusUnauthorized, api.ErrorBody{Error: &api.Error{Code: api.CodeUnauthorized, Message: "wrong token"}})
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProvider_missingEndpoint(t *testing.T) {
	clearProviderEnv(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "runtime" {
  token = "t"
}

data "runtime_deploy_key" "k" {
  project_id = "sales"
}
`,
			ExpectError: regexp.MustCompile(`Missing Runtime Agent Endpoint[\s\S]*endpoint[\s\S]*RUNTIME_ENDPOINT`),
		}},
	})
}

func TestProvider_missingToken(t *testing.T) {
	clearProviderEnv(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "runtime" {
  endpoint = "http://127.0.0.1:1"
}

data "runtime_deploy_key" "k" {
  project_id = "sales"
}
`,
			ExpectError: regexp.MustCompile(`Missing Runtime Agent Token[\s\S]*token[\s\S]*RUNTIME_TOKEN`),
		}},
	})
}

func TestProvider_invalidArguments(t *testing.T) {
	clearProviderEnv(t)
	cfg := func(args string) string {
		return fmt.Sprintf(`
provider "runtime" {
  endpoint = "http://127.0.0.1:1"
  token    = "t"
%s
}

data "runtime_deploy_key" "k" {
  project_id = "sales"
}
`, args)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      cfg(`  request_timeout = "soon"`),
				ExpectError: errorLike(`request_timeout = "soon"`, `request_timeout "soon" is not a positive duration`),
			},
			{
				Config:      cfg(`  retries = -1`),
				ExpectError: errorLike(`retries = -1`, `between 0 and 20`),
			},
			{
				Config:      cfg(`  ca_cert_pem = "not a certificate"`),
				ExpectError: errorLike(`ca_cert_pem holds no PEM-encoded certificate`),
			},
			{
				Config: `
provider "runtime" {
  endpoint = "apps-host:7788"
  token    = "t"
}

data "runtime_deploy_key" "k" {
  project_id = "sales"
}
`,
				ExpectError: errorLike(`Invalid Runtime Agent Endpoint`, `endpoint "apps-host:7788" is not an http(s) URL`),
			},
		},
	})
}

// The endpoint and token fall back to RUNTIME_ENDPOINT and RUNTIME_TOKEN, and
// the token reaches the agent as a bearer token.
func TestProvider_environmentFallback(t *testing.T) {
	srv := fakeAgent(t, "s3cret")
	t.Setenv(envEndpoint, srv.URL)
	t.Setenv(envToken, "s3cret")
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
data "runtime_deploy_key" "k" {
  project_id = "sales"
}
`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.runtime_deploy_key.k", tfjsonpath.New("id"), knownvalue.StringExact("sales")),
				statecheck.ExpectKnownValue("data.runtime_deploy_key.k", tfjsonpath.New("public_key"), knownvalue.StringRegexp(regexp.MustCompile(`^ssh-ed25519 `))),
				statecheck.ExpectKnownValue("data.runtime_deploy_key.k", tfjsonpath.New("fingerprint_sha256"), knownvalue.StringRegexp(regexp.MustCompile(`^SHA256:`))),
			},
		}},
	})
}

func TestProvider_wrongTokenAndMissingProject(t *testing.T) {
	clearProviderEnv(t)
	srv := fakeAgent(t, "s3cret")
	cfg := func(token, project string) string {
		return fmt.Sprintf(`
provider "runtime" {
  endpoint = %[1]q
  token    = %[2]q
  retries  = 0
}

data "runtime_deploy_key" "k" {
  project_id = %[3]q
}
`, srv.URL, token, project)
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      cfg("wrong", "sales"),
				ExpectError: regexp.MustCompile(`Unable to Read Deploy Key[\s\S]*unauthorized[\s\S]*RUNTIME_TOKEN`),
			},
			{
				Config:      cfg("s3cret", "nope"),
				ExpectError: errorLike(`Project Not Found`, `The agent has no project "nope"`),
			},
		},
	})
}

// With an endpoint known only after apply, plan still works: no client, no
// agent call, and everything that can be known is known.
func TestProvider_unknownEndpointPlans(t *testing.T) {
	clearProviderEnv(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: testProviderConfigUnknownEndpoint + `
resource "runtime_project" "p" {
  name        = "Sales Dashboard (EU)"
  app_type    = "streamlit"
  environment = "python-3.12"
  git_url     = "git@github.com:acme/sales.git"
  path        = "/src/app.py"
}

resource "runtime_deployment" "d" {
  project_id = runtime_project.p.id
}
`,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPreRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("runtime_project.p", plancheck.ResourceActionCreate),
					plancheck.ExpectKnownValue("runtime_project.p", tfjsonpath.New("slug"), knownvalue.StringExact("sales-dashboard-eu")),
					plancheck.ExpectKnownValue("runtime_project.p", tfjsonpath.New("branch"), knownvalue.StringExact("main")),
					plancheck.ExpectUnknownValue("runtime_project.p", tfjsonpath.New("id")),
					plancheck.ExpectUnknownValue("runtime_project.p", tfjsonpath.New("deploy_public_key")),
					plancheck.ExpectKnownValue("runtime_deployment.d", tfjsonpath.New("state"), knownvalue.StringExact("running")),
					plancheck.ExpectKnownValue("runtime_deployment.d", tfjsonpath.New("status"), knownvalue.StringExact("deployed")),
					plancheck.ExpectKnownValue("runtime_deployment.d", tfjsonpath.New("last_error"), knownvalue.StringExact("")),
					plancheck.ExpectUnknownValue("runtime_deployment.d", tfjsonpath.New("deployed_commit")),
				},
			},
		}},
	})
}

// A data source read at plan time with an unknown endpoint fails with a
// message naming the unknown argument instead of crashing.
func TestProvider_unknownEndpointDataSource(t *testing.T) {
	clearProviderEnv(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: testProviderConfigUnknownEndpoint + `
data "runtime_deploy_key" "k" {
  project_id = "sales"
}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`Runtime Provider Not Configured[\s\S]*"endpoint"`),
		}},
	})
}

func TestFields(t *testing.T) {
	got := fields([]any{"method", "GET", "error", fmt.Errorf("boom"), "dangling"})
	if got["method"] != "GET" || got["error"] != "boom" || len(got) != 2 {
		t.Fatalf("fields = %v", got)
	}
}

// errorLike matches a diagnostic whose text Terraform may have wrapped over
// several lines: each part is literal text (any run of spaces matches any run
// of whitespace), and parts may be separated by anything.
func errorLike(parts ...string) *regexp.Regexp {
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = strings.Join(strings.Fields(regexp.QuoteMeta(p)), `\s+`)
	}
	return regexp.MustCompile(strings.Join(quoted, `[\s\S]*`))
}
