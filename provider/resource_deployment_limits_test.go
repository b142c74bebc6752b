package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// memory_mb and cpus reach the container's limits, change in place (a
// restart), and leave no diff behind.
func TestAccDeploymentResource_limits(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("limits")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-LIMITS")})
	config := func(limits string) string {
		return e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL() +
			deploymentHCL(`  depends_on = [terraform_data.git_host_key]`, limits)
	}
	limitsAre := func(memory, nanoCPUs string) func(*terraform.State) error {
		return e.checkDeployment(slug, func(d *api.Deployment) error {
			got := strings.TrimSpace(docker(t, "inspect", "-f", "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}", d.ContainerID))
			if got != memory+" "+nanoCPUs {
				return fmt.Errorf("container limits = %q, want %q", got, memory+" "+nanoCPUs)
			}
			return nil
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		PreCheck:                 func() { testAccPreCheck(t) },
		Steps: []resource.TestStep{
			{
				Config: config("  memory_mb = 256\n  cpus = 0.5"),
				Check:  resource.ComposeTestCheckFunc(e.checkAppServes(slug, "MARKER-LIMITS"), limitsAre("268435456", "500000000")),
			},
			{
				Config:           config("  memory_mb = 256\n  cpus = 0.5"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: config("  memory_mb = 512"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeTestCheckFunc(e.checkAppServes(slug, "MARKER-LIMITS"), limitsAre("536870912", "0")),
			},
			{
				Config:           config("  memory_mb = 512"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
