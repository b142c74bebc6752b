package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// Variables, a write-only secret and a connection on a running app: the
// container's environment holds exactly the configured values, byte for
// byte; 20 variables changed in one apply restart the app once; a variable
// deleted outside Terraform is planned for creation again; destroying the
// project with its deployment and children together succeeds.
func TestAccVariableResource_runningApp(t *testing.T) {
	e := newAccEnv(t)
	slug := randomSlug("vars")
	repo := e.git.NewRepo(t, slug, map[string]string{"app.py": streamlitApp("MARKER-VARS")})
	config := func(prefix string) string {
		return e.providerConfig() + projectHCL(slug, repo.URL, "app.py") + e.keyRegistrationHCL() +
			deploymentHCL(`  depends_on = [terraform_data.git_host_key]`) + `
resource "runtime_variable" "tricky" {
  project_id = runtime_project.p.id
  key        = "TRICKY"
  value      = ` + hclString(trickyValue) + `
}

resource "runtime_variable" "many" {
  count      = 20
  project_id = runtime_project.p.id
  key        = format("V%02d", count.index)
  value      = "` + prefix + `-${count.index}"
}

resource "runtime_secret" "s" {
  project_id       = runtime_project.p.id
  key              = "API_KEY"
  value_wo         = ` + hclString(trickyValue) + `
  value_wo_version = 1
}

resource "runtime_connection" "c" {
  project_id          = runtime_project.p.id
  name                = "warehouse"
  type                = "postgres"
  host                = "db.internal"
  port                = 5432
  login               = "analyst"
  password_wo         = ` + hclString(trickyValue) + `
  password_wo_version = 1
  schema              = "sales"
  extra               = { sslmode = "require" }
}
`
	}
	// want is the environment the configuration gives the app.
	want := func(prefix string) map[string]string {
		m := map[string]string{
			"TRICKY":             trickyValue,
			"API_KEY":            trickyValue,
			"WAREHOUSE_HOST":     "db.internal",
			"WAREHOUSE_PORT":     "5432",
			"WAREHOUSE_LOGIN":    "analyst",
			"WAREHOUSE_PASSWORD": trickyValue,
			"WAREHOUSE_SCHEMA":   "sales",
		}
		for i := 0; i < 20; i++ {
			m[fmt.Sprintf("V%02d", i)] = fmt.Sprintf("%s-%d", prefix, i)
		}
		return m
	}
	var t0 time.Time

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   writeOnlyVersions,
		CheckDestroy:             e.checkProjectGone(slug),
		Steps: []resource.TestStep{
			{
				Config: config("a"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("runtime_variable.tricky", tfjsonpath.New("id"), knownvalue.StringExact(slug+"/TRICKY")),
					statecheck.ExpectKnownValue("runtime_variable.tricky", tfjsonpath.New("value"), knownvalue.StringExact(trickyValue)),
					statecheck.ExpectKnownValue("runtime_secret.s", tfjsonpath.New("version"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue("runtime_connection.c", tfjsonpath.New("password_version"), knownvalue.Int64Exact(1)),
				},
				Check: resource.ComposeTestCheckFunc(
					e.waitAppEnv(slug, want("a")),
					e.checkStreamlitSecrets(slug),
				),
			},
			{
				// 20 variables change in one apply: one restart.
				PreConfig: func() {
					e.waitSettled(slug)
					t0 = time.Now()
				},
				Config: config("b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("runtime_variable.many[0]", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("runtime_variable.many[19]", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("runtime_variable.tricky", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("runtime_secret.s", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction(deploymentAddr, plancheck.ResourceActionNoop),
				}},
				Check: resource.ComposeTestCheckFunc(
					e.waitAppEnv(slug, want("b")),
					func(*terraform.State) error {
						e.waitSettled(slug)
						// Give a second restart, were one coming, time to show:
						// the agent restarts after a 2 s quiet period.
						time.Sleep(5 * time.Second)
						if n := countStarts(t, slug, t0); n != 1 {
							return fmt.Errorf("the app started %d times for one apply changing 20 variables, want 1", n)
						}
						return nil
					},
				),
			},
			{
				// Deleted outside Terraform: the plan creates it again, no error.
				PreConfig: func() {
					if err := e.agent.Client.DeleteVariable(context.Background(), slug, "TRICKY"); err != nil {
						t.Fatalf("delete variable out of band: %v", err)
					}
				},
				Config: config("b"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("runtime_variable.tricky", plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction("runtime_variable.many[0]", plancheck.ResourceActionNoop),
				}},
				Check: resource.ComposeTestCheckFunc(
					func(*terraform.State) error {
						v, err := e.agent.Client.GetVariable(context.Background(), slug, "TRICKY")
						if err != nil || v.Value != trickyValue {
							return fmt.Errorf("the agent's TRICKY after apply: %+v, %v", v, err)
						}
						// The app restarts with it (the deletion and the new
						// write are one burst for the agent).
						e.waitSettled(slug)
						return nil
					},
					e.waitAppEnv(slug, want("b")),
				),
			},
		},
	})
}

// --- helpers of the acceptance tests of variables, secrets and connections

// appInfo reads the stand-in app's /_standin/info through the agent's proxy.
func (e *accEnv) appInfo(slug string) (env map[string]string, startedAt string, err error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+e.agent.AppsAddr+"/_standin/info", nil)
	if err != nil {
		return nil, "", err
	}
	req.Host = slug + "." + e.agent.AppsDomain
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET /_standin/info: %d %.200q", resp.StatusCode, b)
	}
	var info struct {
		Env       map[string]string `json:"env"`
		StartedAt string            `json:"started_at"`
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, "", err
	}
	return info.Env, info.StartedAt, nil
}

// appFile reads a file of the app's container through the stand-in.
func (e *accEnv) appFile(slug, path string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+e.agent.AppsAddr+"/_standin/file?path="+url.QueryEscape(path), nil)
	if err != nil {
		return "", err
	}
	req.Host = slug + "." + e.agent.AppsDomain
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %.200q", path, resp.StatusCode, b)
	}
	return string(b), err
}

// waitAppEnv is a step check: the app's environment soon holds exactly
// want (the restart that brings a change follows apply by a few seconds).
// Keys that look like the configured ones (V<nn>, WAREHOUSE_*) must all be
// configured ones; WAREHOUSE_URL must decode back to the connection's parts.
func (e *accEnv) waitAppEnv(slug string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		return e.poll(90*time.Second, func() error {
			env, _, err := e.appInfo(slug)
			if err != nil {
				return err
			}
			return envMatches(env, want)
		})
	}
}

var configuredLike = regexp.MustCompile(`^(V[0-9]+|WAREHOUSE_.*|TRICKY|API_KEY)$`)

func envMatches(env, want map[string]string) error {
	var problems []string
	for k, v := range want {
		if got, ok := env[k]; !ok {
			problems = append(problems, fmt.Sprintf("%s missing", k))
		} else if got != v {
			problems = append(problems, fmt.Sprintf("%s = %q, want %q", k, got, v))
		}
	}
	for k := range env {
		if _, ok := want[k]; !ok && configuredLike.MatchString(k) && k != "WAREHOUSE_URL" {
			problems = append(problems, fmt.Sprintf("unexpected %s", k))
		}
	}
	if pw, ok := want["WAREHOUSE_PASSWORD"]; ok {
		u, err := url.Parse(env["WAREHOUSE_URL"])
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("WAREHOUSE_URL does not parse: %v", err))
		default:
			got, _ := u.User.Password()
			if u.Scheme != "postgresql" || u.User.Username() != want["WAREHOUSE_LOGIN"] || got != pw ||
				u.Hostname() != want["WAREHOUSE_HOST"] || u.Port() != want["WAREHOUSE_PORT"] ||
				u.Path != "/"+want["WAREHOUSE_SCHEMA"] || u.Query().Get("sslmode") != "require" {
				problems = append(problems, fmt.Sprintf("WAREHOUSE_URL decodes to scheme %q user %q password %q host %q port %q path %q query %q",
					u.Scheme, u.User.Username(), got, u.Hostname(), u.Port(), u.Path, u.RawQuery))
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return fmt.Errorf("the app's environment is not the configured one: %s", strings.Join(problems, "; "))
	}
	return nil
}

// checkStreamlitSecrets is a step check: the generated
// ~/.streamlit/secrets.toml has the secret as a top-level key and the
// connection as [connections.warehouse], so st.connection("warehouse") works.
func (e *accEnv) checkStreamlitSecrets(slug string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		return e.poll(30*time.Second, func() error {
			s, err := e.appFile(slug, "/root/.streamlit/secrets.toml")
			if err != nil {
				return err
			}
			var doc struct {
				APIKey      string `toml:"API_KEY"`
				Connections map[string]struct {
					URL      string `toml:"url"`
					Dialect  string `toml:"dialect"`
					Host     string `toml:"host"`
					Port     int64  `toml:"port"`
					Database string `toml:"database"`
					Username string `toml:"username"`
					Password string `toml:"password"`
				} `toml:"connections"`
			}
			if _, err := toml.Decode(s, &doc); err != nil {
				return fmt.Errorf("secrets.toml does not parse: %v", err)
			}
			c := doc.Connections["warehouse"]
			if doc.APIKey != trickyValue || c.Password != trickyValue || c.Dialect != "postgresql" || c.Host != "db.internal" ||
				c.Port != 5432 || c.Database != "sales" || c.Username != "analyst" || !strings.HasPrefix(c.URL, "postgresql://analyst:") {
				return fmt.Errorf("secrets.toml holds API_KEY %q and connection %+v", doc.APIKey, c)
			}
			return nil
		})
	}
}

// waitSettled waits until the agent has acted on everything it was asked
// (a restart after a configuration change included) and the app runs.
func (e *accEnv) waitSettled(slug string) {
	e.t.Helper()
	err := e.poll(2*time.Minute, func() error {
		d, err := e.agent.Client.GetDeployment(context.Background(), slug, false)
		if err != nil {
			return err
		}
		if !d.Settled() || d.Status != api.StatusDeployed {
			return fmt.Errorf("deployment of %s: generation %d, observed %d, status %s", slug, d.Generation, d.ObservedGeneration, d.Status)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// poll runs f until it succeeds or timeout passes, and returns its last error.
func (e *accEnv) poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// checkProjectGone is a CheckDestroy: the agent has no such project any more
// (and so none of its variables, secrets and connections).
func (e *accEnv) checkProjectGone(slug string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		if _, err := e.agent.Client.GetProject(ctx, slug); !api.IsNotFound(err) {
			return fmt.Errorf("project %s still exists after destroy (error %v)", slug, err)
		}
		if _, err := e.agent.Client.ListVariables(ctx, slug); !api.IsNotFound(err) {
			return fmt.Errorf("variables of project %s still readable after destroy (error %v)", slug, err)
		}
		return nil
	}
}

// countStarts counts container start events of slug's app since t0 (as the
// agent's own config test does).
func countStarts(t *testing.T, slug string, since time.Time) int {
	t.Helper()
	out, err := exec.Command("docker", "events", "--since", since.Format(time.RFC3339Nano), "--until", time.Now().Format(time.RFC3339Nano),
		"--filter", "type=container", "--filter", "event=start", "--filter", "label=io.runtimeops.project="+slug, "--format", "{{.ID}}").Output()
	if err != nil {
		t.Fatalf("docker events: %v", err)
	}
	return len(strings.Fields(string(out)))
}

// withLogCapture makes newAccEnv's agent copy its log into the returned
// buffer, to check that no secret value ever shows in it.
func withLogCapture() (func(*agenttest.Options, *agenttest.GitServer), func() string) {
	var mu sync.Mutex
	var b strings.Builder
	opt := func(o *agenttest.Options, _ *agenttest.GitServer) {
		o.LogTo = func(s string) { mu.Lock(); b.WriteString(s); mu.Unlock() }
	}
	return opt, func() string { mu.Lock(); defer mu.Unlock(); return b.String() }
}

// checkStateFiles is a step check: no Terraform state file under dir (the
// TF_ACC_TEMP_DIR of the test) contains any of secrets, raw or JSON-escaped.
func checkStateFiles(dir string, secrets ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		found := 0
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.Contains(d.Name(), ".tfstate") {
				return err
			}
			found++
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, s := range secrets {
				if containsSecret(b, s) {
					return fmt.Errorf("state file %s contains the secret value %q", p, s)
				}
			}
			return nil
		})
		if err == nil && found == 0 {
			err = fmt.Errorf("no state file found under %s", dir)
		}
		return err
	}
}
