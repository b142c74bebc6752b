package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// childrenHCL is one variable, one write-only secret, a connection with a
// write-only password and one without, all of project p.
func childrenHCL(projectID string) string {
	return fmt.Sprintf(`
resource "runtime_variable" "v" {
  project_id = %[1]s
  key        = "REGION"
  value      = "eu"
}

resource "runtime_secret" "s" {
  project_id       = %[1]s
  key              = "API_KEY"
  value_wo         = "s3cret"
  value_wo_version = 1
}

resource "runtime_connection" "c" {
  project_id          = %[1]s
  name                = "warehouse"
  type                = "postgres"
  host                = "db.internal"
  port                = 5432
  login               = "analyst"
  password_wo         = "pw"
  password_wo_version = 1
  schema              = "sales"
  extra               = { sslmode = "require" }
}

resource "runtime_connection" "api" {
  project_id = %[1]s
  name       = "billing_api"
  type       = "http"
  host       = "https://billing.example.com/v1"
}
`, projectID)
}

// The project and its children from scratch in one apply (project_id unknown
// at plan time); then each child imported with `terraform import` and with an
// import block. Secrets and passwords cannot be read back, so their import
// plans one update; everything else imports as a no-op.
func TestAccConnectionResource_projectInSameApplyAndImport(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("import")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-IMPORT")})
	config := e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + childrenHCL("runtime_project.p.id")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   writeOnlyVersions,
		CheckDestroy:             e.checkProjectGone(slug),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(projectAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue(variableAddr, tfjsonpath.New("project_id")),
					plancheck.ExpectUnknownValue(secretAddr, tfjsonpath.New("project_id")),
					plancheck.ExpectUnknownValue(connectionAddr, tfjsonpath.New("project_id")),
					plancheck.ExpectResourceAction(variableAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction(connectionAddr, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(variableAddr, tfjsonpath.New("id"), knownvalue.StringExact(slug+"/REGION")),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("id"), knownvalue.StringExact(slug+"/API_KEY")),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("id"), knownvalue.StringExact(slug+"/warehouse")),
					statecheck.ExpectKnownValue("runtime_connection.api", tfjsonpath.New("password_version"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue("runtime_connection.api", tfjsonpath.New("port"), knownvalue.Null()),
				},
			},
			{
				ResourceName:      variableAddr,
				ImportState:       true,
				ImportStateId:     slug + "/REGION",
				ImportStateVerify: true,
			},
			{
				ResourceName:            secretAddr,
				ImportState:             true,
				ImportStateId:           slug + "/API_KEY",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"value", "value_wo", "value_wo_version"},
			},
			{
				ResourceName:            connectionAddr,
				ImportState:             true,
				ImportStateId:           slug + "/warehouse",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"password", "password_wo", "password_wo_version"},
			},
			{
				ResourceName:      "runtime_connection.api",
				ImportState:       true,
				ImportStateId:     slug + "/billing_api",
				ImportStateVerify: true,
			},
			{
				Config:          config,
				ResourceName:    variableAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   slug + "/REGION",
			},
			{
				Config:          config,
				ResourceName:    "runtime_connection.api",
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   slug + "/billing_api",
			},
			{
				Config:             config,
				ResourceName:       secretAddr,
				ImportState:        true,
				ImportStateKind:    resource.ImportBlockWithID,
				ImportStateId:      slug + "/API_KEY",
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
				}},
			},
			{
				Config:             config,
				ResourceName:       connectionAddr,
				ImportState:        true,
				ImportStateKind:    resource.ImportBlockWithID,
				ImportStateId:      slug + "/warehouse",
				ExpectNonEmptyPlan: true,
				ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(connectionAddr, plancheck.ResourceActionUpdate),
				}},
			},
		},
	})
}

// A project and its configuration made outside Terraform (through the agent's
// API) are adopted with import blocks: one apply (writing the secret and the
// password, which are unchanged, so their versions stay), then an empty plan.
func TestAccConnectionResource_adoptWithImportBlocks(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("adopt")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-ADOPT")})
	ctx := context.Background()
	c := e.agent.Client
	if _, err := c.CreateProject(ctx, api.CreateProjectRequest{
		Name: "Acceptance " + slug, Slug: slug, AppType: "streamlit", Environment: "python-3.12", GitURL: repo.URL, Path: "app.py",
	}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		func() error { _, err := c.SetVariable(ctx, slug, "REGION", "eu"); return err }(),
		func() error {
			_, err := c.SetSecret(ctx, slug, "API_KEY", api.SetSecretRequest{Value: "s3cret"})
			return err
		}(),
		func() error {
			_, err := c.SetConnection(ctx, slug, "warehouse", api.SetConnectionRequest{Type: "postgres", Host: "db.internal", Port: 5432,
				Login: "analyst", Password: "pw", Schema: "sales", Extra: map[string]string{"sslmode": "require"}})
			return err
		}(),
		func() error {
			_, err := c.SetConnection(ctx, slug, "billing_api", api.SetConnectionRequest{Type: "http", Host: "https://billing.example.com/v1"})
			return err
		}(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	config := e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + childrenHCL("runtime_project.p.id") + fmt.Sprintf(`
import {
  to = runtime_project.p
  id = %[1]q
}

import {
  to = runtime_variable.v
  id = "%[1]s/REGION"
}

import {
  to = runtime_secret.s
  id = "%[1]s/API_KEY"
}

import {
  to = runtime_connection.c
  id = "%[1]s/warehouse"
}

import {
  to = runtime_connection.api
  id = "%[1]s/billing_api"
}
`, slug)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   writeOnlyVersions,
		CheckDestroy:             e.checkProjectGone(slug),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(projectAddr, plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction(variableAddr, plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("runtime_connection.api", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(connectionAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					// The values were already there: the agent kept their versions.
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("version"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password_version"), knownvalue.Int64Exact(1)),
				},
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
			},
		},
	})
}
