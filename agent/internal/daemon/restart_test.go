package daemon_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startBinary runs the real runtime-agent binary, as systemd would.
func startBinary(t *testing.T, bin, dataDir, cfgFile, listen, apps string) *exec.Cmd {
	cmd := exec.Command(bin, "serve", "--config", cfgFile, "--listen", listen, "--apps-listen", apps, "--data-dir", dataDir)
	cmd.Env = append(os.Environ(), "RUNTIME_AGENT_TOKEN=restart-token")
	logf, _ := os.OpenFile(filepath.Join(dataDir, "..", "agent.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c, _ := api.NewClient(api.ClientConfig{Endpoint: "http://" + listen, Token: "restart-token", RetryMax: 1})
	for i := 0; i < 100; i++ {
		if _, err := c.Health(context.Background()); err == nil {
			return cmd
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(dataDir, "..", "agent.log"))
	t.Fatalf("agent did not start:\n%s", b)
	return nil
}

func containerStartedAt(t *testing.T, id string) string {
	out, err := exec.Command("docker", "inspect", "-f", "{{.State.StartedAt}} {{.State.Running}}", id).Output()
	if err != nil {
		t.Fatalf("docker inspect %s: %v", id, err)
	}
	return strings.TrimSpace(string(out))
}

// kill -9 of the agent while apps run: the apps keep running, and the
// restarted agent adopts them (same container, not restarted) and serves
// them through its proxy again.
func TestAgentKill9AdoptsRunningApps(t *testing.T) {
	agenttest.EnsureStandinImage(t)
	gs := agenttest.StartGitServer(t)
	repo := gs.NewRepo(t, "k9", map[string]string{"app.py": "# KILL9-MARKER\n"})
	bin := filepath.Join(t.TempDir(), "runtime-agent")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/runtime-agent").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	work := t.TempDir()
	dataDir := filepath.Join(work, "data")
	cfgFile := filepath.Join(work, "agent.hcl")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf("known_hosts = %q\nenvironments = { \"python-3.12\" = %q }\n", gs.KnownHostsFile, agenttest.StandinImage)), 0o600)
	listen, apps := freeAddr(t), freeAddr(t)

	cmd := startBinary(t, bin, dataDir, cfgFile, listen, apps)
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c, _ := api.NewClient(api.ClientConfig{Endpoint: "http://" + listen, Token: "restart-token"})
	ctx := context.Background()
	p, err := c.CreateProject(ctx, api.CreateProjectRequest{Name: "kill nine", AppType: "streamlit", Environment: "python-3.12", GitURL: repo.URL, Path: "app.py"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("sh", "-c", "docker rm -f $(docker ps -aq --filter label=io.runtimeops.project="+p.Slug+")").Run()
	})
	gs.Authorize(p.DeployPublicKey)
	d, err := c.PutDeployment(ctx, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if err != nil {
		t.Fatal(err)
	}
	if d, err = c.WaitDeployment(ctx, p.Slug, d.Generation); err != nil || d.Status != api.StatusDeployed {
		t.Fatalf("deploy: %+v %v", d, err)
	}
	before := containerStartedAt(t, d.ContainerID)

	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if got := containerStartedAt(t, d.ContainerID); got != before || !strings.HasSuffix(got, "true") {
		t.Fatalf("app container changed when the agent died: %q -> %q", before, got)
	}

	cmd = startBinary(t, bin, dataDir, cfgFile, listen, apps)
	after, err := c.GetDeployment(ctx, p.Slug, false)
	if err != nil || after.Status != api.StatusDeployed || after.ContainerID != d.ContainerID {
		t.Fatalf("after restart: %+v %v", after, err)
	}
	if got := containerStartedAt(t, d.ContainerID); got != before {
		t.Fatalf("adoption restarted the app: %q -> %q", before, got)
	}
	a := &agenttest.Agent{AppsAddr: apps, AppsDomain: "localhost"}
	if code, body := a.AppGet(t, p.Slug, "/"); code != 200 || !strings.Contains(body, "KILL9-MARKER") {
		t.Fatalf("app through the restarted proxy: %d %q", code, body)
	}
}
