package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/apptype"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/apptype/launcher"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/deps"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/render"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/runtime"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// deploy fetches, checks, builds and runs the desired commit. Stateless apps
// get a new container that takes over only once healthy (the old one keeps
// serving if the new one fails); stateful apps are stopped first.
func (r *Reconciler) deploy(ctx context.Context, p *store.Project, log hclog.Logger) store.Observed {
	obs := p.Observed
	tpl, err := r.template(p.AppType)
	if err != nil {
		return fail(obs, "%v", err)
	}
	key, err := r.sealer.Open(p.PrivateKeySealed, KeyContext(p.UID))
	if err != nil {
		return fail(obs, "reading the project's deploy key: %v", err)
	}
	dir := r.projectDir(p.UID)
	repo := filepath.Join(dir, "repo")
	commit, msg := r.resolveCommit(ctx, p, repo, key)
	if msg != "" {
		return fail(obs, "%s", msg)
	}

	// The entrypoint check comes before anything is built or stopped.
	entry := entryPath(p.Path)
	why, err := r.entryProblem(repo, commit, tpl, p.Path)
	if err != nil {
		return fail(obs, "checking the entrypoint: %v", err)
	}
	if why != "" {
		return fail(obs, "%s in %s on branch %q at commit %s: set path to the app's %s, relative to the repository root",
			why, api.RedactURL(p.GitURL), p.Branch, short(commit), map[apptype.EntryKind]string{apptype.EntryFile: "file (for example \"src/app.py\")", apptype.EntryDir: "folder"}[tpl.Entry])
	}
	base, ok := r.cfg.Environments[p.Environment]
	if !ok {
		return fail(obs, "environment %q is not configured on this agent: use one of %s, or add it to the agent's environments", p.Environment, strings.Join(slices.Sorted(maps.Keys(r.cfg.Environments)), ", "))
	}
	release := filepath.Join(dir, "releases", commit)
	if err := r.git.Export(repo, commit, release); err != nil {
		return fail(obs, "exporting commit %s: %v", short(commit), err)
	}

	port, uid := tpl.Port, tpl.User
	healthPath := ""
	var image string
	bctx, finishBuildLog := r.buildLog(ctx, dir, commit)
	if tpl.BuildsImage {
		img, built, err := r.rt.BuildDockerfile(bctx, filepath.Join(release, path.Dir(entry)), path.Base(entry),
			WebImageRepo(p.Slug)+":"+short(commit), runtime.BuildLimits{MemoryMB: r.cfg.BuildMemoryMB})
		finishBuildLog(built || err != nil)
		if err != nil {
			return fail(obs, "building %s at commit %s: %v", p.Path, short(commit), err)
		}
		if built {
			log.Info("built app image", "image", img.Ref)
		}
		image = img.Ref
		if img.Port != 0 {
			port = img.Port
		}
		uid = img.UID
		healthPath = img.Labels["io.runtimeops.health-path"]
	} else {
		files, source, err := r.dependencies(repo, commit, entry, tpl)
		if err != nil {
			return fail(obs, "reading the project's dependencies: %v", err)
		}
		var built bool
		image, built, err = r.rt.EnsureEnvImage(bctx, base, files)
		finishBuildLog(built || err != nil)
		if err != nil {
			return fail(obs, "building the environment image from %s with %s: %v", base, source, err)
		}
		if built {
			log.Info("built environment image", "image", image, "dependencies", source)
		}
	}

	gen, err := r.generated(p, tpl)
	if err != nil {
		return fail(obs, "%v", err)
	}
	if p.Desired.PathPrefix != "" && !tpl.PrefixRouting {
		return fail(obs, "path_prefix: %s apps cannot be served under a path prefix (they need the root of their own host name); remove path_prefix", p.AppType)
	}
	actx := apptype.Context{Slug: p.Slug, Entry: entry, URL: r.URLFor(p), BasePath: p.Desired.PathPrefix, Generated: gen}
	spec, err := r.containerSpec(p, tpl, actx, image, release, dir, port, uid)
	if err != nil {
		return fail(obs, "%v", err)
	}
	hash := configHash(spec, p.Desired.Revision)
	stable := "runtime-" + p.Slug
	spec.Name = stable + "-" + hash[:8]
	spec.Labels = map[string]string{
		LabelAgent:      r.cfg.AgentID,
		LabelProject:    p.Slug,
		LabelProjectUID: p.UID,
		LabelGeneration: strconv.FormatInt(p.Generation, 10),
		LabelCommit:     commit,
		LabelConfigHash: hash,
		LabelAppType:    p.AppType,
		LabelPort:       strconv.Itoa(port),
	}
	probe := func(ip string) string {
		if healthPath != "" {
			return "http://" + ip + ":" + strconv.Itoa(port) + healthPath
		}
		return tpl.HealthURL(ip, port, actx)
	}

	// Keep a container that already runs exactly this config: re-applying
	// the same plan must not restart a healthy app.
	var keep *runtime.Container
	var old []runtime.Container
	for _, c := range r.containers(ctx, p.UID) {
		if keep == nil && c.Labels[LabelConfigHash] == hash {
			c := c
			keep = &c
			continue
		}
		old = append(old, c)
	}
	if keep != nil {
		if !keep.Running {
			if err := r.rt.Start(ctx, keep.ID); err != nil {
				return fail(obs, "starting the app's container: %v", err)
			}
		}
		c, err := r.waitHealthy(ctx, keep.ID, tpl, probe)
		if err != nil {
			r.proxy.Unset(p.Slug, p.UID, "The app is not healthy.")
			return fail(obs, "app did not become healthy (commit %s): %v%s", short(commit), err, r.tail(ctx, p, keep.ID))
		}
		r.removeAll(ctx, old)
		r.setRoute(p, c)
		obs.ContainerID, obs.ConfigHash, obs.DeployedCommit = keep.ID, hash, commit
		return r.deployed(ctx, p, tpl, actx, c, obs, release, dir, spec, log)
	}

	if tpl.Stateful || len(old) == 0 {
		// Two Airflows or Open WebUIs on one data directory corrupt it:
		// stop first. With nothing running, the stable name is free.
		r.proxy.Unset(p.Slug, p.UID, "The app is restarting.")
		r.removeAll(ctx, old)
		old = nil
		spec.Name = stable
	}
	id, err := r.rt.Create(ctx, spec)
	if err != nil {
		return fail(obs, "starting the app's container: %v", err)
	}
	c, err := r.waitHealthy(ctx, id, tpl, probe)
	if err != nil {
		tail := r.tail(ctx, p, id)
		r.rt.Remove(ctx, id)
		if serving := runningOne(old); serving != nil {
			// The previous version keeps serving (and stays the deployed
			// commit); the deploy still failed.
			return fail(obs, "the new version did not become healthy (commit %s), so the previous one (commit %s) keeps serving: %v%s", short(commit), short(obs.DeployedCommit), err, tail)
		}
		r.proxy.Unset(p.Slug, p.UID, "The last deploy failed: "+firstLine(r.redact(p, err.Error())))
		obs.ContainerID = ""
		return fail(obs, "app did not become healthy (commit %s): %v%s", short(commit), err, tail)
	}
	// Switch traffic, then drain and remove the old version.
	r.setRoute(p, c)
	if len(old) > 0 {
		time.Sleep(r.cfg.DrainPeriod)
		r.removeAll(ctx, old)
		if err := r.rt.Rename(ctx, id, stable); err != nil {
			log.Warn("could not give the new container its stable name", "error", err)
		}
	}
	obs.ContainerID, obs.ConfigHash, obs.DeployedCommit = id, hash, commit
	return r.deployed(ctx, p, tpl, actx, c, obs, release, dir, spec, log)
}

func runningOne(cs []runtime.Container) *runtime.Container {
	for i := range cs {
		if cs[i].Running {
			return &cs[i]
		}
	}
	return nil
}

// template returns the app type's template with the agent's overrides.
func (r *Reconciler) template(appType string) (*apptype.Template, error) {
	tpl, err := apptype.Lookup(appType)
	if err != nil {
		return nil, err
	}
	if d, ok := r.cfg.StartPeriods[appType]; ok {
		t := *tpl
		t.StartPeriod = d
		return &t, nil
	}
	return tpl, nil
}

// deployed finishes a healthy deploy: app-type hooks, then the status.
func (r *Reconciler) deployed(ctx context.Context, p *store.Project, tpl *apptype.Template, actx apptype.Context, c *runtime.Container, obs store.Observed, release, dir string, spec runtime.ContainerSpec, log hclog.Logger) store.Observed {
	// Rendered secrets (secrets.toml, file secrets) of earlier
	// configurations hold old values in clear: keep only what the running
	// container mounts.
	if files, _ := filepath.Glob(filepath.Join(dir, "run", "*")); len(files) > 0 {
		inUse := map[string]bool{}
		for _, m := range spec.Mounts {
			inUse[m.Source] = true
		}
		for _, f := range files {
			if !inUse[f] {
				os.RemoveAll(f)
			}
		}
	}
	if p.AppType == api.AppOpenWebUI {
		plugins, err := r.syncOpenWebUI(ctx, p, c, filepath.Join(release, actx.Entry), actx.Generated["admin_password"], obs.Plugins, log)
		if err != nil {
			return fail(obs, "syncing tools and functions into Open WebUI: %v", err)
		}
		obs.Plugins = plugins
	}
	obs.Status, obs.LastError, obs.StartedAt = api.StatusDeployed, "", c.StartedAt
	return obs
}

func (r *Reconciler) removeAll(ctx context.Context, cs []runtime.Container) {
	for _, c := range cs {
		if err := r.rt.Remove(ctx, c.ID); err != nil {
			r.log.Warn("removing old container", "container", c.Name, "error", err)
		}
	}
}

// resolveCommit fetches when needed and returns the commit to deploy, or a
// message saying why there is none.
func (r *Reconciler) resolveCommit(ctx context.Context, p *store.Project, repo string, key []byte) (string, string) {
	target := p.Desired.Commit
	if target == "" {
		// A target commit (or the head this spec was first deployed at):
		// keep deploying exactly it, fetching only when it is not here yet.
		target = p.Desired.Resolved
		if target != "" {
			if c, err := r.git.Resolve(repo, target); err == nil {
				return c, ""
			}
		}
	}
	head, err := r.git.Sync(ctx, repo, p.GitURL, p.Branch, key)
	if err != nil {
		return "", fmt.Sprintf("fetching %s (branch %q) failed: %v", api.RedactURL(p.GitURL), p.Branch, err)
	}
	if target == "" {
		return head, ""
	}
	c, err := r.git.Resolve(repo, target)
	if err != nil {
		return "", fmt.Sprintf("commit %q is not in %s (branch %q): push it, or fix the deployment's commit", target, api.RedactURL(p.GitURL), p.Branch)
	}
	return c, ""
}

// dependencies finds the project's dependency files nearest to the
// entrypoint and adds what the app type needs.
func (r *Reconciler) dependencies(repo, commit, entry string, tpl *apptype.Template) (map[string][]byte, string, error) {
	start := entry
	if tpl.Entry == apptype.EntryFile {
		start = path.Dir(entry)
	}
	req, source, err := deps.Find(func(name string) ([]byte, error) { return r.git.ReadFile(repo, commit, name) }, start)
	if err != nil {
		return nil, "", err
	}
	req = deps.Ensure(req, tpl.Requirements)
	if req == nil {
		return nil, "no dependency files", nil
	}
	return map[string][]byte{"requirements.txt": req}, source, nil
}

// generated returns the project's generated secrets for its app type,
// creating (and sealing) the missing ones once.
func (r *Reconciler) generated(p *store.Project, tpl *apptype.Template) (map[string]string, error) {
	out := map[string]string{}
	var missing []string
	for _, name := range tpl.Generated {
		if sealed, ok := p.Generated[name]; ok {
			v, err := r.sealer.Open(sealed, GeneratedContext(p.UID, name))
			if err != nil {
				return nil, fmt.Errorf("reading generated %s: %w", name, err)
			}
			out[name] = string(v)
			continue
		}
		missing = append(missing, name)
	}
	if len(missing) == 0 {
		return out, nil
	}
	newSealed := map[string][]byte{}
	for _, name := range missing {
		v := newSecret(name)
		sealed, err := r.sealer.Seal([]byte(v), GeneratedContext(p.UID, name))
		if err != nil {
			return nil, err
		}
		newSealed[name] = sealed
		out[name] = v
	}
	_, err := r.store.Update(p.Slug, func(q *store.Project) error {
		if q.UID != p.UID {
			return errStale
		}
		if q.Generated == nil {
			q.Generated = map[string][]byte{}
		}
		for k, v := range newSealed {
			if _, ok := q.Generated[k]; !ok {
				q.Generated[k] = v
			}
		}
		p.Generated = q.Generated
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GeneratedContext is the sealing context of a generated secret.
func GeneratedContext(uid, name string) string { return "project/" + uid + "/generated/" + name }

func newSecret(name string) string {
	b := make([]byte, 32)
	rand.Read(b)
	if name == "fernet_key" {
		// Fernet wants 32 bytes, url-safe base64.
		return base64.URLEncoding.EncodeToString(b)
	}
	return hex.EncodeToString(b)
}

// containerSpec renders everything but the name and labels.
func (r *Reconciler) containerSpec(p *store.Project, tpl *apptype.Template, actx apptype.Context, image, release, dir string, port, uid int) (runtime.ContainerSpec, error) {
	in, err := r.configInput(p)
	if err != nil {
		return runtime.ContainerSpec{}, err
	}
	envMap := render.EnvVars(in)
	for k, v := range tpl.Env(actx) { // agent-owned keys win
		envMap[k] = v
	}
	env := make([]string, 0, len(envMap))
	for k, v := range envMap {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	spec := runtime.ContainerSpec{
		Image:       image,
		Env:         env,
		WorkingDir:  apptype.AppDir,
		Mounts:      []runtime.Mount{{Source: release, Target: apptype.AppDir, ReadOnly: true}},
		StopTimeout: tpl.StopTimeout,
		MemoryMB:    p.Desired.MemoryMB,
		CPUs:        p.Desired.CPUs,
	}
	if tpl.Command != nil {
		spec.Cmd = tpl.Command(actx)
	}
	if tpl.BuildsImage || tpl.OwnImage {
		spec.WorkingDir = "" // the image's own WORKDIR
		spec.Mounts = nil    // the code is in the image, or not needed in it
	}
	m, err := secretFiles(dir, in.FileSecrets, uid)
	if err != nil {
		return spec, fmt.Errorf("writing the file secrets: %w", err)
	}
	if m != nil {
		spec.Mounts = append(spec.Mounts, *m)
	}
	switch p.AppType {
	case api.AppStreamlit:
		m, err := r.streamlitSecrets(dir, in)
		if err != nil {
			return spec, err
		}
		if m != nil {
			spec.Mounts = append(spec.Mounts, *m)
		}
	case api.AppDash:
		src, err := r.dashLauncher()
		if err != nil {
			return spec, err
		}
		spec.Mounts = append(spec.Mounts, runtime.Mount{Source: src, Target: apptype.DashLauncherDir, ReadOnly: true})
	}
	if tpl.DataDir != "" {
		data := filepath.Join(dir, "data")
		if err := os.MkdirAll(data, 0o775); err != nil {
			return spec, err
		}
		// The image's user (Airflow: uid 50000, gid 0) must own its data.
		if err := os.Chown(data, tpl.User, 0); err != nil && !errors.Is(err, os.ErrPermission) {
			return spec, err
		}
		spec.Mounts = append(spec.Mounts, runtime.Mount{Source: data, Target: tpl.DataDir})
		if p.AppType == api.AppAirflow {
			if err := airflowPasswords(data, tpl.User, actx.Generated["admin_password"]); err != nil {
				return spec, err
			}
		}
	}
	return spec, nil
}

// airflowPasswords gives Airflow's simple auth manager the agent's admin
// password before the first start (standalone keeps an existing file), so
// `runtime-agent credentials` can tell it without reading Airflow's logs.
func airflowPasswords(data string, uid int, password string) error {
	file := filepath.Join(data, "simple_auth_manager_passwords.json.generated")
	if _, err := os.Stat(file); err == nil {
		return nil
	}
	b, _ := json.Marshal(map[string]string{"admin": password})
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return err
	}
	if err := os.Chown(file, uid, 0); err != nil && !errors.Is(err, os.ErrPermission) {
		return err
	}
	return nil
}

// Credentials returns the app's generated admin login.
func (r *Reconciler) Credentials(p *store.Project) (*api.Credentials, error) {
	tpl, err := apptype.Lookup(p.AppType)
	if err != nil {
		return nil, err
	}
	user := map[string]string{api.AppAirflow: "admin", api.AppOpenWebUI: OpenWebUIAdminEmail}[p.AppType]
	if user == "" {
		return nil, fmt.Errorf("%s apps have no generated admin login", p.AppType)
	}
	gen, err := r.generated(p, tpl)
	if err != nil {
		return nil, err
	}
	return &api.Credentials{ProjectID: p.Slug, Username: user, Password: gen["admin_password"], LoginURL: r.AppURL(p.Slug)}, nil
}

// dashLauncher writes the launcher module the agent ships for Dash apps
// (once per agent version) and returns its directory.
func (r *Reconciler) dashLauncher() (string, error) {
	dir := filepath.Join(r.cfg.DataDir, "launchers", "dash")
	file := filepath.Join(dir, "runtime_dash.py")
	if b, err := os.ReadFile(file); err == nil && string(b) == string(launcher.DashLauncher) {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, launcher.DashLauncher, 0o644); err != nil {
		return "", err
	}
	return dir, os.Rename(tmp, file)
}

// waitHealthy probes the app until it answers healthy. Failures during the
// template's start period are expected; after it, FailureThreshold failed
// probes in a row fail the deploy. A container that exits fails it at once
// (a crash loop should not wait for the timeout).
func (r *Reconciler) waitHealthy(ctx context.Context, id string, tpl *apptype.Template, probeURL func(ip string) string) (*runtime.Container, error) {
	limit := r.cfg.HealthTimeout
	if min := tpl.StartPeriod + time.Duration(tpl.FailureThreshold+1)*tpl.ProbeInterval; limit < min {
		limit = min
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	start := time.Now()
	fails := 0
	var last string
	for {
		c, err := r.rt.Inspect(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("inspecting the container: %w", err)
		}
		if c.OOMKilled {
			return nil, errors.New("the app ran out of memory (OOM killed): raise memory_mb or use less memory")
		}
		if !c.Running || c.Restarting || c.RestartCount > 0 {
			return nil, fmt.Errorf("the app exited with code %d while starting", c.ExitCode)
		}
		if c.IP != "" {
			status, body, err := runtime.ProbeHTTP(ctx, probeURL(c.IP), 3*time.Second)
			ok, why := false, ""
			if err != nil {
				why = err.Error()
			} else {
				ok, why = tpl.Healthy(status, body)
			}
			if ok {
				return c, nil
			}
			last = why
			if time.Since(start) > tpl.StartPeriod {
				fails++
				if fails >= tpl.FailureThreshold {
					return nil, fmt.Errorf("health probe failed %d times in a row after the %s start period (last: %s)", fails, tpl.StartPeriod, last)
				}
			}
		}
		// Probe often while the app starts (most are up within a second or
		// two, and a deploy should not idle), at the template's pace after.
		wait := tpl.ProbeInterval
		if time.Since(start) < tpl.StartPeriod && wait > 100*time.Millisecond {
			wait = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no healthy answer within %s (last probe: %s)", limit, last)
		case <-time.After(wait):
		}
	}
}

// CheckPath says whether path would pass the entrypoint check at the
// project's deployed commit. Without a clone or a deployed commit there is
// nothing to check against, and the deploy itself will check.
func (r *Reconciler) CheckPath(p *store.Project, newPath string) error {
	commit := p.Observed.DeployedCommit
	if commit == "" {
		return nil
	}
	tpl, err := r.template(p.AppType)
	if err != nil {
		return err
	}
	why, err := r.entryProblem(filepath.Join(r.projectDir(p.UID), "repo"), commit, tpl, newPath)
	if err != nil {
		return nil // no usable clone: let the deploy decide
	}
	if why != "" {
		return fmt.Errorf("%s in the deployed commit %s of %s (branch %q); the app was left running: fix path", why, short(commit), api.RedactURL(p.GitURL), p.Branch)
	}
	return nil
}

// entryPath is the project's path relative to the repository root ("."
// for the root itself).
func entryPath(p string) string {
	if e := api.CleanPath(p); e != "" {
		return e
	}
	return "."
}

// entryProblem says what is wrong with path for the app type at commit, or
// "" when it names what the type needs (a file, or a folder).
func (r *Reconciler) entryProblem(repo, commit string, tpl *apptype.Template, path string) (string, error) {
	entry := entryPath(path)
	isFile := false
	if entry != "." {
		var err error
		if isFile, err = r.git.HasFile(repo, commit, entry); err != nil {
			return "", err
		}
	}
	isDir, err := r.git.HasDir(repo, commit, entry)
	if err != nil {
		return "", err
	}
	return tpl.CheckEntry(isFile, isDir, path), nil
}

// WebImageRepo is the image repository of a web app's builds.
func WebImageRepo(slug string) string { return "runtime-app/" + slug }

// maxBuildLogs is how many build logs a project keeps.
const maxBuildLogs = 10

// buildLog opens a file that keeps the output of the image build this
// deploy may run (`runtime-agent logs SLUG --build` reads the newest). The
// returned function closes it, keeping it only when a build ran.
func (r *Reconciler) buildLog(ctx context.Context, dir, commit string) (context.Context, func(keep bool)) {
	logs := filepath.Join(dir, "builds")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		return ctx, func(bool) {}
	}
	name := filepath.Join(logs, time.Now().UTC().Format("20060102T150405.000")+"-"+short(commit)+".log")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return ctx, func(bool) {}
	}
	return runtime.WithBuildLog(ctx, f), func(keep bool) {
		f.Close()
		if !keep {
			os.Remove(name)
			return
		}
		old, _ := filepath.Glob(filepath.Join(logs, "*.log"))
		sort.Strings(old)
		for len(old) > maxBuildLogs {
			os.Remove(old[0])
			old = old[1:]
		}
	}
}

// BuildLog returns the newest build log of a project.
func (r *Reconciler) BuildLog(p *store.Project) ([]byte, error) {
	logs, _ := filepath.Glob(filepath.Join(r.projectDir(p.UID), "builds", "*.log"))
	if len(logs) == 0 {
		return nil, fmt.Errorf("project %q has no build log: its deploys have not built an image yet (an unchanged environment reuses its image)", p.Slug)
	}
	sort.Strings(logs)
	return os.ReadFile(logs[len(logs)-1])
}
