package provider

import (
	"os/exec"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// The agent dies (its process ends with no shutdown of the apps, as after a
// kill -9 or a crash) while apps run, and starts again on the same data
// directory: the app keeps its container (adopted, not restarted), serves
// through the new agent's proxy, and the next plan is empty. The provider
// finds the agent through RUNTIME_ENDPOINT / RUNTIME_TOKEN, which move to
// the new agent's address.
func TestAccAgentRestart_adoptsAndPlansNothing(t *testing.T) {
	testAccPreCheck(t)
	clearProviderEnv(t)
	gs := agenttest.StartGitServer(t)
	dataDir := t.TempDir()
	const token = "restart-test-token"
	first := agenttest.Start(t, agenttest.Options{KnownHostsFile: gs.KnownHostsFile, DataDir: dataDir, Token: token})
	e := &accEnv{t: t, agent: first, git: gs}
	slug := randomSlug("restart")
	t.Cleanup(func() {
		exec.Command("sh", "-c", "docker rm -f $(docker ps -aq --filter label=io.runtimeops.project="+slug+")").Run()
	})
	t.Setenv("RUNTIME_ENDPOINT", first.Endpoint)
	t.Setenv("RUNTIME_TOKEN", token)
	repo := gs.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-RESTART")})
	config := "provider \"runtime\" {}\n" + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL() +
		deploymentHCL(`  depends_on = [terraform_data.git_host_key]`)
	var containerID string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: resource.ComposeTestCheckFunc(
					e.checkAppServes(slug, "MARKER-RESTART"),
					e.checkDeployment(slug, func(d *api.Deployment) error { containerID = d.ContainerID; return nil }),
				),
			},
			{
				PreConfig: func() {
					before := docker(t, "inspect", "-f", "{{.State.StartedAt}}", containerID)
					first.Stop()
					if got := docker(t, "inspect", "-f", "{{.State.StartedAt}}", containerID); got != before {
						t.Fatalf("the app restarted when the agent stopped: %s -> %s", before, got)
					}
					second := agenttest.Start(t, agenttest.Options{KnownHostsFile: gs.KnownHostsFile, DataDir: dataDir, Token: token})
					e.agent = second
					t.Setenv("RUNTIME_ENDPOINT", second.Endpoint)
					if got := docker(t, "inspect", "-f", "{{.State.StartedAt}}", containerID); got != before {
						t.Fatalf("adoption restarted the app: %s -> %s", before, got)
					}
				},
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: resource.ComposeTestCheckFunc(
					e.checkAppServes(slug, "MARKER-RESTART"),
					e.checkDeployment(slug, func(d *api.Deployment) error {
						if d.ContainerID != containerID {
							t.Errorf("container changed across the agent restart: %s -> %s", containerID, d.ContainerID)
						}
						return nil
					}),
				),
			},
		},
	})
}
