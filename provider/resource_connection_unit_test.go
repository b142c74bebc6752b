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
)

const connectionAddr = "runtime_connection.c"

func TestConnectionResource_invalidInput(t *testing.T) {
	clearProviderEnv(t)
	cfg := func(args string) string {
		return testProviderConfigUnknownEndpoint + `
resource "runtime_connection" "c" {
  project_id = "sales"
  name       = "warehouse"
` + args + `
}
`
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   writeOnlyVersions,
		Steps: []resource.TestStep{
			{Config: cfg(`type = "oracle"`), PlanOnly: true,
				ExpectError: errorLike(`type = "oracle"`, `value must be one of: ["postgres" "mysql" "mssql" "snowflake" "http" "s3" "generic"]`)},
			{Config: cfg("type = \"postgres\"\nport = 0"), PlanOnly: true, ExpectError: errorLike(`port = 0`, `between 1 and 65535`)},
			{Config: cfg("type = \"postgres\"\nport = 70000"), PlanOnly: true, ExpectError: errorLike(`between 1 and 65535, got: 70000`)},
			{Config: cfg("type = \"postgres\"\nhost = \"postgres://db.internal/sales\""), PlanOnly: true,
				ExpectError: errorLike(`host "postgres://db.internal/sales" must be a host name or address only (no scheme, user or path)`)},
			{Config: cfg("type = \"postgres\"\npassword = \"a\"\npassword_wo = \"b\"\npassword_wo_version = 1"), PlanOnly: true,
				ExpectError: errorLike(`These attributes cannot be configured together: [password,password_wo]`)},
			{Config: cfg("type = \"postgres\"\npassword_wo = \"b\""), PlanOnly: true,
				ExpectError: errorLike(`These attributes must be configured together: [password_wo,password_wo_version]`)},
			{Config: cfg("type = \"postgres\"\nextra = { \"\" = \"x\" }"), PlanOnly: true, ExpectError: errorLike(`extra`, `length must be at least 1`)},
			// http connections may carry a base address.
			{Config: cfg("type = \"http\"\nhost = \"https://api.example.com/v1\""), PlanOnly: true, ExpectNonEmptyPlan: true},
			// No password at all is fine.
			{Config: cfg(`type = "generic"`), PlanOnly: true, ExpectNonEmptyPlan: true},
		},
	})
}

// Against the in-memory agent: every part reaches the agent (the write-only
// password too, but not the state); unset and empty parts make no diff;
// changes in place; a password changed outside Terraform is put back;
// import.
func TestConnectionResource_lifecycle(t *testing.T) {
	clearProviderEnv(t)
	a := newConfigAgent(t, "sales")
	cfg := func(body string) string {
		return a.providerConfig() + `
resource "runtime_connection" "c" {
  project_id = "sales"
  name       = "warehouse"
` + body + `
}
`
	}
	full := func(host string, pwVersion int) string {
		return cfg(fmt.Sprintf(`
  type                = "postgres"
  host                = %q
  port                = 5432
  login               = "analyst"
  password_wo         = %s
  password_wo_version = %d
  schema              = "sales"
  extra               = { sslmode = "require", application_name = "tf" }
`, host, hclString(trickyValue), pwVersion))
	}
	agentConn := func(check func(c *fakeConn) error) resource.TestCheckFunc {
		return func(*terraform.State) error {
			var err error
			a.do("sales", func(p *fakeProject) {
				c := p.connections["warehouse"]
				if c == nil {
					err = fmt.Errorf("the agent has no connection warehouse")
					return
				}
				err = check(c)
			})
			return err
		}
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   writeOnlyVersions,
		Steps: []resource.TestStep{
			{
				Config:           full("db.internal", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{expectNotInPlan(trickyValue)}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("id"), knownvalue.StringExact("sales/warehouse")),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password_version"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password_wo"), knownvalue.Null()),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password"), knownvalue.Null()),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("extra"), knownvalue.MapExact(map[string]knownvalue.Check{
						"sslmode": knownvalue.StringExact("require"), "application_name": knownvalue.StringExact("tf"),
					})),
					expectNotInState(trickyValue),
				},
				Check: agentConn(func(c *fakeConn) error {
					if c.password != trickyValue || c.Host != "db.internal" || c.Port != 5432 || c.Login != "analyst" || c.Schema != "sales" ||
						c.Type != "postgres" || c.Extra["sslmode"] != "require" || len(c.Extra) != 2 {
						return fmt.Errorf("agent holds %+v", c.Connection)
					}
					return nil
				}),
			},
			{
				// Another host: in place, the password is sent again and keeps
				// its version.
				Config: full("db2.internal", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(connectionAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password_version"), knownvalue.Int64Exact(1)),
				},
				Check: agentConn(func(c *fakeConn) error {
					if c.password != trickyValue || c.Host != "db2.internal" {
						return fmt.Errorf("agent holds %+v", c.Connection)
					}
					return nil
				}),
			},
			{
				// Password changed outside Terraform: an update puts it back.
				PreConfig: func() {
					a.do("sales", func(p *fakeProject) {
						c := p.connections["warehouse"]
						c.password, c.PasswordVersion = "rogue", 2
					})
				},
				Config: full("db2.internal", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(connectionAddr, plancheck.ResourceActionUpdate),
					expectBefore(connectionAddr, "password_version", "2"),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password_version"), knownvalue.Int64Exact(3)),
				},
				Check: agentConn(func(c *fakeConn) error {
					if c.password != trickyValue {
						return fmt.Errorf("the password was not put back")
					}
					return nil
				}),
			},
			{
				ResourceName:            connectionAddr,
				ImportState:             true,
				ImportStateId:           "sales/warehouse",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"password", "password_wo", "password_wo_version"},
			},
			{
				// Only the type: unset parts stay null; an empty extra map and
				// empty strings make no diff either. Removing the password
				// clears it.
				Config: cfg(`
  type   = "generic"
  login  = ""
  extra  = {}
`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("host"), knownvalue.Null()),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("port"), knownvalue.Null()),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("login"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("extra"), knownvalue.MapSizeExact(0)),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password_version"), knownvalue.Int64Exact(4)),
				},
				Check: agentConn(func(c *fakeConn) error {
					if c.password != "" || c.Host != "" || c.Type != "generic" {
						return fmt.Errorf("agent holds %+v", c.Connection)
					}
					return nil
				}),
			},
			{
				// Import with no password: nothing to write, the plan is empty.
				Config:          cfg("  type = \"generic\"\n  login = \"\"\n  extra = {}\n"),
				ResourceName:    connectionAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   "sales/warehouse",
				// login = "" and extra = {} read back as null after an import:
				// one update, which changes nothing on the agent.
				ExpectNonEmptyPlan: true,
			},
			{
				Config:          cfg("  type = \"generic\""),
				ResourceName:    connectionAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   "sales/warehouse",
			},
			{
				// The password (sensitive, kept in state) instead of password_wo.
				Config: cfg("  type = \"generic\"\n  password = \"plain\""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password"), knownvalue.StringExact("plain")),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password_version"), knownvalue.Int64Exact(5)),
				},
			},
			{
				// Deleted outside Terraform: planned for creation again.
				PreConfig: func() { a.do("sales", func(p *fakeProject) { delete(p.connections, "warehouse") }) },
				Config:    cfg("  type = \"generic\"\n  password = \"plain\""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(connectionAddr, plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}
