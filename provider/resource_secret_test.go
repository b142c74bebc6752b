package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// Write-only values on a running app: they reach the app but neither the
// plan, the state (as `terraform show -json` prints it, and the state file
// itself) nor the agent's log; a value_wo_version bump rotates them; a secret
// and a password changed through the agent's API outside Terraform show as
// an update in the next plan, apply puts the configured values back, and the
// plan after that is empty.
func TestAccSecretResource_writeOnlyOnRunningApp(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TF_ACC_TEMP_DIR", tmp) // so that the checks can read the state files
	logOpt, agentLog := withLogCapture()
	e := newAccEnv(t, logOpt)
	slug := randomSlug("secret")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-SECRET")})
	// Values unique to this run, so a match anywhere is a leak.
	run := strings.TrimPrefix(slug, "secret-")
	first := "wo-first-" + run + "-" + trickyValue
	second := "wo-second-" + run + "-" + trickyValue
	pwFirst := "pw-first-" + run + "-" + trickyValue
	pwSecond := "pw-second-" + run + "-" + trickyValue
	secrets := []string{first, second, pwFirst, pwSecond}

	config := func(value string, version int, password string, pwVersion int) string {
		return e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL() +
			deploymentHCL(`  depends_on = [terraform_data.git_host_key]`) + fmt.Sprintf(`
resource "runtime_secret" "s" {
  project_id       = runtime_project.p.id
  key              = "API_KEY"
  value_wo         = %s
  value_wo_version = %d
}

resource "runtime_connection" "c" {
  project_id          = runtime_project.p.id
  name                = "warehouse"
  type                = "postgres"
  host                = "db.internal"
  port                = 5432
  login               = "analyst"
  password_wo         = %s
  password_wo_version = %d
  schema              = "sales"
  extra               = { sslmode = "require" }
}
`, hclString(value), version, hclString(password), pwVersion)
	}
	env := func(secret, password string) map[string]string {
		return map[string]string{
			"API_KEY": secret, "WAREHOUSE_PASSWORD": password, "WAREHOUSE_HOST": "db.internal",
			"WAREHOUSE_PORT": "5432", "WAREHOUSE_LOGIN": "analyst", "WAREHOUSE_SCHEMA": "sales",
		}
	}
	noLeak := func() []statecheck.StateCheck {
		var checks []statecheck.StateCheck
		for _, s := range secrets {
			checks = append(checks, expectNotInState(s))
		}
		return append(checks,
			statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("value_wo"), knownvalue.Null()),
			statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("value"), knownvalue.Null()),
			statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password_wo"), knownvalue.Null()),
			statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password"), knownvalue.Null()),
		)
	}
	notInPlanChecks := func() []plancheck.PlanCheck {
		var checks []plancheck.PlanCheck
		for _, s := range secrets {
			checks = append(checks, expectNotInPlan(s))
		}
		return checks
	}
	agentVersions := func(secret, password int64) resource.TestCheckFunc {
		return func(*terraform.State) error {
			ctx := context.Background()
			s, err := e.agent.Client.GetSecret(ctx, slug, "API_KEY")
			if err != nil {
				return err
			}
			c, err := e.agent.Client.GetConnection(ctx, slug, "warehouse")
			if err != nil {
				return err
			}
			if s.Version != secret || c.PasswordVersion != password {
				return fmt.Errorf("agent: secret version %d, password version %d; want %d, %d", s.Version, c.PasswordVersion, secret, password)
			}
			return nil
		}
	}
	checkLog := func(*terraform.State) error {
		log := agentLog()
		for _, s := range secrets {
			if strings.Contains(log, s) || strings.Contains(log, "wo-first-"+run) || strings.Contains(log, "pw-first-"+run) {
				return fmt.Errorf("the agent's log contains a secret value")
			}
		}
		return nil
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   writeOnlyVersions,
		CheckDestroy:             e.checkProjectGone(slug),
		Steps: []resource.TestStep{
			{
				Config:            config(first, 1, pwFirst, 1),
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: notInPlanChecks()},
				ConfigStateChecks: append(noLeak(), statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("version"), knownvalue.Int64Exact(1))),
				Check: resource.ComposeTestCheckFunc(
					e.waitAppEnv(slug, env(first, pwFirst)),
					checkStateFiles(tmp, secrets...),
					agentVersions(1, 1),
				),
			},
			{
				// New values with a version bump: rotated in the app.
				PreConfig: func() { e.waitSettled(slug) },
				Config:    config(second, 2, pwSecond, 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: append(notInPlanChecks(),
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(connectionAddr, plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionNoop),
				)},
				ConfigStateChecks: append(noLeak(),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("version"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("value_wo_version"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password_version"), knownvalue.Int64Exact(2)),
				),
				Check: resource.ComposeTestCheckFunc(
					e.waitAppEnv(slug, env(second, pwSecond)),
					checkStateFiles(tmp, secrets...),
				),
			},
			{
				// Changed through the agent's API: the plan shows updates,
				// apply writes the configured values back (the plan after
				// apply being empty is checked by the test framework).
				PreConfig: func() {
					e.waitSettled(slug)
					ctx := context.Background()
					if _, err := e.agent.Client.SetSecret(ctx, slug, "API_KEY", api.SetSecretRequest{Value: "changed-out-of-band"}); err != nil {
						t.Fatal(err)
					}
					if _, err := e.agent.Client.SetConnection(ctx, slug, "warehouse", api.SetConnectionRequest{
						Type: "postgres", Host: "db.internal", Port: 5432, Login: "analyst", Password: "changed-out-of-band",
						Schema: "sales", Extra: map[string]string{"sslmode": "require"},
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(second, 2, pwSecond, 2),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
					expectBefore(secretAddr, "version", "3"),
					plancheck.ExpectUnknownValue(secretAddr, tfjsonpath.New("version")),
					plancheck.ExpectResourceAction(connectionAddr, plancheck.ResourceActionUpdate),
					expectBefore(connectionAddr, "password_version", "3"),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("version"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(connectionAddr, tfjsonpath.New("password_version"), knownvalue.Int64Exact(4)),
				},
				Check: resource.ComposeTestCheckFunc(
					agentVersions(4, 4),
					e.waitAppEnv(slug, env(second, pwSecond)),
					checkStateFiles(tmp, secrets...),
					checkLog,
				),
			},
		},
	})
}

// file = true: the app reads the secret from /run/secrets/<KEY>, named by
// <KEY>_FILE, and finds it in no environment variable; the value is in no
// state. Turning file off updates in place and moves it into the
// environment.
func TestAccSecretResource_file(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("secfile")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-SECFILE")})
	run := fmt.Sprintf("sa-%x", time.Now().UnixNano()) // in the value only, so a match anywhere is a leak
	value := "-----BEGIN PRIVATE KEY-----\n" + run + "\n" + trickyValue + "\n-----END PRIVATE KEY-----\n"
	config := func(file bool) string {
		return e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL() +
			deploymentHCL(`  depends_on = [terraform_data.git_host_key]`) + fmt.Sprintf(`
resource "runtime_secret" "s" {
  project_id       = runtime_project.p.id
  key              = "SA_KEY"
  value_wo         = %s
  value_wo_version = 1
  file             = %t
}

resource "runtime_variable" "v" {
  project_id = runtime_project.p.id
  key        = "GOOGLE_APPLICATION_CREDENTIALS"
  value      = "/run/secrets/SA_KEY"
}
`, hclString(value), file)
	}
	asFile := func(*terraform.State) error {
		return e.poll(90*time.Second, func() error {
			env, _, err := e.appInfo(slug)
			if err != nil {
				return err
			}
			if env["SA_KEY_FILE"] != "/run/secrets/SA_KEY" || env["GOOGLE_APPLICATION_CREDENTIALS"] != "/run/secrets/SA_KEY" {
				return fmt.Errorf("SA_KEY_FILE %q, GOOGLE_APPLICATION_CREDENTIALS %q", env["SA_KEY_FILE"], env["GOOGLE_APPLICATION_CREDENTIALS"])
			}
			for k, v := range env {
				if strings.Contains(v, run) {
					return fmt.Errorf("the environment variable %s holds the file secret", k)
				}
			}
			if got, err := e.appFile(slug, "/run/secrets/SA_KEY"); err != nil || got != value {
				return fmt.Errorf("/run/secrets/SA_KEY: %d bytes, %v; want the value byte for byte", len(got), err)
			}
			return nil
		})
	}
	inEnv := func(*terraform.State) error {
		return e.poll(90*time.Second, func() error {
			env, _, err := e.appInfo(slug)
			if err != nil {
				return err
			}
			if env["SA_KEY"] != value {
				return fmt.Errorf("SA_KEY is %d bytes, want the value", len(env["SA_KEY"]))
			}
			if _, ok := env["SA_KEY_FILE"]; ok {
				return fmt.Errorf("SA_KEY_FILE still set")
			}
			if _, err := e.appFile(slug, "/run/secrets/SA_KEY"); err == nil {
				return fmt.Errorf("/run/secrets/SA_KEY still there")
			}
			return nil
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   writeOnlyVersions,
		CheckDestroy:             e.checkProjectGone(slug),
		Steps: []resource.TestStep{
			{
				Config: config(true),
				ConfigStateChecks: []statecheck.StateCheck{
					expectNotInState(run),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("file"), knownvalue.Bool(true)),
				},
				Check: asFile,
			},
			{
				PreConfig: func() { e.waitSettled(slug) },
				Config:    config(false),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(secretAddr, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("file"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(secretAddr, tfjsonpath.New("version"), knownvalue.Int64Exact(1)),
				},
				Check: inEnv,
			},
		},
	})
}
