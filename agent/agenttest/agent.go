// Package agenttest starts real runtime-agent instances and their real
// neighbours (an OpenSSH git host, a stand-in Python image) for tests of the
// agent and the provider. Nothing here is a mock: the agent runs its real HTTP
// server, bbolt store, go-git client and Docker runtime.
package agenttest

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// Options configures an agent started by Start.
type Options struct {
	// Environments maps environment names to base images. Default:
	// {"python-3.12": StandinImage}.
	Environments map[string]string
	// KnownHostsFile is the agent's known_hosts (e.g. GitServer.KnownHostsFile).
	KnownHostsFile  string
	TrustOnFirstUse bool
	AllowLocalRepos bool
	// DataDir reuses a data directory (to test restarts); default a temp dir.
	DataDir string
	// Token is the API token; default a random one. Give the same token to
	// an agent restarted on the same data directory.
	Token string
	// LogTo, when set, also receives every log line (to assert on logs).
	LogTo func(string)
}

// Agent is a running agent.
type Agent struct {
	Endpoint   string // http://127.0.0.1:<port>
	Token      string
	AppsAddr   string // 127.0.0.1:<port> of the app reverse proxy
	AppsDomain string
	DataDir    string
	Client     *api.Client
	stop       func()
}

// Start starts an agent in-process and stops it when the test ends.
func Start(t testing.TB, opts Options) *Agent {
	t.Helper()
	return start(t, opts)
}

// Stop stops the agent early (its containers keep running, as after a crash).
func (a *Agent) Stop() { a.stop() }

// AppGet fetches path from slug's app through the agent's proxy and returns
// the status code and body.
func (a *Agent) AppGet(t testing.TB, slug, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+a.AppsAddr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = slug + "." + a.AppsDomain
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s through the proxy: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
