package provider

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
)

// The quickstart stack (what `make demo` applies) works as written: a local
// repository, an agent that allows local repositories, one apply, an empty
// plan after it.
func TestAccExamples_quickstart(t *testing.T) {
	e := newAccEnv(t, func(o *agenttest.Options, _ *agenttest.GitServer) { o.AllowLocalRepos = true })
	// The example pins source = "runtimeops/runtime" in required_providers.
	t.Setenv("TF_ACC_PROVIDER_NAMESPACE", "runtimeops")
	slug := randomSlug("quickstart")
	repo := e.git.NewRepo(t, slug, map[string]string{
		"src/app.py":       streamlitApp("MARKER-QUICKSTART"),
		"requirements.txt": "streamlit\n",
	})
	vars := config.Variables{
		"agent_endpoint": config.StringVariable(e.agent.Endpoint),
		"agent_token":    config.StringVariable(e.agent.Token),
		"git_url":        config.StringVariable(repo.Dir),
		// The demo's "Sales dashboard" would share its container name
		// (runtime-sales-dashboard) with a demo running on the same Docker.
		"name": config.StringVariable("Quickstart " + strings.TrimPrefix(slug, "quickstart-")),
	}
	resource.Test(t, resource.TestCase{
		// With required_providers in the configuration, the provider is given per step.
		Steps: []resource.TestStep{{
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			ConfigDirectory:          config.StaticDirectory("../examples/quickstart"),
			ConfigVariables:          vars,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownOutputValue("url", knownvalue.StringRegexp(regexp.MustCompile(`^http://`+slug+`\.`))),
				statecheck.ExpectKnownOutputValue("deploy_key", knownvalue.StringRegexp(regexp.MustCompile(`^ssh-ed25519 `))),
				statecheck.ExpectKnownOutputValue("deploy_key_fingerprint", knownvalue.StringRegexp(regexp.MustCompile(`^SHA256:`))),
			},
			Check: e.checkAppServes(slug, "MARKER-QUICKSTART"),
		}},
	})
}
