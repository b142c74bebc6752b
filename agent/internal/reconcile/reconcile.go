// Package reconcile makes the host match the desired state in the store.
// API handlers only record intent (a new generation) and enqueue the
// project's slug; workers here fetch code, build environment images and
// start or stop containers, then record what they observed together with the
// generation they acted on. Clients wait for that generation.
package reconcile

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/proxy"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/render"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/runtime"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/seal"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// Labels on every container the agent creates. Labels, not names, are how
// the agent finds its containers again after a restart.
const (
	// LabelAgent holds the id of the agent (one per data directory) that owns
	// the container, so agents sharing a Docker engine never touch each
	// other's containers.
	LabelAgent      = runtime.LabelOwner
	LabelProject    = "io.runtimeops.project"
	LabelProjectUID = "io.runtimeops.project-uid"
	LabelGeneration = "io.runtimeops.generation"
	LabelCommit     = "io.runtimeops.commit"
	LabelConfigHash = "io.runtimeops.config-hash"
	LabelAppType    = "io.runtimeops.app-type"
	LabelPort       = "io.runtimeops.port"
)

// logTail is how many log lines a failure message carries.
const logTail = 30

// Git is what the reconciler needs from package gitsync.
type Git interface {
	Sync(ctx context.Context, dir, url, branch string, privateKey []byte) (string, error)
	Resolve(dir, rev string) (string, error)
	Export(dir, commit, dest string) error
	HasFile(dir, commit, path string) (bool, error)
	HasDir(dir, commit, path string) (bool, error)
	ReadFile(dir, commit, path string) ([]byte, error)
	RemoteHead(ctx context.Context, url, branch string, privateKey []byte) (string, error)
}

// Runtime is what the reconciler needs from package runtime.
type Runtime interface {
	EnsureEnvImage(ctx context.Context, base string, files map[string][]byte) (string, bool, error)
	BuildDockerfile(ctx context.Context, contextDir, dockerfile, tag string, limits runtime.BuildLimits) (*runtime.AppImage, bool, error)
	RemoveRepository(ctx context.Context, repo string) error
	Create(ctx context.Context, spec runtime.ContainerSpec) (string, error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Remove(ctx context.Context, id string) error
	Rename(ctx context.Context, id, name string) error
	Inspect(ctx context.Context, id string) (*runtime.Container, error)
	List(ctx context.Context, labels map[string]string) ([]runtime.Container, error)
	Logs(ctx context.Context, id string, tail int) ([]string, error)
	FollowLogs(ctx context.Context, id string, tail int, w io.Writer) error
}

// Config holds the reconciler's settings.
type Config struct {
	AgentID       string
	DataDir       string
	Environments  map[string]string
	HealthTimeout time.Duration
	// DrainPeriod is how long an old container keeps running after traffic
	// moved to its replacement, so requests in flight finish.
	DrainPeriod time.Duration
	// StartPeriods override the templates' start periods per app type.
	StartPeriods map[string]time.Duration
	// BuildMemoryMB limits image builds; 0 is unlimited.
	BuildMemoryMB int64
	// QuietPeriod is how long configuration must stay unchanged before a
	// running app is restarted to pick it up, so one apply restarts it once.
	QuietPeriod time.Duration
	Workers     int
	AppsDomain  string
	AppsPort    int
}

// Reconciler acts on desired state.
type Reconciler struct {
	cfg    Config
	store  *store.Store
	sealer *seal.Sealer
	git    Git
	rt     Runtime
	proxy  *proxy.Proxy
	log    hclog.Logger
	q      *queue

	timersMu sync.Mutex
	timers   map[string]*time.Timer

	// buildMu serialises environment image builds: two pip installs at once
	// on a small host starve the running apps.
	buildMu sync.Mutex
}

// New builds a reconciler.
func New(cfg Config, st *store.Store, sealer *seal.Sealer, git Git, rt Runtime, px *proxy.Proxy, log hclog.Logger) *Reconciler {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = 2 * time.Minute
	}
	if cfg.DrainPeriod <= 0 {
		cfg.DrainPeriod = 2 * time.Second
	}
	if cfg.QuietPeriod <= 0 {
		cfg.QuietPeriod = 2 * time.Second
	}
	return &Reconciler{cfg: cfg, store: st, sealer: sealer, git: git, rt: rt, proxy: px, log: log, q: newQueue(), timers: map[string]*time.Timer{}}
}

// Enqueue asks for slug to be reconciled now.
func (r *Reconciler) Enqueue(slug string) { r.q.add(slug) }

// ConfigChanged asks for slug to be reconciled once its configuration has
// been quiet for the quiet period: the writes of one apply arrive in a
// burst, and the app restarts once after the last of them.
func (r *Reconciler) ConfigChanged(slug string) {
	r.timersMu.Lock()
	defer r.timersMu.Unlock()
	if t, ok := r.timers[slug]; ok {
		t.Reset(r.cfg.QuietPeriod)
		return
	}
	r.timers[slug] = time.AfterFunc(r.cfg.QuietPeriod, func() {
		r.timersMu.Lock()
		delete(r.timers, slug)
		r.timersMu.Unlock()
		r.Enqueue(slug)
	})
}

// KeyContext is the sealing context of a project's private deploy key.
func KeyContext(uid string) string { return "project/" + uid + "/deploy-key" }

// SecretContext is the sealing context of a secret's value.
func SecretContext(uid, key string) string { return "project/" + uid + "/secret/" + key }

// PasswordContext is the sealing context of a connection's password.
func PasswordContext(uid, name string) string {
	return "project/" + uid + "/connection/" + name + "/password"
}

// NewUID returns a fresh project incarnation id.
func NewUID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// AppURL is where the proxy serves slug.
func (r *Reconciler) AppURL(slug string) string {
	u := "http://" + slug + "." + r.cfg.AppsDomain
	if r.cfg.AppsPort != 80 {
		u += ":" + strconv.Itoa(r.cfg.AppsPort)
	}
	return u + "/"
}

// URLFor is where the project's app is served: under its path prefix on
// the apps domain when it has one, else at its own host name.
func (r *Reconciler) URLFor(p *store.Project) string {
	if p.Desired == nil || p.Desired.PathPrefix == "" {
		return r.AppURL(p.Slug)
	}
	u := "http://" + r.cfg.AppsDomain
	if r.cfg.AppsPort != 80 {
		u += ":" + strconv.Itoa(r.cfg.AppsPort)
	}
	return u + p.Desired.PathPrefix
}

func (r *Reconciler) projectDir(uid string) string {
	return filepath.Join(r.cfg.DataDir, "projects", uid)
}

// Run adopts what is already on the host, then works the queue until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	if err := r.adopt(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for i := 0; i < r.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				slug, ok := r.q.get()
				if !ok {
					return
				}
				r.reconcile(ctx, slug)
				r.q.done(slug)
			}
		}()
	}
	<-ctx.Done()
	r.q.close()
	wg.Wait()
	return nil
}

// adopt runs once at start: containers found by label that match the
// desired state are taken over as they are (a healthy app is not
// restarted); containers of projects that no longer exist are removed;
// unfinished work is queued again.
func (r *Reconciler) adopt(ctx context.Context) error {
	projects, err := r.store.List()
	if err != nil {
		return err
	}
	containers, err := r.rt.List(ctx, map[string]string{LabelAgent: r.cfg.AgentID})
	if err != nil {
		return fmt.Errorf("listing containers: %w", err)
	}
	byUID := map[string][]runtime.Container{}
	for _, c := range containers {
		byUID[c.Labels[LabelProjectUID]] = append(byUID[c.Labels[LabelProjectUID]], c)
	}
	known := map[string]bool{}
	for _, p := range projects {
		known[p.UID] = true
		if p.Observed.Generation < p.Generation {
			r.log.Info("resuming unfinished work", "project", p.Slug, "generation", p.Generation)
			r.Enqueue(p.Slug)
			continue
		}
		if p.Desired == nil || p.Desired.State != api.StateRunning || p.Observed.Status != api.StatusDeployed {
			for _, c := range byUID[p.UID] {
				if c.Running {
					r.Enqueue(p.Slug) // should not be running: let the worker stop it
				}
			}
			continue
		}
		for _, c := range byUID[p.UID] {
			if c.ID == p.Observed.ContainerID && c.Running {
				r.setRoute(p, &c)
				r.log.Info("adopted running app", "project", p.Slug, "container", shortID(c.ID))
			}
		}
	}
	for uid, cs := range byUID {
		if known[uid] {
			continue
		}
		for _, c := range cs {
			r.log.Info("removing container of a deleted project", "container", c.Name)
			if err := r.rt.Remove(ctx, c.ID); err != nil {
				r.log.Warn("could not remove orphan container", "container", c.Name, "error", err)
			}
		}
	}
	return nil
}

func (r *Reconciler) setRoute(p *store.Project, c *runtime.Container) {
	port := c.Labels[LabelPort]
	if port == "" {
		return
	}
	prefix := ""
	if p.Desired != nil {
		prefix = p.Desired.PathPrefix
	}
	r.proxy.Set(p.Slug, proxy.Route{UID: p.UID, ContainerID: c.ID, Port: port, Prefix: prefix})
}

var errStale = errors.New("project was deleted or replaced while being worked on")

// reconcile acts on the newest generation of one project.
func (r *Reconciler) reconcile(ctx context.Context, slug string) {
	p, err := r.store.Get(slug)
	if errors.Is(err, store.ErrNotFound) {
		return
	}
	if err != nil {
		r.log.Error("reading project", "project", slug, "error", err)
		return
	}
	if p.Observed.Generation >= p.Generation {
		return
	}
	log := r.log.With("project", slug, "generation", p.Generation)
	var obs store.Observed
	switch {
	case p.Desired == nil:
		obs = r.remove(ctx, p)
	case p.Desired.State == api.StateStopped:
		obs = r.stop(ctx, p)
	default:
		obs = r.deploy(ctx, p, log)
	}
	obs.Generation = p.Generation
	obs.LastError = r.redact(p, obs.LastError)
	_, err = r.store.Update(slug, func(q *store.Project) error {
		if q.UID != p.UID {
			return errStale
		}
		q.Observed = obs
		// Remember the head a branch-following spec was deployed at, unless
		// a new spec arrived meanwhile.
		if q.Desired != nil && p.Desired != nil && q.Desired.Commit == "" && q.Desired.Resolved == "" &&
			*q.Desired == *p.Desired && obs.DeployedCommit != "" && obs.Status == api.StatusDeployed {
			q.Desired.Resolved = obs.DeployedCommit
		}
		return nil
	})
	if errors.Is(err, errStale) || errors.Is(err, store.ErrNotFound) {
		// Deleted while we worked: do not leave what we created behind.
		r.cleanup(ctx, p.UID, p.Slug)
		return
	}
	if err != nil {
		log.Error("recording result", "error", err)
		return
	}
	if obs.Status == api.StatusFailed {
		log.Warn("deploy failed", "reason", firstLine(obs.LastError))
	} else {
		log.Info("reconciled", "status", obs.Status, "commit", short(obs.DeployedCommit))
	}
}

func (r *Reconciler) containers(ctx context.Context, uid string) []runtime.Container {
	cs, err := r.rt.List(ctx, map[string]string{LabelAgent: r.cfg.AgentID, LabelProjectUID: uid})
	if err != nil {
		r.log.Warn("listing containers", "error", err)
	}
	return cs
}

func (r *Reconciler) stop(ctx context.Context, p *store.Project) store.Observed {
	obs := p.Observed
	obs.LastError = ""
	obs.Status = api.StatusStopped
	r.proxy.Unset(p.Slug, p.UID, "The app was stopped.")
	for _, c := range r.containers(ctx, p.UID) {
		if c.Running || c.Restarting {
			if err := r.rt.Stop(ctx, c.ID, 10*time.Second); err != nil {
				obs.Status = api.StatusFailed
				obs.LastError = "could not stop the app's container: " + err.Error()
			}
		}
	}
	return obs
}

func (r *Reconciler) remove(ctx context.Context, p *store.Project) store.Observed {
	obs := p.Observed
	r.proxy.Unset(p.Slug, p.UID, "The app has no deployment.")
	for _, c := range r.containers(ctx, p.UID) {
		if err := r.rt.Remove(ctx, c.ID); err != nil {
			obs.Status = api.StatusFailed
			obs.LastError = "could not remove the app's container: " + err.Error()
			return obs
		}
	}
	obs.ContainerID, obs.ConfigHash, obs.LastError = "", "", ""
	if obs.Status != api.StatusCreated {
		obs.Status = api.StatusStopped
	}
	return obs
}

// Forget removes everything a deleted project left on the host: its
// containers, its route, its clone and releases. Only the given incarnation
// (uid) is touched, so a new project with the same slug is safe.
func (r *Reconciler) Forget(ctx context.Context, uid, slug string) {
	r.cleanup(ctx, uid, slug)
}

func (r *Reconciler) cleanup(ctx context.Context, uid, slug string) {
	r.proxy.Unset(slug, uid, "")
	for _, c := range r.containers(ctx, uid) {
		if err := r.rt.Remove(ctx, c.ID); err != nil {
			r.log.Warn("removing container of deleted project", "project", slug, "error", err)
		}
	}
	if err := os.RemoveAll(r.projectDir(uid)); err != nil {
		r.log.Warn("removing project files", "project", slug, "error", err)
	}
	// A web app's images, built from its Dockerfile. (Environment images are
	// shared by every project with the same dependencies and stay.)
	r.rt.RemoveRepository(ctx, WebImageRepo(slug))
}

func fail(obs store.Observed, format string, args ...any) store.Observed {
	obs.Status = api.StatusFailed
	obs.LastError = fmt.Sprintf(format, args...)
	return obs
}

// configInput opens the project's variables, secrets and connections for
// rendering. Plaintext exists only here, on its way into the container.
func (r *Reconciler) configInput(p *store.Project) (render.Input, error) {
	in := render.Input{AppType: p.AppType, Variables: map[string]string{}, Secrets: map[string]string{}, FileSecrets: map[string]string{}}
	for k, v := range p.Variables {
		in.Variables[k] = v.Value
	}
	for k, v := range p.Secrets {
		b, err := r.sealer.Open(v.Sealed, SecretContext(p.UID, k))
		if err != nil {
			return in, fmt.Errorf("reading secret %q: %w", k, err)
		}
		if v.File {
			in.FileSecrets[k] = string(b)
		} else {
			in.Secrets[k] = string(b)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(p.Connections)) {
		c := p.Connections[name]
		conn := render.Conn{Name: name, Type: c.Type, Host: c.Host, Port: c.Port, Login: c.Login, Schema: c.Schema, Extra: c.Extra}
		if len(c.PasswordSealed) > 0 {
			b, err := r.sealer.Open(c.PasswordSealed, PasswordContext(p.UID, name))
			if err != nil {
				return in, fmt.Errorf("reading the password of connection %q: %w", name, err)
			}
			conn.Password = string(b)
		}
		in.Connections = append(in.Connections, conn)
	}
	return in, nil
}

// EnvFootprint is what a project's configuration asks of its app's
// environment: the bytes of every entry it sets, a name set by two sources
// counted twice (so that removing something never raises it), and its
// largest single entry.
type EnvFootprint struct {
	Total   int
	Largest string // the name of the largest entry
	MaxSize int    // its size, KEY=value and NUL
}

// Footprint measures a project's configuration (see EnvFootprint).
func (r *Reconciler) Footprint(p *store.Project) (EnvFootprint, error) {
	in, err := r.configInput(p)
	if err != nil {
		return EnvFootprint{}, err
	}
	var f EnvFootprint
	parts := []render.Input{
		{AppType: in.AppType, Variables: in.Variables},
		{AppType: in.AppType, Secrets: in.Secrets},
		{AppType: in.AppType, FileSecrets: in.FileSecrets},
		{AppType: in.AppType, Connections: in.Connections},
	}
	for _, part := range parts {
		for k, v := range render.EnvVars(part) {
			n := len(k) + 1 + len(v) + 1
			f.Total += n
			if n > f.MaxSize {
				f.Largest, f.MaxSize = k, n
			}
		}
	}
	return f, nil
}

// Grows says why a change from before to f would give the app an
// environment the kernel cannot hand it (its container would not start):
// an entry over api.MaxEnvEntry, or over api.MaxEnvTotal in all. A change
// that does not make things worse passes, so a project already over can be
// brought back under one step at a time.
func (f EnvFootprint) Grows(before EnvFootprint, slug string) error {
	if f.MaxSize > api.MaxEnvEntry && f.MaxSize > before.MaxSize {
		return fmt.Errorf("project %q: the environment variable %s would be %d bytes, more than one variable can hold (%d): "+
			"shorten the values that make it up (a secret can be a file instead: file = true)", slug, f.Largest, f.MaxSize, api.MaxEnvEntry)
	}
	if f.Total > api.MaxEnvTotal && f.Total > before.Total {
		return fmt.Errorf("project %q: its variables, secrets and connections would take %d bytes of environment, more than "+
			"the %d (1 MiB) an app is given (a variable hidden by a secret of its name, and Airflow's AIRFLOW_VAR_ copies, "+
			"count in full): make large secrets files (file = true), or remove some", slug, f.Total, api.MaxEnvTotal)
	}
	return nil
}

// streamlitSecrets writes the generated secrets.toml (0600, named by its
// content hash so a running container's file is never rewritten) and
// mounts it at ~/.streamlit/secrets.toml, where Streamlit reads it besides
// the repository's own .streamlit/secrets.toml, which stays untouched.
func (r *Reconciler) streamlitSecrets(dir string, in render.Input) (*runtime.Mount, error) {
	b, err := render.StreamlitSecrets(in)
	if err != nil || b == nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	runDir := filepath.Join(dir, "run")
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return nil, err
	}
	file := filepath.Join(runDir, "secrets-"+hex.EncodeToString(sum[:8])+".toml")
	if _, err := os.Stat(file); err != nil {
		tmp := file + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, file); err != nil {
			return nil, err
		}
	}
	return &runtime.Mount{Source: file, Target: "/root/.streamlit/secrets.toml", ReadOnly: true}, nil
}

// secretFiles writes the project's file secrets into a directory named by
// their content hash (so a running container's files are never rewritten)
// and mounts it read-only at api.SecretsDir. Each file is 0400 and, like
// the directory (0500), owned by uid, the user the app runs as; uid < 0
// (an image whose user has a name, not a number) makes them 0444 in a 0555
// directory instead, readable by whichever user that is. The host copy
// lives under the project's directory (0700), beside the other rendered
// files, and is removed once no container mounts it.
func secretFiles(dir string, files map[string]string, uid int) (*runtime.Mount, error) {
	if len(files) == 0 {
		return nil, nil
	}
	h := sha256.New()
	keys := slices.Sorted(maps.Keys(files))
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00", k, len(files[k]), files[k])
	}
	fmt.Fprintf(h, "uid:%d", uid)
	target := filepath.Join(dir, "run", "files-"+hex.EncodeToString(h.Sum(nil)[:8]))
	if _, err := os.Stat(target); err == nil {
		return &runtime.Mount{Source: target, Target: api.SecretsDir, ReadOnly: true}, nil
	}
	fileMode, dirMode := os.FileMode(0o400), os.FileMode(0o500)
	if uid < 0 {
		fileMode, dirMode = 0o444, 0o555
	}
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Join(dir, "run"), ".files-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // after a successful rename there is nothing left
	for _, k := range keys {
		f := filepath.Join(tmp, k)
		if err := os.WriteFile(f, []byte(files[k]), fileMode); err != nil {
			return nil, err
		}
		if err := chownTo(f, uid); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(tmp, dirMode); err != nil {
		return nil, err
	}
	if err := chownTo(tmp, uid); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, target); err != nil {
		return nil, err
	}
	return &runtime.Mount{Source: target, Target: api.SecretsDir, ReadOnly: true}, nil
}

// chownTo gives a rendered file to the app's user (root owns it already).
// An agent not running as root cannot; the files stay its own, readable by
// apps that run as root. The documented setup runs the agent as root,
// beside the Docker engine.
func chownTo(path string, uid int) error {
	if uid <= 0 {
		return nil
	}
	if err := os.Chown(path, uid, 0); err != nil && !errors.Is(err, os.ErrPermission) {
		return err
	}
	return nil
}

// tail is the end of an app's log for an error message, without the
// project's secret values (an app may well print its environment).
func (r *Reconciler) tail(ctx context.Context, p *store.Project, id string) string {
	lines, err := r.rt.Logs(ctx, id, logTail)
	if err != nil || len(lines) == 0 {
		return ""
	}
	return r.redact(p, fmt.Sprintf("\nlast %d lines of the app's log:\n%s", len(lines), strings.Join(lines, "\n")))
}

// redact replaces the project's secret values (secrets, connection
// passwords, generated secrets) in a message bound for the store, the log,
// the API or the proxy's error page: errors from Docker quote a container's
// environment, and apps print theirs. Each value is looked for in the forms
// programs commonly print it in: as it is; Go-, JSON- and ASCII-quoted;
// percent-encoded (as in <NAME>_URL, and as path and query escaping write
// it); base64; and line by line; all ignoring case. Values under 4 bytes
// are left alone: they would take ordinary words with them.
func (r *Reconciler) redact(p *store.Project, msg string) string {
	if msg == "" {
		return msg
	}
	var forms []string
	add := func(v string) {
		candidates := []string{
			v, strconv.Quote(v), strconv.QuoteToASCII(v), string(must(json.Marshal(v))),
			render.Escape(v), url.PathEscape(v), url.QueryEscape(v),
			base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
		}
		for _, line := range strings.Split(v, "\n") {
			if len(line) >= 8 {
				candidates = append(candidates, line)
			}
		}
		for _, f := range candidates {
			// A form longer than the message cannot be in it (file
			// secrets can be 1 MiB; messages are a few lines).
			if f = strings.Trim(f, `"=`); len(f) >= 4 && len(f) <= len(msg) {
				forms = append(forms, f)
			}
		}
	}
	if in, err := r.configInput(p); err == nil {
		for _, v := range in.Secrets {
			add(v)
		}
		for _, v := range in.FileSecrets {
			add(v)
		}
		for _, c := range in.Connections {
			add(c.Password)
		}
	}
	for name, sealed := range p.Generated {
		if v, err := r.sealer.Open(sealed, GeneratedContext(p.UID, name)); err == nil {
			add(string(v))
		}
	}
	// Longest first, so a value never leaves a piece of itself behind.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	for _, f := range forms {
		msg = replaceFold(msg, f, "[secret]")
	}
	return msg
}

// replaceFold replaces every occurrence of old in s, ignoring ASCII case
// (hex digits are printed either way; other letters keep their bytes).
func replaceFold(s, old, repl string) string {
	ls, lo := asciiLower(s), asciiLower(old)
	var b strings.Builder
	for {
		i := strings.Index(ls, lo)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, ls = s[i+len(old):], ls[i+len(lo):]
	}
}

// asciiLower lower-cases A-Z only, byte by byte, so offsets stay the same
// (even in invalid UTF-8, which an app's log may hold).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

func must(b []byte, _ error) []byte { return b }

// configHash identifies everything that defines the container; a change of
// it means the container must be replaced.
func configHash(spec runtime.ContainerSpec, revision string) string {
	h := sha256.New()
	w := func(s string) { io.WriteString(h, s); h.Write([]byte{0}) }
	w(spec.Image)
	w(spec.WorkingDir)
	w(revision)
	for _, s := range spec.Cmd {
		w("cmd:" + s)
	}
	for _, s := range spec.Env {
		w("env:" + s)
	}
	for _, m := range spec.Mounts {
		w(fmt.Sprintf("mount:%s:%s:%v:%v", m.Source, m.Target, m.ReadOnly, m.Volume))
	}
	w(fmt.Sprintf("limits:%d:%g", spec.MemoryMB, spec.CPUs))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func shortID(id string) string { return short(id) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
