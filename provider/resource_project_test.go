package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// name, environment and path change in place. A running app is stopped,
// updated and started again (the plan warns; see
// TestProjectResource_restartWarning); a stopped one stays stopped. The slug
// does not follow the name.
func TestAccProjectResource_updateInPlace(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("update")
	repo := e.git.NewRepo(t, slug, map[string]string{
		"app.py":     streamlitApp("MARKER-ROOT"),
		"src/app.py": streamlitApp("MARKER-SRC"),
	})
	config := func(name, path, state string) string {
		return e.providerConfig() + fmt.Sprintf(`
resource "runtime_project" "p" {
  name        = %[1]q
  app_type    = "streamlit"
  environment = "python-3.12"
  git_url     = %[2]q
  path        = %[3]q
}
`, name, repo.URL, path) + e.keyRegistrationHCL() +
			deploymentHCL(`  depends_on = [terraform_data.git_host_key]`, fmt.Sprintf("  state = %q", state))
	}
	inPlace := []plancheck.PlanCheck{
		plancheck.ExpectResourceAction(projectAddr, plancheck.ResourceActionUpdate),
		plancheck.ExpectKnownValue(projectAddr, tfjsonpath.New("slug"), knownvalue.StringExact(slug)),
		plancheck.ExpectKnownValue(projectAddr, tfjsonpath.New("id"), knownvalue.StringExact(slug)),
		plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionNoop),
	}
	// No slug in the configuration: it is derived from the name, and renaming
	// keeps it.
	name := "Update " + strings.TrimPrefix(slug, "update-")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config(name, "app.py", "running"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("slug"), knownvalue.StringExact(slug)),
				},
				Check: e.checkAppServes(slug, "MARKER-ROOT"),
			},
			{
				Config:           config("Renamed dashboard", "src/app.py", "running"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("slug"), knownvalue.StringExact(slug)),
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("name"), knownvalue.StringExact("Renamed dashboard")),
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("status"), knownvalue.StringExact(api.StatusDeployed)),
				},
				Check: e.checkAppServes(slug, "MARKER-SRC"),
			},
			{
				Config: config("Renamed dashboard", "src/app.py", "stopped"),
				Check:  e.checkAppDown(slug),
			},
			{
				Config:           config("Renamed dashboard", "app.py", "stopped"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: inPlace},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("path"), knownvalue.StringExact("app.py")),
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("status"), knownvalue.StringExact(api.StatusStopped)),
				},
				Check: resource.ComposeTestCheckFunc(
					e.checkAppDown(slug),
					e.checkDeployment(slug, func(d *api.Deployment) error {
						if d.State != api.StateStopped || d.Status != api.StatusStopped {
							return fmt.Errorf("a stopped app must stay stopped: state %s, status %s", d.State, d.Status)
						}
						return nil
					}),
				),
			},
			{
				Config: config("Renamed dashboard", "app.py", "running"),
				Check:  e.checkAppServes(slug, "MARKER-ROOT"),
			},
		},
	})
}

// branch, git_url, app_type and a configured slug replace the project (and
// with it the deployment, which follows the project's id); removing slug from
// the configuration changes nothing.
func TestAccProjectResource_replace(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("replace")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-MAIN")})
	repo.Commit(t, "dev", map[string]string{"app.py": streamlitApp("MARKER-DEV")}, "dev")
	other := e.git.NewRepo(t, slug+"-other", map[string]string{"app.py": streamlitApp("MARKER-OTHER")})
	config := func(gitURL string, extra ...string) string {
		return e.providerConfig() + projectHCL(slug, gitURL, "app.py", extra...) + e.keyRegistrationHCL() +
			deploymentHCL(`  depends_on = [terraform_data.git_host_key]`)
	}
	replaced := []plancheck.PlanCheck{
		plancheck.ExpectResourceAction(projectAddr, plancheck.ResourceActionDestroyBeforeCreate),
		plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionDestroyBeforeCreate),
	}
	var key string
	keyChanged := func(s *terraform.State) error {
		k := s.RootModule().Resources[projectAddr].Primary.Attributes["deploy_public_key"]
		if k == key {
			return fmt.Errorf("the replaced project kept its deploy key")
		}
		key = k
		return nil
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config(repo.URL),
				Check:  resource.ComposeTestCheckFunc(keyChanged, e.checkAppServes(slug, "MARKER-MAIN")),
			},
			{
				Config:           config(repo.URL, `  branch = "dev"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: replaced},
				Check:            resource.ComposeTestCheckFunc(keyChanged, e.checkAppServes(slug, "MARKER-DEV")),
			},
			{
				Config:           config(other.URL, `  branch = "main"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: replaced},
				Check:            resource.ComposeTestCheckFunc(keyChanged, e.checkAppServes(slug, "MARKER-OTHER")),
			},
			{
				// Without the explicit branch, the default is the same "main": no change.
				Config:           config(other.URL),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config:             e.providerConfig() + replaceAttr(projectHCL(slug, other.URL, "app.py"), "app_type", "dash") + e.keyRegistrationHCL() + deploymentHCL(`  depends_on = [terraform_data.git_host_key]`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPreRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction(projectAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
			},
			{
				Config:             e.providerConfig() + replaceAttr(projectHCL(slug, other.URL, "app.py"), "slug", slug+"-2") + e.keyRegistrationHCL() + deploymentHCL(`  depends_on = [terraform_data.git_host_key]`),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPreRefresh: []plancheck.PlanCheck{plancheck.ExpectResourceAction(projectAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
			},
		},
	})
}

// Bad input fails at plan time against a real agent too, including an
// environment the agent does not know.
func TestAccProjectResource_invalidInput(t *testing.T) {
	e := newAccEnv(t)
	step := func(attrs map[string]string, want ...string) resource.TestStep {
		return resource.TestStep{
			Config:      e.providerConfig() + testProjectConfig(attrs),
			PlanOnly:    true,
			ExpectError: errorLike(want...),
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step(map[string]string{"slug": `"Sales_Dashboard!"`}, `slug = "Sales_Dashboard!"`, `slug "Sales_Dashboard!" is not valid`),
			step(map[string]string{"path": `"../x"`}, `path = "../x"`, `path "../x" leaves the repository`),
			step(map[string]string{"branch": `"a..b"`}, `branch = "a..b"`, `branch "a..b" is not a valid git branch name`),
			step(map[string]string{"git_url": `"git@:acme"`}, `git_url = "git@:acme"`, `git_url "git@:acme" is not a repository URL`),
			step(map[string]string{"environment": `"python-2.7"`}, `environment = "python-2.7"`, `environment "python-2.7" is not known to the agent: use one of python-3.12`),
		},
	})
}

// replaceAttr sets a string attribute of an HCL block rendered by projectHCL.
func replaceAttr(hcl, attr, value string) string {
	re := regexp.MustCompile(`(?m)^(\s*)` + attr + `\s*=\s*"[^"]*"`)
	if !re.MatchString(hcl) {
		panic("replaceAttr: no " + attr + " in " + hcl)
	}
	return re.ReplaceAllString(hcl, fmt.Sprintf("${1}%s = %q", attr, value))
}
