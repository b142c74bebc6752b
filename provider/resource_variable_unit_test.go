package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

const variableAddr = "runtime_variable.v"

// Bad and reserved keys fail at plan (validate) time, naming the key and why.
func TestVariableResource_invalidKeys(t *testing.T) {
	clearProviderEnv(t)
	cfg := func(typ, keyAttr, key string) string {
		extra := `value = "x"`
		if typ == "runtime_connection" {
			extra = `type = "postgres"`
		}
		return testProviderConfigUnknownEndpoint + `
resource "` + typ + `" "x" {
  project_id = "sales"
  ` + keyAttr + ` = "` + key + `"
  ` + extra + `
}
`
	}
	var steps []resource.TestStep
	for _, typ := range []string{"runtime_variable", "runtime_secret"} {
		steps = append(steps,
			resource.TestStep{Config: cfg(typ, "key", "1BAD"), PlanOnly: true,
				ExpectError: errorLike(`key "1BAD" is not a valid environment variable name: use letters, digits and underscores, not starting with a digit`)},
			resource.TestStep{Config: cfg(typ, "key", "A-B"), PlanOnly: true,
				ExpectError: errorLike(`key "A-B" is not a valid environment variable name`)},
			resource.TestStep{Config: cfg(typ, "key", "PORT"), PlanOnly: true,
				ExpectError: errorLike(`key "PORT" is reserved: the agent chooses the port the app listens on`)},
			resource.TestStep{Config: cfg(typ, "key", "STREAMLIT_SERVER_PORT"), PlanOnly: true,
				ExpectError: errorLike(`key "STREAMLIT_SERVER_PORT" is reserved: the agent owns Streamlit's server settings`)},
		)
	}
	steps = append(steps,
		resource.TestStep{Config: cfg("runtime_connection", "name", "1db"), PlanOnly: true,
			ExpectError: errorLike(`name "1db" is not a valid environment variable name`)},
		resource.TestStep{Config: cfg("runtime_connection", "name", "ware-house"), PlanOnly: true,
			ExpectError: errorLike(`name "ware-house" is not a valid environment variable name`)},
		// The connection's variables would be STREAMLIT_SERVER_URL, ...
		resource.TestStep{Config: cfg("runtime_connection", "name", "streamlit_server"), PlanOnly: true,
			ExpectError: errorLike(`name "streamlit_server" would give the app the variable STREAMLIT_SERVER_URL, which is reserved`)},
		resource.TestStep{Config: cfg("runtime_variable", "key", "REGION") + `
resource "runtime_variable" "y" {
  project_id = "Sales!"
  key        = "REGION"
  value      = ""
}
`, PlanOnly: true, ExpectError: errorLike(`slug "Sales!" is not valid`)},
	)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps:                    steps,
	})
}

// A value no environment variable can hold (over 128 KiB, or with a NUL
// byte) fails at plan time, naming the key and the fix, never the value; as
// a file secret it plans.
func TestVariableResource_valueTooLargeForTheEnvironment(t *testing.T) {
	clearProviderEnv(t)
	big := `join("", [for i in range(150) : join("", [for j in range(100) : "0123456789"])])` // 150,000 bytes
	cfg := func(body string) string {
		return testProviderConfigUnknownEndpoint + `
resource "runtime_variable" "v" {
  project_id = "sales"
  key        = "BLOB"
  value      = ` + big + `
}
` + body
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []resource.TestStep{
			{Config: cfg(""), PlanOnly: true,
				ExpectError: errorLike(`variable "BLOB": the value is 150000 bytes; an environment variable of that name holds at most 131066`)},
			{Config: testProviderConfigUnknownEndpoint + `
resource "runtime_secret" "s" {
  project_id       = "sales"
  key              = "SA_KEY"
  value_wo         = ` + big + `
  value_wo_version = 1
}
`, PlanOnly: true, ExpectError: errorLike(`secret "SA_KEY": the value is 150000 bytes; an environment variable of that name holds at most 131064: set file = true`)},
			{Config: testProviderConfigUnknownEndpoint + `
resource "runtime_secret" "s" {
  project_id       = "sales"
  key              = "SA_KEY"
  value_wo         = ` + big + `
  value_wo_version = 1
  file             = true
}
`, PlanOnly: true, ExpectNonEmptyPlan: true},
			{Config: testProviderConfigUnknownEndpoint + `
resource "runtime_secret" "s" {
  project_id = "sales"
  key        = "NULVAL"
  value      = "a\u0000b"
}
`, PlanOnly: true, ExpectError: errorLike(`secret "NULVAL": the value contains a NUL byte, which no environment variable can hold: set file = true`)},
			{Config: testProviderConfigUnknownEndpoint + `
resource "runtime_secret" "s" {
  project_id = "sales"
  key        = "STREAMLIT_SERVER"
  value      = "x"
  file       = true
}
`, PlanOnly: true, ExpectError: errorLike(`as a file it would set STREAMLIT_SERVER_FILE, which is reserved`)},
			{Config: testProviderConfigUnknownEndpoint + `
resource "runtime_connection" "c" {
  project_id = "sales"
  name       = "wh"
  type       = "postgres"
  host       = "db"
  login      = "ana\u0000lyst"
  extra      = { sslmode = "re\u0000quire" }
}
`, PlanOnly: true, ExpectError: errorLike(`login contains a NUL byte`)},
		},
	})
}

// A project created in the same apply: project_id is unknown at plan time
// and the children plan anyway, with nothing needing the agent.
func TestVariableResource_unknownProjectPlans(t *testing.T) {
	clearProviderEnv(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_11_0)},
		Steps: []resource.TestStep{{
			Config: testProviderConfigUnknownEndpoint + `
resource "runtime_project" "p" {
  name        = "Sales"
  app_type    = "streamlit"
  environment = "python-3.12"
  git_url     = "git@github.com:acme/sales.git"
  path        = "app.py"
}

resource "runtime_variable" "v" {
  project_id = runtime_project.p.id
  key        = "REGION"
  value      = "eu"
}

resource "runtime_secret" "s" {
  project_id       = runtime_project.p.id
  key              = "API_KEY"
  value_wo         = "not-in-the-plan"
  value_wo_version = 1
}

resource "runtime_connection" "c" {
  project_id          = runtime_project.p.id
  name                = "warehouse"
  type                = "postgres"
  host                = "db.internal"
  port                = 5432
  password_wo         = "not-in-the-plan"
  password_wo_version = 1
}
`,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPreRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(variableAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue(variableAddr, tfjsonpath.New("project_id")),
					plancheck.ExpectUnknownValue(variableAddr, tfjsonpath.New("id")),
					plancheck.ExpectKnownValue(variableAddr, tfjsonpath.New("value"), knownvalue.StringExact("eu")),
					plancheck.ExpectResourceAction("runtime_secret.s", plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue("runtime_secret.s", tfjsonpath.New("version")),
					plancheck.ExpectKnownValue("runtime_secret.s", tfjsonpath.New("value_wo"), knownvalue.Null()),
					plancheck.ExpectResourceAction("runtime_connection.c", plancheck.ResourceActionCreate),
					plancheck.ExpectKnownValue("runtime_connection.c", tfjsonpath.New("password_wo"), knownvalue.Null()),
					plancheck.ExpectUnknownValue("runtime_connection.c", tfjsonpath.New("password_version")),
					expectNotInPlan("not-in-the-plan"),
				},
			},
		}},
	})
}

// Against the in-memory agent: create, drift of the value, deletion outside
// Terraform (planned for creation again), import, and a key that exists
// already.
func TestVariableResource_lifecycle(t *testing.T) {
	clearProviderEnv(t)
	a := newConfigAgent(t, "sales")
	cfg := func(value string) string {
		return a.providerConfig() + `
resource "runtime_variable" "v" {
  project_id = "sales"
  key        = "REGION"
  value      = ` + hclString(value) + `
}
`
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg(trickyValue),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(variableAddr, tfjsonpath.New("id"), knownvalue.StringExact("sales/REGION")),
					statecheck.ExpectKnownValue(variableAddr, tfjsonpath.New("value"), knownvalue.StringExact(trickyValue)),
				},
			},
			{
				Config: cfg(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(variableAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(variableAddr, tfjsonpath.New("value"), knownvalue.StringExact("")),
				},
			},
			{
				// Changed outside Terraform: the plan puts the value back.
				PreConfig: func() { a.do("sales", func(p *fakeProject) { p.variables["REGION"] = "us" }) },
				Config:    cfg(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(variableAddr, plancheck.ResourceActionUpdate),
					expectBefore(variableAddr, "value", "us"),
				}},
			},
			{
				// Deleted outside Terraform: planned for creation, no error.
				PreConfig: func() { a.do("sales", func(p *fakeProject) { delete(p.variables, "REGION") }) },
				Config:    cfg("eu"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(variableAddr, plancheck.ResourceActionCreate),
				}},
			},
			{
				ResourceName:      variableAddr,
				ImportState:       true,
				ImportStateId:     "sales/REGION",
				ImportStateVerify: true,
			},
			{
				Config:          cfg("eu"),
				ResourceName:    variableAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   "sales/REGION",
			},
			{
				// A second resource for the same key is refused, not merged.
				Config: cfg("eu") + `
resource "runtime_variable" "dup" {
  project_id = "sales"
  key        = "REGION"
  value      = "other"
}
`,
				ExpectError: errorLike(`Variable Already Exists`, `Project "sales" already has a variable "REGION"`, `terraform import <address> sales/REGION`),
			},
			{
				Config: a.providerConfig() + `
resource "runtime_variable" "v" {
  project_id = "nope"
  key        = "REGION"
  value      = "eu"
}
`,
				ExpectError: errorLike(`Project "nope" does not exist on the agent`),
			},
		},
	})
}

// expectNotInPlan is a plan check: s appears in none of the plan's values
// (planned values, changes, drift, prior state). The plan's copy of the
// configuration is left out: it echoes literals of the test's HCL source.
func expectNotInPlan(s string) plancheck.PlanCheck { return notInPlan{s} }

type notInPlan struct{ s string }

func (c notInPlan) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	values := []any{req.Plan.PlannedValues, req.Plan.ResourceChanges, req.Plan.ResourceDrift, req.Plan.PriorState, req.Plan.OutputChanges}
	if err := notInJSON("plan", values, c.s); err != nil {
		resp.Error = err
	}
}

// expectNotInState is a state check: s appears nowhere in the state as
// `terraform show -json` prints it.
func expectNotInState(s string) statecheck.StateCheck { return notInState{s} }

type notInState struct{ s string }

func (c notInState) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if err := notInJSON("state", req.State, c.s); err != nil {
		resp.Error = err
	}
}

// notInJSON looks for s in v's JSON, raw and JSON-escaped.
func notInJSON(what string, v any, s string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if containsSecret(b, s) {
		return fmt.Errorf("the %s contains the secret value %q", what, s)
	}
	return nil
}

// containsSecret reports whether b holds s, raw or JSON-escaped.
func containsSecret(b []byte, s string) bool {
	esc, _ := json.Marshal(s)
	return bytes.Contains(b, []byte(s)) || bytes.Contains(b, esc[1:len(esc)-1])
}

// hclString quotes s as an HCL string literal, with template sequences escaped.
func hclString(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}

// trickyValue has every character that breaks naive quoting, URL building or
// environment handling.
const trickyValue = "p@ss:w/rd%#? $HOME \"q\" ünï\nline2"
