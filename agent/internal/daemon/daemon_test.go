package daemon_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// deploy puts a spec and waits for the agent to act on it.
func deploy(t *testing.T, a *agenttest.Agent, slug string, spec api.DeploymentSpec) *api.Deployment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := a.Client.PutDeployment(ctx, slug, spec)
	if err != nil {
		t.Fatal(err)
	}
	d, err = a.Client.WaitDeployment(ctx, slug, d.Generation)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The whole path a user takes through the API: create a project, register
// its deploy key with a real sshd git host, deploy, reach the app through
// the proxy, stop it, detect drift, redeploy a new commit, delete.
func TestDeployLifecycleAgainstRealGitAndDocker(t *testing.T) {
	gs := agenttest.StartGitServer(t)
	repo := gs.NewRepo(t, "life", map[string]string{"src/app.py": "print('v1') # MARKER-ONE\n", "requirements.txt": "streamlit\n"})
	a := agenttest.Start(t, agenttest.Options{KnownHostsFile: gs.KnownHostsFile})
	ctx := context.Background()

	p, err := a.Client.CreateProject(ctx, api.CreateProjectRequest{
		Name: "Life Cycle", AppType: "streamlit", Environment: "python-3.12", GitURL: repo.URL, Path: "/src/app.py",
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Slug != "life-cycle" || p.Branch != "main" || p.Status != api.StatusCreated {
		t.Fatalf("created project = %+v", p)
	}
	if !strings.HasPrefix(p.DeployPublicKey, "ssh-ed25519 ") || !strings.HasPrefix(p.FingerprintSHA256, "SHA256:") {
		t.Fatalf("deploy key = %q %q", p.DeployPublicKey, p.FingerprintSHA256)
	}

	// Key not registered yet: the deploy fails and says so, with the fingerprint.
	d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusFailed || !strings.Contains(d.LastError, p.FingerprintSHA256) {
		t.Fatalf("deploy without key: status %s, error %q", d.Status, d.LastError)
	}

	gs.Authorize(p.DeployPublicKey)
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusDeployed || d.DeployedCommit != repo.Head(t, "main") {
		t.Fatalf("deploy: %+v", d)
	}
	if code, body := a.AppGet(t, p.Slug, "/"); code != 200 || !strings.Contains(body, "MARKER-ONE") {
		t.Fatalf("app answered %d %q", code, body)
	}
	first := d.ContainerID

	// Applying the same spec again does not restart a healthy app.
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.ContainerID != first || d.Status != api.StatusDeployed {
		t.Fatalf("re-apply replaced the container: %s -> %s", first, d.ContainerID)
	}

	// Updating while running is refused.
	newPath := "src/app2.py"
	if _, err := a.Client.UpdateProject(ctx, p.Slug, api.UpdateProjectRequest{Path: &newPath}); !api.IsConflict(err) {
		t.Fatalf("update while running = %v, want conflict", err)
	}
	// Checked first, a path missing from the running commit is refused
	// without touching the app; an existing one passes.
	if err := a.Client.CheckProjectUpdate(ctx, p.Slug, api.UpdateProjectRequest{Path: &newPath}); err == nil || !strings.Contains(err.Error(), `"src/app2.py"`) || !strings.Contains(err.Error(), "left running") {
		t.Fatalf("check of a missing path = %v", err)
	}
	okPath := "/src/app.py"
	if err := a.Client.CheckProjectUpdate(ctx, p.Slug, api.UpdateProjectRequest{Path: &okPath}); err != nil {
		t.Fatalf("check of an existing path = %v", err)
	}

	// Stopped by hand: read as stopped; the next apply starts it again.
	if out, err := exec.Command("docker", "stop", first).CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v %s", err, out)
	}
	got, err := a.Client.GetDeployment(ctx, p.Slug, false)
	if err != nil || got.Status != api.StatusStopped {
		t.Fatalf("after docker stop: %+v %v", got, err)
	}
	// The proxy stops serving it (its IP may go to another container).
	deadline := time.Now().Add(10 * time.Second)
	for code, _ := a.AppGet(t, p.Slug, "/"); code != 503; code, _ = a.AppGet(t, p.Slug, "/") {
		if time.Now().After(deadline) {
			t.Fatalf("proxy still answers %d for a stopped app", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusDeployed {
		t.Fatalf("restore after stop: %+v", d)
	}

	// A new commit: refresh sees the branch head move; deploying picks it up.
	sha := repo.Commit(t, "main", map[string]string{"src/app.py": "print('v2') # MARKER-TWO\n"}, "v2")
	got, err = a.Client.GetDeployment(ctx, p.Slug, true)
	if err != nil || got.BranchHead != sha || got.DeployedCommit == sha {
		t.Fatalf("refresh after push: head %q deployed %q (want head %q) %v", got.BranchHead, got.DeployedCommit, sha, err)
	}
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.DeployedCommit != sha {
		t.Fatalf("deployed %s, want %s", d.DeployedCommit, sha)
	}
	if _, body := a.AppGet(t, p.Slug, "/"); !strings.Contains(body, "MARKER-TWO") {
		t.Fatalf("app after pull = %q", body)
	}

	// Stop through the API, then update the path (allowed now), then start.
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateStopped})
	if d.Status != api.StatusStopped {
		t.Fatalf("stop: %+v", d)
	}
	if code, _ := a.AppGet(t, p.Slug, "/"); code != 503 {
		t.Fatalf("stopped app answered %d", code)
	}
	if _, err := a.Client.UpdateProject(ctx, p.Slug, api.UpdateProjectRequest{Path: &newPath}); err != nil {
		t.Fatal(err)
	}
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusFailed || !strings.Contains(d.LastError, `"src/app2.py"`) || !strings.Contains(d.LastError, `"main"`) || !strings.Contains(d.LastError, sha[:12]) {
		t.Fatalf("missing entrypoint: %+v", d)
	}

	if err := a.Client.DeleteProject(ctx, p.Slug); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client.GetProject(ctx, p.Slug); !api.IsNotFound(err) {
		t.Fatalf("get after delete = %v", err)
	}
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=io.runtimeops.project=life-cycle").Output()
	if strings.TrimSpace(string(out)) != "" {
		t.Fatalf("containers left after delete: %s", out)
	}
}

func TestAPIRejectsBadInputAndTokens(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{})
	ctx := context.Background()
	_, err := a.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "x", Slug: "Sales_Dashboard!", AppType: "streamlit", Environment: "python-3.12", GitURL: "git@h:o/r.git", Path: "a.py"})
	if err == nil || !strings.Contains(err.Error(), "slug") {
		t.Fatalf("bad slug = %v", err)
	}
	_, err = a.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "x", AppType: "streamlit", Environment: "python-9", GitURL: "git@h:o/r.git", Path: "a.py"})
	if err == nil || !strings.Contains(err.Error(), "environment") {
		t.Fatalf("unknown environment = %v", err)
	}
	bad, _ := api.NewClient(api.ClientConfig{Endpoint: a.Endpoint, Token: "wrong", RetryMax: 1})
	if _, err := bad.ListProjects(ctx); err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("wrong token = %v", err)
	}
	if _, err := a.Client.GetProject(ctx, "nope"); !api.IsNotFound(err) {
		t.Fatalf("missing project = %v", err)
	}
}
