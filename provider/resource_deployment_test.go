package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

const (
	projectAddr    = "runtime_project.p"
	deploymentAddr = "runtime_deployment.d"
	deployKeyAddr  = "data.runtime_deploy_key.k"
)

// Project, then its deploy key registered with the git host by hand (as a
// user would copy it), then the deployment: the app answers through the
// agent's proxy, stops and starts again; plans after apply are empty.
func TestAccDeploymentResource_basic(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("basic")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-BASIC-1")})
	head := repo.Head(t, "main")

	project := e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + `
data "runtime_deploy_key" "k" {
  project_id = runtime_project.p.id
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: project,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("id"), knownvalue.StringExact(slug)),
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("slug"), knownvalue.StringExact(slug)),
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("branch"), knownvalue.StringExact("main")),
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("status"), knownvalue.StringExact(api.StatusCreated)),
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("deploy_public_key"), knownvalue.StringRegexp(regexp.MustCompile(`^ssh-ed25519 `))),
					statecheck.ExpectKnownValue(projectAddr, tfjsonpath.New("url"), knownvalue.StringRegexp(regexp.MustCompile(`^http://`+slug+`\.`))),
					statecheck.ExpectKnownValue(deployKeyAddr, tfjsonpath.New("fingerprint_sha256"), knownvalue.StringRegexp(regexp.MustCompile(`^SHA256:`))),
					statecheck.CompareValuePairs(deployKeyAddr, tfjsonpath.New("public_key"), projectAddr, tfjsonpath.New("deploy_public_key"), compare.ValuesSame()),
				},
			},
			{
				PreConfig: func() { e.authorize(slug) },
				Config:    project + deploymentHCL(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction(projectAddr, plancheck.ResourceActionNoop),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("id"), knownvalue.StringExact(slug)),
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("status"), knownvalue.StringExact(api.StatusDeployed)),
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("deployed_commit"), knownvalue.StringExact(head)),
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("last_error"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("commit"), knownvalue.Null()),
					statecheck.CompareValuePairs(deploymentAddr, tfjsonpath.New("url"), projectAddr, tfjsonpath.New("url"), compare.ValuesSame()),
				},
				Check: e.checkAppServes(slug, "MARKER-BASIC-1"),
			},
			{
				// Nothing changed: the plan is empty (and no pull is planned).
				Config: project + deploymentHCL(),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: project + deploymentHCL(`  state = "stopped"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("status"), knownvalue.StringExact(api.StatusStopped)),
						plancheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("deployed_commit"), knownvalue.StringExact(head)),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("status"), knownvalue.StringExact(api.StatusStopped)),
				},
				Check: e.checkAppDown(slug),
			},
			{
				Config: project + deploymentHCL(`  state = "running"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("status"), knownvalue.StringExact(api.StatusDeployed)),
					},
				},
				Check: e.checkAppServes(slug, "MARKER-BASIC-1"),
			},
		},
	})
}

// Project → deploy key → git host → deployment as one dependency chain, in
// one apply (the git host's deploy key resource is played by terraform_data).
// Changing triggers restarts the app in place.
func TestAccDeploymentResource_oneApplyAndTriggers(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("chain")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-CHAIN")})
	base := e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL()
	var started string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: base + deploymentHCL(`  depends_on = [terraform_data.git_host_key]`, `  triggers = { version = "1" }`),
				Check: resource.ComposeTestCheckFunc(
					e.checkAppServes(slug, "MARKER-CHAIN"),
					e.checkDeployment(slug, func(d *api.Deployment) error {
						started = d.StartedAt.String()
						return nil
					}),
				),
			},
			{
				Config: base + deploymentHCL(`  depends_on = [terraform_data.git_host_key]`, `  triggers = { version = "2" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("status"), knownvalue.StringExact(api.StatusDeployed)),
					},
				},
				Check: resource.ComposeTestCheckFunc(
					e.checkAppServes(slug, "MARKER-CHAIN"),
					e.checkDeployment(slug, func(d *api.Deployment) error {
						if d.StartedAt.String() == started {
							return fmt.Errorf("a triggers change did not restart the app (started at %s both times)", started)
						}
						if d.Revision != triggersRevision(map[string]string{"version": "2"}) {
							return fmt.Errorf("revision %q is not the hash of the new triggers", d.Revision)
						}
						return nil
					}),
				),
			},
		},
	})
}

// Projects and deployments import by slug, with `terraform import` and with
// import blocks; the plan after an import is empty.
func TestAccResources_import(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("import")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-IMPORT")})
	config := e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL() +
		deploymentHCL(`  depends_on = [terraform_data.git_host_key]`)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  e.checkAppServes(slug, "MARKER-IMPORT"),
			},
			{
				// The project's status in state is still the "created" of its
				// own apply; the deployment changed it since. Refresh first so
				// that the import is compared with what is true now.
				RefreshState: true,
			},
			{
				ResourceName:      projectAddr,
				ImportState:       true,
				ImportStateId:     slug,
				ImportStateVerify: true,
			},
			{
				ResourceName:            deploymentAddr,
				ImportState:             true,
				ImportStateId:           slug,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"triggers", "timeouts"},
			},
			{
				// An import block for the project alone: the plan must be a no-op import.
				Config:          e.providerConfig() + projectHCL(slug, repo.URL, "app.py"),
				ResourceName:    projectAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   slug,
			},
			{
				Config: e.providerConfig() + fmt.Sprintf(`
resource "runtime_deployment" "d" {
  project_id = %q
}
`, slug),
				ResourceName:    deploymentAddr,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   slug,
			},
		},
	})
}

// Drift is read, then corrected: an app stopped by hand, a removed container
// and a project deleted outside Terraform.
func TestAccDeploymentResource_drift(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("drift")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-DRIFT")})
	config := e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL() +
		deploymentHCL(`  depends_on = [terraform_data.git_host_key]`)
	container := "runtime-" + slug
	// restores: the plan puts a stopped app back (state "stopped" -> "running").
	restores := func(statusBefore string) []plancheck.PlanCheck {
		return []plancheck.PlanCheck{
			plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionUpdate),
			plancheck.ExpectResourceAction(projectAddr, plancheck.ResourceActionNoop),
			expectBefore(deploymentAddr, "state", "stopped"),
			expectBefore(deploymentAddr, "status", statusBefore),
			plancheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("state"), knownvalue.StringExact("running")),
			plancheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("status"), knownvalue.StringExact(api.StatusDeployed)),
		}
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  e.checkAppServes(slug, "MARKER-DRIFT"),
			},
			{
				PreConfig: func() { docker(t, "stop", container) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: restores(api.StatusStopped),
				},
				Check: e.checkAppServes(slug, "MARKER-DRIFT"),
			},
			{
				PreConfig: func() { docker(t, "rm", "-f", container) },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: restores(api.StatusFailed),
				},
				Check: e.checkAppServes(slug, "MARKER-DRIFT"),
			},
			{
				PreConfig: func() {
					if err := e.agent.Client.DeleteProject(context.Background(), slug); err != nil {
						t.Fatalf("delete project out of band: %v", err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(projectAddr, plancheck.ResourceActionCreate),
						plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionCreate),
					},
				},
				Check: e.checkAppServes(slug, "MARKER-DRIFT"),
			},
		},
	})
}

// A push to the branch plans a pull to the new commit, and apply deploys
// exactly that commit; a pinned commit stays pinned after a push.
func TestAccDeploymentResource_followBranch(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("follow")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-V1")})
	first := repo.Head(t, "main")
	base := e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL()
	following := base + deploymentHCL(`  depends_on = [terraform_data.git_host_key]`)
	pinned := base + deploymentHCL(`  depends_on = [terraform_data.git_host_key]`, fmt.Sprintf("  commit = %q", first[:10]))
	var second, third string

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: following,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("deployed_commit"), knownvalue.StringExact(first)),
				},
				Check: e.checkAppServes(slug, "MARKER-V1"),
			},
			{
				PreConfig: func() { second = repo.Commit(t, "main", map[string]string{"app.py": streamlitApp("MARKER-V2")}, "v2") },
				Config:    following,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionUpdate),
						expectBefore(deploymentAddr, "deployed_commit", first),
						plancheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("deployed_commit"), lazyString(func() string { return second })),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("deployed_commit"), lazyString(func() string { return second })),
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("commit"), knownvalue.Null()),
				},
				Check: e.checkAppServes(slug, "MARKER-V2"),
			},
			{
				// Pin the first commit (abbreviated): the app goes back to it.
				Config: pinned,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("deployed_commit"), knownvalue.StringExact(first)),
					statecheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("commit"), knownvalue.StringExact(first[:10])),
				},
				Check: e.checkAppServes(slug, "MARKER-V1"),
			},
			{
				// A push while pinned plans nothing.
				PreConfig: func() { third = repo.Commit(t, "main", map[string]string{"app.py": streamlitApp("MARKER-V3")}, "v3") },
				Config:    pinned,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: e.checkAppServes(slug, "MARKER-V1"),
			},
			{
				// Unpinned again: follows the branch to its head.
				Config: following,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("deployed_commit"), lazyString(func() string { return third })),
					},
				},
				Check: e.checkAppServes(slug, "MARKER-V3"),
			},
		},
	})
}

// A failed update keeps what the agent reports in state: status failed,
// while the previous version keeps serving (state running, deployed_commit
// the serving commit). The next plan shows the drift; a fixed push
// converges in one apply.
func TestAccDeploymentResource_updateFails(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("crash")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-GOOD")})
	config := e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL() +
		deploymentHCL(`  depends_on = [terraform_data.git_host_key]`)
	var fixed string
	good := repo.Head(t, "main")

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check:  e.checkAppServes(slug, "MARKER-GOOD"),
			},
			{
				PreConfig: func() {
					repo.Commit(t, "main", map[string]string{"app.py": "# STANDIN_CRASH\n" + streamlitApp("MARKER-BROKEN")}, "broken")
				},
				Config:      config,
				ExpectError: regexp.MustCompile(`deploy\s+of\s+` + slug + `\s+failed:`),
			},
			{
				// The failed update was saved: the plan puts the app back to
				// running, at the branch head.
				PreConfig: func() {
					if err := e.checkAppServes(slug, "MARKER-GOOD")(nil); err != nil {
						t.Fatalf("the previous version stopped serving after the failed deploy: %v", err)
					}
					fixed = repo.Commit(t, "main", map[string]string{"app.py": streamlitApp("MARKER-FIXED")}, "fixed")
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionUpdate),
						expectBefore(deploymentAddr, "state", "running"),
						expectBefore(deploymentAddr, "status", api.StatusFailed),
						expectBefore(deploymentAddr, "deployed_commit", good),
						plancheck.ExpectKnownValue(deploymentAddr, tfjsonpath.New("deployed_commit"), lazyString(func() string { return fixed })),
					},
				},
				Check: e.checkAppServes(slug, "MARKER-FIXED"),
			},
		},
	})
}

// A wrong entrypoint fails the apply with the agent's reason (path, branch,
// commit); fixing the path converges in one apply.
func TestAccDeploymentResource_wrongPath(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("path")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-PATH")})
	head := repo.Head(t, "main")
	config := func(p string) string {
		return e.providerConfig() + projectHCL(slug, repo.URL, p) + e.keyRegistrationHCL() +
			deploymentHCL(`  depends_on = [terraform_data.git_host_key]`)
	}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: config("src/missing.py"),
				ExpectError: regexp.MustCompile(`deploy\s+of\s+` + slug + `\s+failed:\s+entrypoint\s+"src/missing.py"\s+not\s+found` +
					`[\s\S]*branch\s+"main"\s+at\s+commit\s+` + head[:7]),
			},
			{
				Config: config("app.py"),
				Check:  e.checkAppServes(slug, "MARKER-PATH"),
			},
		},
	})
}

// Access to the git host: an unregistered deploy key and an unknown host key
// fail with messages that say what to do.
func TestAccDeploymentResource_gitAccess(t *testing.T) {
	t.Run("key not registered", func(t *testing.T) {
		e := newAccEnv(t)
		slug := randomSlug("nokey")
		repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-NOKEY")})
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			Steps: []resource.TestStep{{
				Config: e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + deploymentHCL(),
				ExpectError: regexp.MustCompile(`deploy\s+of\s+` + slug + `\s+failed:[\s\S]*` +
					`(permission\s+denied|does\s+not\s+accept\s+the\s+deploy\s+key)[\s\S]*SHA256:`),
			}},
		})
	})
	t.Run("unknown host key", func(t *testing.T) {
		e := newAccEnv(t, func(o *agenttest.Options, _ *agenttest.GitServer) {
			o.KnownHostsFile = "" // the agent's own, empty known_hosts
			o.TrustOnFirstUse = false
		})
		slug := randomSlug("nohost")
		repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-NOHOST")})
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
			Steps: []resource.TestStep{{
				Config: e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL() +
					deploymentHCL(`  depends_on = [terraform_data.git_host_key]`),
				ExpectError: regexp.MustCompile(`deploy\s+of\s+` + slug + `\s+failed:[\s\S]*known_hosts`),
			}},
		})
	})
}
