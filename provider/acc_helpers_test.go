package provider

// Helpers of the acceptance tests (TestAcc*): they run Terraform against a
// real runtime-agent started in-process by agenttest, with a real OpenSSH git
// host and Docker. They need TF_ACC=1 (and, to stay offline,
// TF_ACC_TERRAFORM_PATH=$(command -v terraform)).

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// accEnv is one agent and one git host, private to a test.
type accEnv struct {
	t     *testing.T
	agent *agenttest.Agent
	git   *agenttest.GitServer
}

// testAccPreCheck skips a test unless acceptance tests were asked for, before
// anything expensive (sshd, agent, image build) is started. resource.Test
// would skip it too, but only after those were set up.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (and TF_ACC_TERRAFORM_PATH=$(command -v terraform)) to run it")
	}
}

// newAccEnv starts a git host and an agent that trusts it. opts may adjust
// the agent's options; KnownHostsFile defaults to the git host's.
func newAccEnv(t *testing.T, opts ...func(*agenttest.Options, *agenttest.GitServer)) *accEnv {
	t.Helper()
	testAccPreCheck(t)
	clearProviderEnv(t)
	gs := agenttest.StartGitServer(t)
	o := agenttest.Options{KnownHostsFile: gs.KnownHostsFile}
	for _, f := range opts {
		f(&o, gs)
	}
	return &accEnv{t: t, agent: agenttest.Start(t, o), git: gs}
}

// providerConfig is the provider block for this env's agent.
func (e *accEnv) providerConfig() string {
	return fmt.Sprintf(`
provider "runtime" {
  endpoint = %q
  token    = %q
}
`, e.agent.Endpoint, e.agent.Token)
}

// authorizedKeysFile is the git host's authorized_keys, for configs that
// register the deploy key themselves (terraform_data + local-exec standing in
// for a git host's deploy key resource).
func (e *accEnv) authorizedKeysFile() string {
	f := filepath.Join(e.git.Dir, "authorized_keys")
	if _, err := os.Stat(f); err != nil {
		e.t.Fatalf("git host's authorized_keys not found: %v", err)
	}
	return f
}

// authorize registers the project's deploy key with the git host, reading it
// through the agent's API (as a user copying it into GitHub would).
func (e *accEnv) authorize(slug string) {
	e.t.Helper()
	k, err := e.agent.Client.GetDeployKey(context.Background(), slug)
	if err != nil {
		e.t.Fatalf("read deploy key of %s: %v", slug, err)
	}
	e.git.Authorize(k.PublicKey)
}

// appBody fetches GET / of the app through the agent's reverse proxy.
func (e *accEnv) appBody(slug string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+e.agent.AppsAddr+"/", nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = slug + "." + e.agent.AppsDomain
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

// checkAppServes is a step check: the app answers 200 with marker in its body.
func (e *accEnv) checkAppServes(slug, marker string) func(*terraform.State) error {
	return func(*terraform.State) error {
		var last string
		deadline := time.Now().Add(15 * time.Second)
		for {
			code, body, err := e.appBody(slug)
			if err == nil && code == http.StatusOK && strings.Contains(body, marker) {
				return nil
			}
			last = fmt.Sprintf("status %d, error %v, body %.300q", code, err, body)
			if time.Now().After(deadline) {
				return fmt.Errorf("app %s does not serve %q: %s", slug, marker, last)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
}

// checkAppDown is a step check: the proxy does not serve the app.
func (e *accEnv) checkAppDown(slug string) func(*terraform.State) error {
	return func(*terraform.State) error {
		code, body, err := e.appBody(slug)
		if err == nil && code == http.StatusOK {
			return fmt.Errorf("app %s still answers 200: %.300q", slug, body)
		}
		return nil
	}
}

// checkDeployment is a step check on what the agent reports.
func (e *accEnv) checkDeployment(slug string, check func(*api.Deployment) error) func(*terraform.State) error {
	return func(*terraform.State) error {
		d, err := e.agent.Client.GetDeployment(context.Background(), slug, false)
		if err != nil {
			return err
		}
		return check(d)
	}
}

// docker runs the docker CLI (the tests act out of band like an operator).
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// randomSlug returns a slug unique to this run: container names
// (runtime-<slug>) are global on the Docker host.
func randomSlug(prefix string) string {
	return prefix + "-" + acctest.RandStringFromCharSet(6, "abcdefghijklmnopqrstuvwxyz0123456789")
}

// streamlitApp is a one-file app whose page shows marker (the stand-in
// streamlit serves the entrypoint's content).
func streamlitApp(marker string) string {
	return fmt.Sprintf("import streamlit as st\n\nst.write(%q)\n", marker)
}

// projectHCL renders runtime_project "p" with the given attributes
// (HCL expressions), plus optional extra lines.
func projectHCL(slug, gitURL, path string, extra ...string) string {
	return fmt.Sprintf(`
resource "runtime_project" "p" {
  name        = "Acceptance %[1]s"
  slug        = %[1]q
  app_type    = "streamlit"
  environment = "python-3.12"
  git_url     = %[2]q
  path        = %[3]q
%[4]s
}
`, slug, gitURL, path, strings.Join(extra, "\n"))
}

// deploymentHCL renders runtime_deployment "d" of project "p".
func deploymentHCL(extra ...string) string {
	return fmt.Sprintf(`
resource "runtime_deployment" "d" {
  project_id = runtime_project.p.id
%s
}
`, strings.Join(extra, "\n"))
}

// keyRegistrationHCL registers the project's deploy key with the test git
// host in the same apply (what a git host's deploy key resource does), and
// makes the deployment wait for it through depends_on.
func (e *accEnv) keyRegistrationHCL() string {
	return fmt.Sprintf(`
data "runtime_deploy_key" "k" {
  project_id = runtime_project.p.id
}

resource "terraform_data" "git_host_key" {
  triggers_replace = [data.runtime_deploy_key.k.public_key]

  provisioner "local-exec" {
    command = "printf '%%s\\n' \"$KEY\" >> %s"
    environment = {
      KEY = data.runtime_deploy_key.k.public_key
    }
  }
}
`, e.authorizedKeysFile())
}

// expectBefore is a plan check: the resource's prior value of attr (what
// refresh read) is want. Terraform's plan shows it as "want -> after".
func expectBefore(addr, attr, want string) plancheck.PlanCheck {
	return beforeCheck{addr: addr, attr: attr, want: func() string { return want }}
}

// expectBeforeLazy is expectBefore with a value known only while the test runs.
func expectBeforeLazy(addr, attr string, want func() string) plancheck.PlanCheck {
	return beforeCheck{addr: addr, attr: attr, want: want}
}

type beforeCheck struct {
	addr, attr string
	want       func() string
}

func (c beforeCheck) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.addr || rc.Change == nil {
			continue
		}
		before, _ := rc.Change.Before.(map[string]any)
		if got, want := fmt.Sprint(before[c.attr]), c.want(); got != want {
			resp.Error = fmt.Errorf("%s: %s before the change is %q, want %q", c.addr, c.attr, got, want)
		}
		return
	}
	resp.Error = fmt.Errorf("%s: not in the plan", c.addr)
}

// lazyString is a knownvalue check against a value known only while the test
// runs (for example a commit pushed in a PreConfig).
func lazyString(get func() string) knownvalue.Check { return lazyCheck{get: get} }

type lazyCheck struct{ get func() string }

func (c lazyCheck) CheckValue(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("expected a string, got %T", v)
	}
	if want := c.get(); s != want {
		return fmt.Errorf("expected %q, got %q", want, s)
	}
	return nil
}

func (c lazyCheck) String() string { return c.get() }
