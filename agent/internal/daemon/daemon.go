// Package daemon wires the agent's parts together and runs them: the API
// server, the app proxy, the reconciler, the store. cmd/runtime-agent and
// in-process tests both start the agent through here.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/runtimeops/terraform-provider-runtime/agent/internal/config"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/gitsync"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/proxy"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/reconcile"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/runtime"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/seal"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/server"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// Daemon is a running agent.
type Daemon struct {
	APIAddr  string // bound address of the API
	AppsAddr string // bound address of the app proxy

	log    hclog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start opens the store, connects to Docker, binds both listeners and starts
// serving. It returns once the agent accepts requests.
func Start(ctx context.Context, cfg *config.Config, log hclog.Logger, version string) (*Daemon, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	sealer, err := seal.LoadOrCreate(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, "state.db"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cleanup := func() { cancel(); st.Close() }
	rt, err := runtime.New(ctx, log.Named("docker"), runtime.Options{Network: cfg.DockerNetwork})
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("connecting to Docker: %w", err)
	}
	healthTimeout, _ := cfg.HealthTimeoutDuration()
	startPeriods, _ := cfg.StartPeriodDurations()
	git := gitsync.New(gitsync.Config{KnownHostsFile: cfg.KnownHosts, TrustOnFirstUse: cfg.TrustOnFirstUse, AllowLocal: cfg.AllowLocalRepos}, log.Named("git"))

	apiLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("API listen address: %w", err)
	}
	appsLn, err := net.Listen("tcp", cfg.AppsListen)
	if err != nil {
		apiLn.Close()
		cleanup()
		return nil, fmt.Errorf("apps listen address: %w", err)
	}
	appsPort := appsLn.Addr().(*net.TCPAddr).Port
	px := proxy.New(cfg.AppsDomain, func(ctx context.Context, id string) (string, bool) {
		c, err := rt.Inspect(ctx, id)
		if err != nil {
			return "", false
		}
		return c.IP, c.Running
	}, log.Named("proxy"))
	agentID, err := loadOrCreateID(filepath.Join(cfg.DataDir, "agent-id"))
	if err != nil {
		apiLn.Close()
		appsLn.Close()
		cleanup()
		return nil, err
	}
	rec := reconcile.New(reconcile.Config{
		AgentID: agentID, DataDir: cfg.DataDir, Environments: cfg.Environments, HealthTimeout: healthTimeout,
		Workers: cfg.Workers, AppsDomain: cfg.AppsDomain, AppsPort: appsPort,
		StartPeriods: startPeriods, BuildMemoryMB: cfg.BuildMemoryMB,
	}, st, sealer, git, rt, px, log.Named("reconcile"))
	srv := &server.Server{
		Token: cfg.Token, Version: version, Environments: cfg.Environments,
		Store: st, Sealer: sealer, Reconciler: rec, Log: log.Named("api"), Metrics: server.NewMetrics(),
	}
	apiSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
	// No read/write timeouts on the app proxy: Streamlit keeps a websocket
	// open for the whole session.
	appsSrv := &http.Server{Handler: px, ReadHeaderTimeout: 30 * time.Second}

	d := &Daemon{APIAddr: apiLn.Addr().String(), AppsAddr: appsLn.Addr().String(), log: log, cancel: cancel, done: make(chan struct{})}
	errc := make(chan error, 3)
	go func() { errc <- rec.Run(ctx) }()
	go func() {
		var err error
		if cfg.TLSCert != "" {
			apiSrv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			err = apiSrv.ServeTLS(apiLn, cfg.TLSCert, cfg.TLSKey)
		} else {
			err = apiSrv.Serve(apiLn)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	go func() {
		if err := appsSrv.Serve(appsLn); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	go func() {
		defer close(d.done)
		select {
		case <-ctx.Done():
		case err := <-errc:
			d.err = err
			cancel()
		}
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		apiSrv.Shutdown(sctx)
		appsSrv.Shutdown(sctx)
		rt.Close()
		st.Close()
		log.Info("stopped")
	}()
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	log.Info("runtime-agent started", "version", version, "api", scheme+"://"+d.APIAddr, "apps", d.AppsAddr, "apps_domain", cfg.AppsDomain, "data_dir", cfg.DataDir)
	if cfg.Token == "" {
		log.Warn("running without an API token (--insecure-dev): anyone who can reach the API controls this host's apps")
	}
	return d, nil
}

// Stop shuts the agent down (apps keep running) and waits.
func (d *Daemon) Stop() error {
	d.cancel()
	<-d.done
	return d.err
}

// Wait blocks until the agent stops by itself or ctx is cancelled.
func (d *Daemon) Wait() error {
	<-d.done
	return d.err
}

// loadOrCreateID returns this data directory's agent id, creating it once.
func loadOrCreateID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) > 0 {
		return string(b), nil
	}
	id := reconcile.NewUID()
	if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("writing agent id: %w", err)
	}
	return id, nil
}
