package agenttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/config"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/daemon"
)

// testLogWriter sends agent logs to t.Log, so they show with a failing test.
type testLogWriter struct {
	t  testing.TB
	to func(string)
}

func (w testLogWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b))
	if w.to != nil {
		w.to(string(b))
	}
	return len(b), nil
}

func start(t testing.TB, opts Options) *Agent {
	cfg := config.Defaults()
	cfg.Listen = "127.0.0.1:0"
	cfg.AppsListen = "127.0.0.1:0"
	cfg.DataDir = opts.DataDir
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	cfg.KnownHosts = opts.KnownHostsFile
	if cfg.KnownHosts == "" {
		cfg.KnownHosts = cfg.DataDir + "/known_hosts"
	}
	cfg.KeyFile = cfg.DataDir + "/secret.key"
	cfg.TrustOnFirstUse = opts.TrustOnFirstUse
	cfg.AllowLocalRepos = opts.AllowLocalRepos
	cfg.HealthTimeout = "60s"
	// The stand-ins start in well under a second; short start periods keep
	// tests of failing health checks quick (the product's defaults are
	// minutes for Airflow and Open WebUI).
	cfg.StartPeriods = map[string]string{"streamlit": "5s", "dash": "5s", "airflow": "5s", "openwebui": "5s", "web": "5s"}
	cfg.Environments = opts.Environments
	if cfg.Environments == nil {
		EnsureStandinImage(t)
		cfg.Environments = map[string]string{"python-3.12": StandinImage}
	}
	cfg.Token = opts.Token
	if cfg.Token == "" {
		b := make([]byte, 16)
		rand.Read(b)
		cfg.Token = hex.EncodeToString(b)
	}
	level := hclog.Trace // tests see (and assert on) everything the agent says
	log := hclog.New(&hclog.LoggerOptions{Name: "agent", Level: level, Output: testLogWriter{t, opts.LogTo}})
	d, err := daemon.Start(context.Background(), &cfg, log, "test")
	if err != nil {
		t.Fatalf("starting runtime-agent: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			d.Stop()
		}
	}
	t.Cleanup(stop)
	// Apps outlive their agent by design; a test's apps must not outlive
	// the test (they would hold names and addresses other tests need). A
	// test that restarts the agent on the same data directory keeps them
	// until its own end.
	if opts.DataDir == "" {
		t.Cleanup(func() { removeAgentContainers(cfg.DataDir) })
	}
	endpoint := "http://" + d.APIAddr
	c, err := api.NewClient(api.ClientConfig{Endpoint: endpoint, Token: cfg.Token, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &Agent{Endpoint: endpoint, Token: cfg.Token, AppsAddr: d.AppsAddr, AppsDomain: cfg.AppsDomain,
		DataDir: cfg.DataDir, Client: c, stop: stop}
}

func removeAgentContainers(dataDir string) {
	id, err := os.ReadFile(filepath.Join(dataDir, "agent-id"))
	if err != nil || len(id) == 0 {
		return
	}
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=io.runtimeops.agent="+string(id)).Output()
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
	}
}
