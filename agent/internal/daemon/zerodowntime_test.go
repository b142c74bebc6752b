package daemon_test

import (
	"context"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// A stateless app is replaced without downtime: a client polling its URL
// through the proxy during a redeploy sees no failed request, and the new
// container ends up under the stable name. A new version that never gets
// healthy leaves the old one serving.
func TestRedeployWithoutDowntime(t *testing.T) {
	gs := agenttest.StartGitServer(t)
	repo := gs.NewRepo(t, "zd", map[string]string{"app.py": "# ZD-ONE\n"})
	a := agenttest.Start(t, agenttest.Options{KnownHostsFile: gs.KnownHostsFile})
	ctx := context.Background()
	p, err := a.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "zero downtime", AppType: "streamlit", Environment: "python-3.12", GitURL: repo.URL, Path: "app.py"})
	if err != nil {
		t.Fatal(err)
	}
	gs.Authorize(p.DeployPublicKey)
	first := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if first.Status != api.StatusDeployed {
		t.Fatalf("deploy: %+v", first)
	}

	var failures, total atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 5 * time.Second}
		for i := 0; i < 2000; i++ { // bounded: stops by itself
			select {
			case <-stop:
				return
			default:
			}
			req, _ := http.NewRequest("GET", "http://"+a.AppsAddr+"/_stcore/health", nil)
			req.Host = p.Slug + "." + a.AppsDomain
			resp, err := client.Do(req)
			total.Add(1)
			if err != nil || resp.StatusCode != 200 {
				failures.Add(1)
			}
			if resp != nil {
				resp.Body.Close()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	sha := repo.Commit(t, "main", map[string]string{"app.py": "# ZD-TWO\n"}, "two")
	second := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning, Commit: sha})
	close(stop)
	wg.Wait()
	if second.Status != api.StatusDeployed || second.ContainerID == first.ContainerID {
		t.Fatalf("redeploy: %+v", second)
	}
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the redeploy", failures.Load(), total.Load())
	}
	if _, body := a.AppGet(t, p.Slug, "/"); !strings.Contains(body, "ZD-TWO") {
		t.Fatalf("new version not served: %q", body)
	}
	name, _ := exec.Command("docker", "inspect", "-f", "{{.Name}}", second.ContainerID).Output()
	if strings.TrimSpace(string(name)) != "/runtime-"+p.Slug {
		t.Fatalf("new container is named %q", name)
	}

	// A broken new version: the old one keeps serving, the deploy reports failure.
	bad := repo.Commit(t, "main", map[string]string{"app.py": "# STANDIN_CRASH\n"}, "broken")
	d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning, Commit: bad})
	if d.Status != api.StatusFailed || !strings.Contains(d.LastError, "keeps serving") || !strings.Contains(d.LastError, "crashing as asked") {
		t.Fatalf("broken version: %+v", d)
	}
	// What runs is reported truthfully: the previous commit, serving.
	if d, _ = a.Client.GetDeployment(context.Background(), p.Slug, false); !d.Serving || d.DeployedCommit != sha {
		t.Fatalf("after the failed deploy: serving %v, deployed %s (want %s)", d.Serving, d.DeployedCommit, sha)
	}
	if code, body := a.AppGet(t, p.Slug, "/"); code != 200 || !strings.Contains(body, "ZD-TWO") {
		t.Fatalf("old version stopped serving: %d %q", code, body)
	}
}
