package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

const trickyValue = "p@ss:w/rd%#? $HOME \"q\" ünï\nline2"

// countStarts counts container start events for slug since t0.
func countStarts(t *testing.T, slug string, since time.Time) int {
	out, err := exec.Command("docker", "events", "--since", since.Format(time.RFC3339Nano), "--until", time.Now().Format(time.RFC3339Nano),
		"--filter", "type=container", "--filter", "event=start", "--filter", "label=io.runtimeops.project="+slug, "--format", "{{.ID}}").Output()
	if err != nil {
		t.Fatalf("docker events: %v", err)
	}
	return len(strings.Fields(string(out)))
}

func standinInfo(t *testing.T, a *agenttest.Agent, slug string) map[string]any {
	code, body := a.AppGet(t, slug, "/_standin/info")
	if code != 200 {
		t.Fatalf("info: %d %s", code, body)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// Variables, secrets and connections arrive in the app byte for byte; a
// burst of changes restarts a running app once; secret values never come
// back out of the agent, in responses or logs.
func TestConfigReachesAppIntactAndRestartsOnce(t *testing.T) {
	gs := agenttest.StartGitServer(t)
	repo := gs.NewRepo(t, "cfg", map[string]string{"app.py": "# CFG\n"})
	var logs bytes.Buffer
	var logMu sync.Mutex
	a := agenttest.Start(t, agenttest.Options{KnownHostsFile: gs.KnownHostsFile, LogTo: func(s string) { logMu.Lock(); logs.WriteString(s); logMu.Unlock() }})
	ctx := context.Background()
	p, err := a.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "cfg", AppType: "streamlit", Environment: "python-3.12", GitURL: repo.URL, Path: "app.py"})
	if err != nil {
		t.Fatal(err)
	}
	gs.Authorize(p.DeployPublicKey)
	var responses bytes.Buffer
	record := func(v any) { b, _ := json.Marshal(v); responses.Write(b) }

	if _, err := a.Client.SetVariable(ctx, p.Slug, "REGION", trickyValue); err != nil {
		t.Fatal(err)
	}
	s, err := a.Client.SetSecret(ctx, p.Slug, "API_KEY", api.SetSecretRequest{Value: trickyValue + "-secret"})
	if err != nil {
		t.Fatal(err)
	}
	record(s)
	c, err := a.Client.SetConnection(ctx, p.Slug, "warehouse", api.SetConnectionRequest{
		Type: "postgres", Host: "db.internal", Port: 5432, Login: "analyst", Password: trickyValue + "-pw", Schema: "sales",
	})
	if err != nil {
		t.Fatal(err)
	}
	record(c)
	if s.Version != 1 || !c.HasPassword || c.PasswordVersion != 1 {
		t.Fatalf("secret %+v connection %+v", s, c)
	}
	d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusDeployed {
		t.Fatalf("deploy: %+v", d)
	}
	env := standinInfo(t, a, p.Slug)["env"].(map[string]any)
	if env["REGION"] != trickyValue || env["API_KEY"] != trickyValue+"-secret" || env["WAREHOUSE_PASSWORD"] != trickyValue+"-pw" || env["WAREHOUSE_PORT"] != "5432" {
		t.Fatalf("env in the app: %v", env)
	}
	u, err := url.Parse(env["WAREHOUSE_URL"].(string))
	if pw, _ := u.User.Password(); err != nil || pw != trickyValue+"-pw" || u.Hostname() != "db.internal" {
		t.Fatalf("WAREHOUSE_URL %q decodes to %q (%v)", env["WAREHOUSE_URL"], pw, err)
	}
	code, toml := a.AppGet(t, p.Slug, "/_standin/file?path=/root/.streamlit/secrets.toml")
	if code != 200 || !strings.Contains(toml, "[connections.warehouse]") || !strings.Contains(toml, `dialect = "postgresql"`) {
		t.Fatalf("secrets.toml: %d %s", code, toml)
	}

	// Writing the same secret again changes nothing: same version, no restart.
	s2, err := a.Client.SetSecret(ctx, p.Slug, "API_KEY", api.SetSecretRequest{Value: trickyValue + "-secret"})
	if err != nil || s2.Version != 1 {
		t.Fatalf("unchanged secret: %+v %v", s2, err)
	}

	// 20 variables changed at once, in parallel as terraform does: one restart.
	t0 := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := a.Client.SetVariable(ctx, p.Slug, fmt.Sprintf("V%02d", i), fmt.Sprint(i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := a.Client.GetDeployment(ctx, p.Slug, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = a.Client.WaitDeployment(ctx, p.Slug, got.Generation); err != nil || got.Status != api.StatusDeployed {
		t.Fatalf("after config change: %+v %v", got, err)
	}
	time.Sleep(time.Second)
	if n := countStarts(t, p.Slug, t0); n != 1 {
		t.Fatalf("app started %d times for one burst of changes, want 1", n)
	}
	if env := standinInfo(t, a, p.Slug)["env"].(map[string]any); env["V19"] != "19" || env["REGION"] != trickyValue {
		t.Fatalf("env after change: %v", env)
	}
	if got.DeployedCommit != d.DeployedCommit {
		t.Fatalf("a configuration change moved the commit: %s -> %s", d.DeployedCommit, got.DeployedCommit)
	}

	// A stopped app stays stopped when its configuration changes.
	deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateStopped})
	t1 := time.Now()
	a.Client.SetVariable(ctx, p.Slug, "REGION", "us")
	time.Sleep(3 * time.Second)
	if n := countStarts(t, p.Slug, t1); n != 0 {
		t.Fatalf("stopped app was started %d times by a config change", n)
	}

	// Nothing returns or logs a secret value.
	for _, f := range []func() (any, error){
		func() (any, error) { return a.Client.ListSecrets(ctx, p.Slug) },
		func() (any, error) { return a.Client.ListConnections(ctx, p.Slug) },
		func() (any, error) { return a.Client.GetProject(ctx, p.Slug) },
		func() (any, error) { return a.Client.GetDeployment(ctx, p.Slug, true) },
	} {
		v, err := f()
		if err != nil {
			t.Fatal(err)
		}
		record(v)
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, secret := range []string{trickyValue + "-secret", trickyValue + "-pw", "ünï"} {
		if strings.Contains(responses.String(), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("secret %q leaked into responses or logs", secret)
		}
	}
	// Nor is it stored in clear.
	db, _ := os.ReadFile(filepath.Join(a.DataDir, "state.db"))
	if bytes.Contains(db, []byte("-secret")) || bytes.Contains(db, []byte("-pw")) {
		t.Error("secret value stored in clear in state.db")
	}
}
