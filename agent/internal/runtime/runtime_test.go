package runtime_test

// These tests drive a real Docker engine with the stand-in image
// (agenttest.StandinImage): there is no registry to pull python images from.
// They never skip: without Docker they fail. Every container, image and
// network they create has a unique name and is removed when they end.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/runtime"
)

const (
	labelProject = "io.runtimeops.project"
	healthWait   = 60 * time.Second
)

func uniq(t *testing.T) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// testLogger sends the runtime's logs to the test log.
func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "runtime", Level: hclog.Debug, Output: testWriter{t}})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// rawDocker is a plain client for checks and cleanup behind the runtime's
// back.
func rawDocker(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// newRuntime builds the stand-in image and a Runtime on a network of the
// test's own, removed at the end.
func newRuntime(t *testing.T) (*runtime.Runtime, *client.Client) {
	t.Helper()
	agenttest.EnsureStandinImage(t)
	cli := rawDocker(t)
	netName := "runtime-test-" + uniq(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := runtime.New(ctx, testLogger(t), runtime.Options{Network: netName})
	if err != nil {
		t.Fatalf("runtime.New (is Docker running?): %v", err)
	}
	t.Cleanup(func() {
		r.Close()
		if err := cli.NetworkRemove(context.Background(), netName); err != nil {
			t.Errorf("remove network %s: %v", netName, err)
		}
	})
	if r.Network() != netName {
		t.Fatalf("network = %q", r.Network())
	}
	return r, cli
}

// appDir writes an app.py into a world-readable directory to bind-mount.
func appDir(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func streamlitSpec(name, dir string, env []string, labels map[string]string) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Name:        name,
		Image:       agenttest.StandinImage,
		Cmd:         []string{"streamlit", "run", "/app/app.py", "--server.port=8501", "--server.address=0.0.0.0", "--server.headless=true"},
		Env:         env,
		WorkingDir:  "/app",
		Mounts:      []runtime.Mount{{Source: dir, Target: "/app", ReadOnly: true}},
		Labels:      labels,
		StopTimeout: 5,
	}
}

// create creates a container and removes it when the test ends.
func create(t *testing.T, r *runtime.Runtime, spec runtime.ContainerSpec) string {
	t.Helper()
	id, err := r.Create(context.Background(), spec)
	if err != nil {
		t.Fatalf("create %s: %v", spec.Name, err)
	}
	t.Cleanup(func() {
		if err := r.Remove(context.Background(), id); err != nil {
			t.Errorf("remove %s: %v", spec.Name, err)
		}
	})
	return id
}

// waitHealthy polls like the reconciler: inspect for the IP, then probe.
func waitHealthy(t *testing.T, r *runtime.Runtime, id string) *runtime.Container {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(healthWait)
	var last string
	for time.Now().Before(deadline) {
		c, err := r.Inspect(ctx, id)
		if err != nil {
			t.Fatalf("inspect: %v", err)
		}
		if c.IP != "" && c.Running {
			status, body, err := runtime.ProbeHTTP(ctx, "http://"+c.IP+":8501/_stcore/health", 2*time.Second)
			if err == nil && status == 200 && string(body) == "ok" {
				return c
			}
			last = strings.TrimSpace(string(body))
			if err != nil {
				last = err.Error()
			}
		} else {
			last = "status " + c.Status
		}
		time.Sleep(200 * time.Millisecond)
	}
	logs, _ := r.Logs(ctx, id, 20)
	t.Fatalf("container %s not healthy after %s (last: %s); logs:\n%s", id, healthWait, last, strings.Join(logs, "\n"))
	return nil
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	status, body, err := runtime.ProbeHTTP(context.Background(), url, 5*time.Second)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return status, body
}

type standinInfo struct {
	Args          []string          `json:"args"`
	Env           map[string]string `json:"env"`
	Cwd           string            `json:"cwd"`
	Script        string            `json:"script"`
	ScriptContent string            `json:"script_content"`
	Options       map[string]string `json:"options"`
	Installed     string            `json:"installed"`
	PID           int               `json:"pid"`
	StartedAt     string            `json:"started_at"`
	Hostname      string            `json:"hostname"`
}

func info(t *testing.T, ip string) standinInfo {
	t.Helper()
	status, body := get(t, "http://"+ip+":8501/_standin/info")
	var in standinInfo
	if status != 200 {
		t.Fatalf("info: status %d: %s", status, body)
	}
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatalf("info: %v: %s", err, body)
	}
	return in
}

func TestNewFailsWithoutDocker(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := runtime.New(ctx, hclog.NewNullLogger(), runtime.Options{})
	if err == nil || !strings.Contains(err.Error(), "connect to docker") {
		t.Fatalf("New with no daemon: err = %v, want a connect error", err)
	}
}

func TestEnsureEnvImageWithoutFilesReturnsBase(t *testing.T) {
	t.Parallel()
	r, _ := newRuntime(t)
	img, built, err := r.EnsureEnvImage(context.Background(), agenttest.StandinImage, nil)
	if err != nil || built || img != agenttest.StandinImage {
		t.Fatalf("EnsureEnvImage(no files) = %q, %v, %v; want the base, false, nil", img, built, err)
	}
}

func TestEnsureEnvImageMissingBase(t *testing.T) {
	t.Parallel()
	r, _ := newRuntime(t)
	base := "runtime-test/missing-" + uniq(t) + ":1"
	for _, files := range []map[string][]byte{nil, {"requirements.txt": []byte("x\n")}} {
		_, _, err := r.EnsureEnvImage(context.Background(), base, files)
		if err == nil {
			t.Fatal("no error for a missing base image")
		}
		if want := "image " + base + " not found on this host: pull or build it"; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if !errors.Is(err, runtime.ErrImageNotFound) || runtime.IsNotFound(err) {
			t.Errorf("error %v: errors.Is(ErrImageNotFound)=%v, IsNotFound=%v; want true, false",
				err, errors.Is(err, runtime.ErrImageNotFound), runtime.IsNotFound(err))
		}
	}
}

func TestEnsureEnvImageRejectsBadFiles(t *testing.T) {
	t.Parallel()
	r, _ := newRuntime(t)
	for _, files := range []map[string][]byte{
		{"pyproject.toml": []byte("[project]\n")},
		{"requirements.txt": []byte("x"), "../evil": []byte("x")},
		{"requirements.txt": []byte("x"), "sub/dir.txt": []byte("x")},
	} {
		if img, _, err := r.EnsureEnvImage(context.Background(), agenttest.StandinImage, files); err == nil {
			t.Errorf("files %v accepted (image %s)", files, img)
		}
	}
}

// removeImage removes an environment image and its intermediate parents.
func removeImage(t *testing.T, cli *client.Client, ref string) {
	t.Helper()
	if _, err := cli.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil && !client.IsErrNotFound(err) {
		t.Errorf("remove image %s: %v", ref, err)
	}
}

func TestEnsureEnvImageBuildsOnceAndInstalls(t *testing.T) {
	t.Parallel()
	r, cli := newRuntime(t)
	ctx := context.Background()
	token := uniq(t)
	reqs := "streamlit==1.41.1\npandas>=2 # " + token + "\n"
	files := map[string][]byte{"requirements.txt": []byte(reqs)}

	start := time.Now()
	img, built, err := r.EnsureEnvImage(ctx, agenttest.StandinImage, files)
	if err != nil {
		t.Fatalf("EnsureEnvImage: %v", err)
	}
	t.Cleanup(func() { removeImage(t, cli, img) })
	t.Logf("built %s in %s", img, time.Since(start))
	if !built || !strings.HasPrefix(img, "runtime-env:") || len(img) != len("runtime-env:")+16 {
		t.Fatalf("first EnsureEnvImage = %q, built=%v; want a fresh runtime-env:<16 hex> image", img, built)
	}
	again, built, err := r.EnsureEnvImage(ctx, agenttest.StandinImage, map[string][]byte{"requirements.txt": []byte(reqs)})
	if err != nil || built || again != img {
		t.Fatalf("second EnsureEnvImage = %q, built=%v, err=%v; want %q, false, nil", again, built, err, img)
	}
	inspect, err := cli.ImageInspect(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if inspect.Config.Labels[runtime.LabelManaged] != "true" || inspect.Config.Labels[runtime.LabelEnvBase] != agenttest.StandinImage {
		t.Errorf("image labels = %v", inspect.Config.Labels)
	}

	// A different file set is a different environment.
	other, built, err := r.EnsureEnvImage(ctx, agenttest.StandinImage, map[string][]byte{"requirements.txt": []byte(reqs + "rich\n")})
	if err != nil {
		t.Fatalf("EnsureEnvImage(other): %v", err)
	}
	t.Cleanup(func() { removeImage(t, cli, other) })
	if !built || other == img {
		t.Errorf("changed requirements gave %q (built=%v), same as %q", other, built, img)
	}

	// An app started from the image sees what pip installed at build time.
	spec := streamlitSpec("runtime-test-env-"+token, appDir(t, "import streamlit as st\n"), nil, map[string]string{labelProject: token})
	spec.Image = img
	id := create(t, r, spec)
	c := waitHealthy(t, r, id)
	if got := info(t, c.IP).Installed; got != reqs {
		t.Errorf("installed.txt in the env image = %q, want %q", got, reqs)
	}
	if status, body := get(t, "http://"+c.IP+":8501/_standin/file?path=/opt/runtime/deps/requirements.txt"); status != 200 || string(body) != reqs {
		t.Errorf("deps file in image: %d %q", status, body)
	}
}

func TestEnsureEnvImageBuildFailure(t *testing.T) {
	t.Parallel()
	r, cli := newRuntime(t)
	ctx := context.Background()
	files := map[string][]byte{"requirements.txt": []byte("ok-package\nbroken-STANDIN_PIP_FAIL-" + uniq(t) + "\n")}

	base, err := cli.ImageInspect(ctx, agenttest.StandinImage)
	if err != nil {
		t.Fatal(err)
	}
	hash := runtime.EnvHash(base.ID, files)
	t.Cleanup(func() {
		// The failed build leaves its cached COPY step behind, labelled
		// with the hash.
		imgs, err := cli.ImageList(context.Background(), image.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", runtime.LabelEnvHash+"="+hash))})
		if err != nil {
			t.Errorf("list images: %v", err)
		}
		for _, im := range imgs {
			removeImage(t, cli, im.ID)
		}
	})

	img, built, err := r.EnsureEnvImage(ctx, agenttest.StandinImage, files)
	if err == nil {
		t.Fatalf("build with a failing pip install succeeded: %s (built=%v)", img, built)
	}
	msg := err.Error()
	t.Logf("build error: %s", msg)
	for _, want := range []string{"build environment image runtime-env:" + hash, "No matching distribution found for broken-STANDIN_PIP_FAIL", "lines of build output", "Collecting ok-package"} {
		if !strings.Contains(msg, want) {
			t.Errorf("build error lacks %q", want)
		}
	}
	if n := strings.Count(msg[strings.Index(msg, "lines of build output"):], "\n"); n > 20 {
		t.Errorf("build error quotes %d lines, want at most 20", n)
	}
	if _, err := cli.ImageInspect(ctx, "runtime-env:"+hash); !client.IsErrNotFound(err) {
		t.Errorf("failed build left a tagged image (err=%v)", err)
	}
}

// trickyValue must reach the app byte for byte: env goes through the API,
// never through a shell.
const trickyValue = "dollar $HOME ${PATH} `id` $(id) \"double\" 'single'  two  spaces a=b=c\nsecond line\ttab ünïcødé ✓ 日本 \\backslash"

func TestContainerLifecycle(t *testing.T) {
	t.Parallel()
	r, cli := newRuntime(t)
	ctx := context.Background()
	token := uniq(t)
	marker := "MARKER-" + token
	dir := appDir(t, "import streamlit as st\nst.title(\""+marker+"\")\n")
	name := "runtime-test-" + token
	env := []string{"PYTHONUNBUFFERED=1", "TRICKY=" + trickyValue, "EMPTY="}
	labels := map[string]string{labelProject: token, "io.runtimeops.generation": "1"}
	spec := streamlitSpec(name, dir, env, labels)
	spec.MemoryMB, spec.CPUs = 128, 0.5
	id := create(t, r, spec)

	c := waitHealthy(t, r, id)
	if c.Name != name || c.ID != id || c.Image != agenttest.StandinImage || !c.Running || c.Restarting || c.Status != "running" || c.StartedAt.IsZero() {
		t.Errorf("inspect = %+v", c)
	}
	if c.Labels[runtime.LabelManaged] != "true" || c.Labels[labelProject] != token {
		t.Errorf("labels = %v", c.Labels)
	}

	// What Docker was told.
	raw, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	hc := raw.HostConfig
	if hc.RestartPolicy.Name != container.RestartPolicyUnlessStopped || hc.Init == nil || !*hc.Init ||
		hc.LogConfig.Type != "json-file" || hc.LogConfig.Config["max-size"] != "10m" || hc.LogConfig.Config["max-file"] != "3" ||
		hc.Memory != 128<<20 || hc.NanoCPUs != 5e8 || len(hc.PortBindings) != 0 || string(hc.NetworkMode) != r.Network() {
		t.Errorf("host config: restart=%v init=%v log=%v mem=%d cpu=%d ports=%v net=%s",
			hc.RestartPolicy, hc.Init, hc.LogConfig, hc.Memory, hc.NanoCPUs, hc.PortBindings, hc.NetworkMode)
	}
	if len(raw.Mounts) != 1 || raw.Mounts[0].RW || raw.Mounts[0].Destination != "/app" {
		t.Errorf("mounts = %+v, want /app read-only", raw.Mounts)
	}
	if raw.Config.StopTimeout == nil || *raw.Config.StopTimeout != 5 {
		t.Errorf("stop timeout = %v", raw.Config.StopTimeout)
	}

	// What the app sees.
	if status, body := get(t, "http://"+c.IP+":8501/"); status != 200 || !bytes.Contains(body, []byte(marker)) {
		t.Errorf("GET / = %d, body lacks the marker: %q", status, body)
	}
	in := info(t, c.IP)
	if want := spec.Cmd[1:]; !reflect.DeepEqual(in.Args, want) {
		t.Errorf("args = %q, want %q", in.Args, want)
	}
	if in.Env["TRICKY"] != trickyValue {
		t.Errorf("TRICKY arrived as %q, want %q", in.Env["TRICKY"], trickyValue)
	}
	if v, ok := in.Env["EMPTY"]; !ok || v != "" {
		t.Errorf("EMPTY = %q (present %v)", v, ok)
	}
	if in.Env["PYTHONUNBUFFERED"] != "1" || in.Env["HOME"] != "/root" || in.Cwd != "/app" || !strings.Contains(in.ScriptContent, marker) {
		t.Errorf("info: env=%v cwd=%q script=%q", in.Env, in.Cwd, in.ScriptContent)
	}
	if in.Options["server.headless"] != "true" {
		t.Errorf("options = %v", in.Options)
	}
	if status, body := get(t, "http://"+c.IP+":8501/_standin/file?path=/app/app.py"); status != 200 || !bytes.Contains(body, []byte(marker)) {
		t.Errorf("mounted file: %d %q", status, body)
	}

	// List finds it by label, and only it.
	list, err := r.List(ctx, map[string]string{labelProject: token})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || !list[0].Running || list[0].IP != c.IP {
		t.Errorf("List(project=%s) = %+v", token, list)
	}
	if list, err := r.List(ctx, map[string]string{labelProject: token, "io.runtimeops.generation": "2"}); err != nil || len(list) != 0 {
		t.Errorf("List(generation 2) = %+v, %v; want none", list, err)
	}

	lines, err := r.Logs(ctx, id, 50)
	if err != nil || !strings.Contains(strings.Join(lines, "\n"), "You can now view your Streamlit app in your browser.") {
		t.Errorf("logs = %q, %v", lines, err)
	}
	if lines, err := r.Logs(ctx, id, 1); err != nil || len(lines) != 1 {
		t.Errorf("Logs(tail 1) = %q, %v", lines, err)
	}

	// Stop: SIGTERM reaches the app through init and it exits cleanly.
	if err := r.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	c, err = r.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Running || c.Restarting || c.Status != "exited" || c.ExitCode != 0 || c.FinishedAt.IsZero() {
		t.Errorf("after stop: running=%v restarting=%v status=%s exit=%d finished=%v", c.Running, c.Restarting, c.Status, c.ExitCode, c.FinishedAt)
	}
	if err := r.Stop(ctx, id, time.Second); err != nil {
		t.Errorf("stopping a stopped container: %v", err)
	}
	if list, _ := r.List(ctx, map[string]string{labelProject: token}); len(list) != 1 || list[0].Running {
		t.Errorf("List after stop = %+v; want the stopped container", list)
	}

	// Start again: a new process.
	if err := r.Start(ctx, id); err != nil {
		t.Fatalf("start: %v", err)
	}
	c = waitHealthy(t, r, id)
	if in2 := info(t, c.IP); in2.StartedAt == in.StartedAt {
		t.Errorf("started_at unchanged after restart: %s", in2.StartedAt)
	}
	if err := r.Start(ctx, id); err != nil {
		t.Errorf("starting a running container: %v", err)
	}

	// FollowLogs streams until the context ends.
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var buf lockedBuffer
	if err := r.FollowLogs(fctx, id, 0, &buf); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FollowLogs = %v, want the context's deadline error", err)
	}
	if got := buf.String(); strings.Count(got, "You can now view your Streamlit app") != 2 {
		t.Errorf("followed logs should show both starts: %q", got)
	}

	// Create with the same name replaces the container.
	id2 := create(t, r, spec)
	if id2 == id {
		t.Fatal("Create returned the old container")
	}
	if _, err := r.Inspect(ctx, id); !runtime.IsNotFound(err) {
		t.Errorf("old container after replace: err = %v, want not found", err)
	}
	waitHealthy(t, r, id2)

	if err := r.Remove(ctx, id2); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if _, err := r.Inspect(ctx, id2); !runtime.IsNotFound(err) {
		t.Errorf("inspect after remove: err = %v, want not found", err)
	}
	if err := r.Remove(ctx, id2); err != nil {
		t.Errorf("removing a removed container: %v", err)
	}
	if err := r.Stop(ctx, id2, time.Second); !runtime.IsNotFound(err) {
		t.Errorf("stopping a removed container: err = %v, want not found", err)
	}
	if _, err := r.Logs(ctx, id2, 10); !runtime.IsNotFound(err) {
		t.Errorf("logs of a removed container: err = %v, want not found", err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCrashingApp(t *testing.T) {
	t.Parallel()
	r, _ := newRuntime(t)
	ctx := context.Background()
	token := uniq(t)
	id := create(t, r, streamlitSpec("runtime-test-crash-"+token, appDir(t, "# STANDIN_CRASH\n"), nil, map[string]string{labelProject: token}))

	deadline := time.Now().Add(healthWait)
	var c *runtime.Container
	for {
		var err error
		if c, err = r.Inspect(ctx, id); err != nil {
			t.Fatal(err)
		}
		// unless-stopped keeps restarting it; catch it between runs.
		if !c.Running && c.ExitCode == 3 && c.RestartCount >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("crashing app: %+v", c)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c.Status != "restarting" && c.Status != "exited" {
		t.Errorf("status = %q", c.Status)
	}
	lines, err := r.Logs(ctx, id, 20)
	if err != nil {
		t.Fatal(err)
	}
	logs := strings.Join(lines, "\n")
	for _, want := range []string{"standin: crashing as asked", "contains STANDIN_CRASH", "exiting with status 3"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	// It flaps between runs, so List may catch it up or down.
	list, err := r.List(ctx, map[string]string{labelProject: token})
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Errorf("List = %+v, %v", list, err)
	}
}

func TestCreateErrors(t *testing.T) {
	t.Parallel()
	r, cli := newRuntime(t)
	ctx := context.Background()
	token := uniq(t)

	// A missing image is reported as such (never pulled).
	spec := streamlitSpec("runtime-test-noimg-"+token, appDir(t, "x\n"), nil, nil)
	spec.Image = "runtime-test/missing-" + token + ":1"
	if _, err := r.Create(ctx, spec); !errors.Is(err, runtime.ErrImageNotFound) {
		t.Errorf("Create with a missing image: err = %v, want ErrImageNotFound", err)
	}

	// A name held by a container the agent does not manage is not taken.
	name := "runtime-test-foreign-" + token
	foreign, err := cli.ContainerCreate(ctx, &container.Config{Image: agenttest.StandinImage}, nil, nil, nil, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), foreign.ID, container.RemoveOptions{Force: true})
	})
	spec = streamlitSpec(name, appDir(t, "x\n"), nil, nil)
	if _, err := r.Create(ctx, spec); err == nil || !strings.Contains(err.Error(), "does not manage") {
		t.Errorf("Create over a foreign container: err = %v", err)
	}
	if _, err := cli.ContainerInspect(ctx, foreign.ID); err != nil {
		t.Errorf("foreign container was touched: %v", err)
	}

	// A bind mount of a missing directory fails at create or start, and
	// leaves nothing behind.
	spec = streamlitSpec("runtime-test-nomount-"+token, "/nonexistent/"+token, nil, map[string]string{labelProject: token})
	if id, err := r.Create(ctx, spec); err == nil {
		r.Remove(ctx, id)
		t.Errorf("Create with a missing mount source succeeded")
	}
	if list, err := r.List(ctx, map[string]string{labelProject: token}); err != nil || len(list) != 0 {
		t.Errorf("leftovers after failed create: %+v, %v", list, err)
	}
}

// TestBasePathAndWebsocket checks the stand-in behaves as the proxy tests
// need inside a real container: every route under the base path, and a
// websocket at _stcore/stream that echoes.
func TestBasePathAndWebsocket(t *testing.T) {
	t.Parallel()
	r, _ := newRuntime(t)
	token := uniq(t)
	spec := streamlitSpec("runtime-test-prefix-"+token, appDir(t, "x\n"), nil, map[string]string{labelProject: token})
	spec.Cmd = append(spec.Cmd, "--server.baseUrlPath=/apps/"+token)
	id := create(t, r, spec)

	var c *runtime.Container
	deadline := time.Now().Add(healthWait)
	for {
		var err error
		if c, err = r.Inspect(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if c.IP != "" {
			if status, _, err := runtime.ProbeHTTP(context.Background(), "http://"+c.IP+":8501/apps/"+token+"/_stcore/health", time.Second); err == nil && status == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy under the base path: %+v", c)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if status, _ := get(t, "http://"+c.IP+":8501/_stcore/health"); status != 404 {
		t.Errorf("health outside the base path = %d, want 404", status)
	}

	conn, err := net.DialTimeout("tcp", c.IP+":8501", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	const key = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455's sample
	fmt.Fprintf(conn, "GET /apps/%s/_stcore/stream HTTP/1.1\r\nHost: app\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", token, key)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %s %v", resp.Status, resp.Header)
	}
	// A masked text frame "hi", as a browser sends it.
	mask := []byte{7, 7, 7, 7}
	conn.Write([]byte{0x81, 0x80 | 2, mask[0], mask[1], mask[2], mask[3], 'h' ^ 7, 'i' ^ 7})
	echo := make([]byte, 4)
	if _, err := io.ReadFull(br, echo); err != nil || !bytes.Equal(echo, []byte{0x81, 2, 'h', 'i'}) {
		t.Errorf("echo = %v, %v; want an unmasked text frame \"hi\"", echo, err)
	}
}

// TestSlowAndUnhealthyApps covers the switches a test repository uses to
// exercise the agent's health gate.
func TestSlowAndUnhealthyApps(t *testing.T) {
	t.Parallel()
	r, _ := newRuntime(t)
	ctx := context.Background()
	token := uniq(t)
	slow := create(t, r, streamlitSpec("runtime-test-slow-"+token, appDir(t, "# STANDIN_SLOW_START=3\n"), nil, map[string]string{labelProject: token}))
	sick := create(t, r, streamlitSpec("runtime-test-sick-"+token, appDir(t, "# STANDIN_UNHEALTHY\n"), nil, map[string]string{labelProject: token}))

	c, err := r.Inspect(ctx, slow)
	if err != nil {
		t.Fatal(err)
	}
	if status, _, err := runtime.ProbeHTTP(ctx, "http://"+c.IP+":8501/_stcore/health", time.Second); err == nil {
		t.Errorf("slow app answered %d at once", status)
	}
	waitHealthy(t, r, slow)

	deadline := time.Now().Add(healthWait)
	for {
		c, err := r.Inspect(ctx, sick)
		if err != nil {
			t.Fatal(err)
		}
		status, body, err := runtime.ProbeHTTP(ctx, "http://"+c.IP+":8501/_stcore/health", time.Second)
		if err == nil {
			if status != 503 {
				t.Errorf("unhealthy app: %d %q", status, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unhealthy app never answered: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if list, err := r.List(ctx, map[string]string{labelProject: token}); err != nil || len(list) != 2 || list[0].ID != sick || list[1].ID != slow {
		t.Errorf("List = %+v, %v; want both, sorted by name", list, err)
	}
}
