package provider

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// path_prefix serves the app at http://<apps domain>/<prefix>/ with the app
// told its base path; the plan refuses it for app types that cannot run
// under a prefix.
func TestAccDeploymentResource_pathPrefix(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("prefix")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-PREFIX")})
	config := e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL() +
		deploymentHCL(`  depends_on = [terraform_data.git_host_key]`, `  path_prefix = "team/`+slug+`"`)
	servedAtPrefix := func(*terraform.State) error {
		req, _ := http.NewRequest("GET", "http://"+e.agent.AppsAddr+"/team/"+slug+"/", nil)
		req.Host = e.agent.AppsDomain
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "MARKER-PREFIX") {
			return fmt.Errorf("app at its prefix: %d %.200q", resp.StatusCode, b)
		}
		return nil
	}
	wantURL := regexp.MustCompile(`^http://localhost:\d+/team/` + slug + `/$`)

	// An Open WebUI project refuses a prefix at plan time.
	ow := randomSlug("owprefix")
	owRepo := e.git.NewRepo(t, ow, map[string]string{"tools/x.py": "class Tools: pass\n"})
	owProject := fmt.Sprintf(`
resource "runtime_project" "ow" {
  name        = %q
  slug        = %q
  app_type    = "openwebui"
  environment = "python-3.12"
  git_url     = %q
  path        = "/"
}
`, ow, ow, owRepo.URL)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeTestCheckFunc(
					servedAtPrefix,
					resource.TestMatchResourceAttr(deploymentAddr, "url", wantURL),
				),
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: config + owProject,
			},
			{
				Config: config + owProject + `
resource "runtime_deployment" "ow" {
  project_id  = runtime_project.ow.id
  path_prefix = "chat"
}
`,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)path_prefix.*openwebui apps cannot be served under a path prefix`),
			},
		},
	})
}
