package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

const secretAddr = "runtime_secret.s"

var writeOnlyVersions = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)}

// Exactly one of value and value_wo; value_wo needs value_wo_version and the
// other way round.
func TestSecretResource_valueArguments(t *testing.T) {
	clearProviderEnv(t)
	cfg := func(args string) string {
		return testProviderConfigUnknownEndpoint + `
resource "runtime_secret" "s" {
  project_id = "sales"
  key        = "API_KEY"
` + args + `
}
`
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   writeOnlyVersions,
		Steps: []resource.TestStep{
			{Config: cfg(""), PlanOnly: true, ExpectError: errorLike(`Missing Attribute Configuration`, `Exactly one of these attributes must be configured: [value,value_wo]`)},
			{Config: cfg("value = \"a\"\nvalue_wo = \"b\"\nvalue_wo_version = 1"), PlanOnly: true, ExpectError: errorLike(`Exactly one of these attributes must be configured: [value,value_wo]`)},
			{Config: cfg(`value_wo = "b"`), PlanOnly: true, ExpectError: errorLike(`These attributes must be configured together: [value_wo,value_wo_version]`)},
			{Config: cfg("value = \"a\"\nvalue_wo_version = 1"), PlanOnly: true, ExpectError: errorLike(`These attributes must be configured together: [value_wo,value_wo_version]`)},
			{Config: cfg("value_wo = \"b\"\nvalue_wo_version = 1"), PlanOnly: true, ExpectNonEmptyPlan: true},
			{Config: cfg(`value = ""`), PlanOnly: true, ExpectNonEmptyPlan: true},
		},
	})
}

// Against the in-memory agent: the write-only value reaches the agent and
// nothing else; a version bump rotates it; a change made outside Terraform
// shows as an update and apply puts the configured value back; import.
func TestSecretResource_writeOnlyAndDrift(t *testing.T) {
	clearProviderEnv(t)
	a := newConfigAgent(t, "sales")
	cfg := func(value string, version int) string {
		return a.providerConfig() + fmt.Sprintf(`
resource "runtime_secret" "s" {
  project_id       = "sales"
  key              = "API_KEY"
  value_wo         = %s
  value_wo_version = %d
}
`, hclString(value), version)
	}
	v1, v2 := "first-"+trickyValue, "second-"+trickyValue
	agentHas := func(want string, version int64) resource.TestCheckFunc {
		return func(*terraform.State) error {
			var err error
			a.do("sales", func(p *fakeProject) {
				if s := p.secrets["API_KEY"]; s == nil || s.value != want || s.version != version {
					err = fmt.Errorf("agent holds %+v, want version %d with the configured value", s, version)
				}
			})
			return err
		}
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   writeOnlyVersions,
		Steps: []resource.TestStep{
			{
				Config: cfg(v1, 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue(secretAddr, tfjsonpath.New("value_wo"), knownvalue.Null()),
					expectNotInPlan(v1),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("id"), knownvalue.StringExact("sales/API_KEY")),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("version"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("value_wo"), knownvalue.Null()),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("value"), knownvalue.Null()),
					expectNotInState(v1),
				},
				Check: agentHas(v1, 1),
			},
			{
				// A new value without a version bump is not seen: documented.
				Config:           cfg(v2, 1),
				PlanOnly:         true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: cfg(v2, 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectUnknownValue(secretAddr, tfjsonpath.New("version")),
					expectNotInPlan(v2),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("version"), knownvalue.Int64Exact(2)),
					expectNotInState(v2),
				},
				Check: agentHas(v2, 2),
			},
			{
				// Bumping the version with the same value writes it again; the
				// agent keeps its version.
				Config: cfg(v2, 3),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("version"), knownvalue.Int64Exact(2)),
				},
			},
			{
				// Changed outside Terraform: the version moved, the plan shows an
				// update, apply writes the configured value back, and the plan
				// after it is empty.
				PreConfig: func() {
					a.do("sales", func(p *fakeProject) { p.secrets["API_KEY"].value, p.secrets["API_KEY"].version = "rogue", 3 })
				},
				Config: cfg(v2, 3),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
					expectBefore(secretAddr, "version", "3"),
					plancheck.ExpectUnknownValue(secretAddr, tfjsonpath.New("version")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("version"), knownvalue.Int64Exact(4)),
				},
				Check: agentHas(v2, 4),
			},
			{
				ResourceName:            secretAddr,
				ImportState:             true,
				ImportStateId:           "sales/API_KEY",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"value", "value_wo", "value_wo_version"},
			},
			{
				// An import block: the value cannot be read back, so the plan
				// writes the configured one once.
				Config:             cfg(v2, 3),
				ResourceName:       secretAddr,
				ImportState:        true,
				ImportStateKind:    resource.ImportBlockWithID,
				ImportStateId:      "sales/API_KEY",
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
				}},
			},
			{
				// Deleted outside Terraform: planned for creation again.
				PreConfig: func() { a.do("sales", func(p *fakeProject) { delete(p.secrets, "API_KEY") }) },
				Config:    cfg(v2, 3),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionCreate),
				}},
				Check: agentHas(v2, 1),
			},
			{
				// value (sensitive, kept in state) instead of value_wo.
				Config: a.providerConfig() + `
resource "runtime_secret" "s" {
  project_id = "sales"
  key        = "API_KEY"
  value      = "plain"
}
`,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("value"), knownvalue.StringExact("plain")),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("value_wo_version"), knownvalue.Null()),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("version"), knownvalue.Int64Exact(2)),
				},
				Check: agentHas("plain", 2),
			},
		},
	})
}
