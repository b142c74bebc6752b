package daemon_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/reconcile"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/seal"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// rotate-key re-encrypts every sealed value with a new key file: it refuses
// to run next to a live agent, the old key opens nothing afterwards, and the
// restarted agent deploys with the same secrets and deploy key.
func TestRotateKey(t *testing.T) {
	gs := agenttest.StartGitServer(t)
	repo := gs.NewRepo(t, "rot", map[string]string{"app.py": "# ROTATE\n"})
	dataDir := t.TempDir()
	t.Cleanup(func() {
		exec.Command("sh", "-c", "docker rm -f $(docker ps -aq --filter label=io.runtimeops.project=rotate-key)").Run()
	})
	opts := agenttest.Options{KnownHostsFile: gs.KnownHostsFile, DataDir: dataDir, Token: "rotate-token"}
	a := agenttest.Start(t, opts)
	ctx := context.Background()
	p, err := a.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "rotate key", AppType: "streamlit", Environment: "python-3.12", GitURL: repo.URL, Path: "app.py"})
	if err != nil {
		t.Fatal(err)
	}
	gs.Authorize(p.DeployPublicKey)
	if _, err := a.Client.SetSecret(ctx, p.Slug, "API_KEY", api.SetSecretRequest{Value: "before-rotation"}); err != nil {
		t.Fatal(err)
	}
	if d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning}); d.Status != api.StatusDeployed {
		t.Fatalf("deploy: %+v", d)
	}

	bin := filepath.Join(t.TempDir(), "runtime-agent")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/runtime-agent").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "rotate-key", "--data-dir", dataDir).CombinedOutput(); err == nil || !strings.Contains(string(out), "stop the agent") {
		t.Fatalf("rotate-key next to a running agent: %v %s", err, out)
	}
	a.Stop()
	keyFile := filepath.Join(dataDir, "secret.key")
	oldKey, _ := os.ReadFile(keyFile)
	out, err := exec.Command(bin, "rotate-key", "--data-dir", dataDir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 project(s) re-encrypted") {
		t.Fatalf("rotate-key: %v %s", err, out)
	}
	newKey, _ := os.ReadFile(keyFile)
	if bytes.Equal(oldKey, newKey) || len(newKey) != 32 {
		t.Fatal("the key file did not change")
	}
	if _, err := os.Stat(keyFile + ".new"); err == nil {
		t.Fatal("rotation left the .new key behind")
	}
	st, err := store.Open(filepath.Join(dataDir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := st.Get(p.Slug)
	st.Close()
	old, _ := seal.New(oldKey)
	if _, err := old.Open(rec.Secrets["API_KEY"].Sealed, reconcile.SecretContext(rec.UID, "API_KEY")); err == nil {
		t.Fatal("the old key still opens the secret")
	}
	if _, err := old.Open(rec.PrivateKeySealed, reconcile.KeyContext(rec.UID)); err == nil {
		t.Fatal("the old key still opens the deploy key")
	}

	// The agent starts with the new key; a redeploy fetches with the same
	// deploy key and hands the app the same secret.
	a = agenttest.Start(t, opts)
	sha := repo.Commit(t, "main", map[string]string{"app.py": "# ROTATED\n"}, "after rotation")
	d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusDeployed || d.DeployedCommit != sha {
		t.Fatalf("deploy after rotation: %+v", d)
	}
	if env := standinInfo(t, a, p.Slug)["env"].(map[string]any); env["API_KEY"] != "before-rotation" {
		t.Fatalf("secret after rotation: %v", env["API_KEY"])
	}
}
