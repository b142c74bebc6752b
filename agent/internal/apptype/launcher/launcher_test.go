package launcher

// These tests run the real launcher with the host's python3 and Flask
// (Debian: apt-get install python3-flask). Dash itself is replaced by a
// small fake module with the parts the launcher touches (.server, .layout,
// .callback, .config.routes_pathname_prefix, and Dash's catch-all route),
// so no PyPI package is needed. They never skip.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const fakeDash = `"""A fake of the parts of dash.Dash the launcher relies on."""
import os

import flask


class _Config(dict):
    __getattr__ = dict.get


class Dash(object):
    def __init__(self, name=None, server=True, url_base_pathname=None,
                 routes_pathname_prefix=None, requests_pathname_prefix=None, **kwargs):
        self.server = server if isinstance(server, flask.Flask) else flask.Flask(name or "__main__")
        routes = (routes_pathname_prefix or os.environ.get("DASH_ROUTES_PATHNAME_PREFIX")
                  or url_base_pathname or os.environ.get("DASH_URL_BASE_PATHNAME") or "/")
        self.config = _Config(routes_pathname_prefix=routes,
                              requests_pathname_prefix=requests_pathname_prefix or routes)
        self.layout = None
        # Like Dash: the page at the prefix and at every path below it.
        self.server.add_url_rule(routes, "dash_index", lambda: "dash index")
        self.server.add_url_rule(routes + "<path:path>", "dash_catchall", lambda path: "dash index")

    def callback(self, *args, **kwargs):
        return lambda f: f

    def run(self, *args, **kwargs):
        raise SystemExit("the dev server must not start")

    run_server = run
`

// driver imports the launcher as gunicorn would and prints one result line.
const driver = `import json, os, sys
sys.path.insert(0, os.environ["LAUNCHER_DIR"])  # gunicorn --pythonpath
out = {}
try:
    import runtime_dash
except BaseException as e:
    out["error"] = "%s: %s" % (type(e).__name__, e)
else:
    app = runtime_dash.application
    out["dash_imported"] = "dash" in sys.modules
    if hasattr(app, "test_client"):
        client = app.test_client()
    else:
        from werkzeug.test import Client
        client = Client(app)
    out["responses"] = {}
    for p in json.loads(os.environ["PATHS"]):
        r = client.get(p)
        out["responses"][p] = [r.status_code, r.get_data(as_text=True)]
print("RESULT:" + json.dumps(out))
`

var (
	pythonOnce sync.Once
	pythonErr  string
)

// requirePython fails the test unless python3 with Flask is installed.
func requirePython(t *testing.T) {
	t.Helper()
	pythonOnce.Do(func() {
		if _, err := exec.LookPath("python3"); err != nil {
			pythonErr = "python3 is not on PATH; the Dash launcher tests need it: apt-get install -y python3 python3-flask"
			return
		}
		if out, err := exec.Command("python3", "-c", "import flask, werkzeug").CombinedOutput(); err != nil {
			pythonErr = "python3 cannot import flask (" + strings.TrimSpace(string(out)) + "); the Dash launcher tests need it: apt-get install -y python3-flask"
		}
	})
	if pythonErr != "" {
		t.Fatal(pythonErr)
	}
}

type launchResult struct {
	Error        string            `json:"error"`
	DashImported bool              `json:"dash_imported"`
	Responses    map[string][2]any `json:"responses"`
	raw          string
}

func (r launchResult) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, ok := r.Responses[path]
	if !ok {
		t.Fatalf("no response for %s in %s", path, r.raw)
	}
	code, _ := resp[0].(float64)
	body, _ := resp[1].(string)
	return int(code), body
}

// launch writes files (relative to a fresh repository root), the launcher
// and the fake dash, then imports the launcher in a fresh python3 with env
// and GETs paths.
func launch(t *testing.T, files map[string]string, env map[string]string, paths ...string) launchResult {
	t.Helper()
	requirePython(t)
	tmp := t.TempDir()
	root := filepath.Join(tmp, "app")
	write := func(p, content string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		write(filepath.Join(root, name), content)
	}
	write(filepath.Join(tmp, "launcher", DashFile), string(DashLauncher))
	write(filepath.Join(tmp, "site", "dash", "__init__.py"), fakeDash)
	write(filepath.Join(tmp, "driver.py"), driver)

	pj, _ := json.Marshal(paths)
	cmd := exec.Command("python3", "-B", filepath.Join(tmp, "driver.py"))
	cmd.Dir = root // gunicorn --chdir
	cmd.Env = append(os.Environ(),
		"PYTHONPATH="+filepath.Join(tmp, "site"),
		"LAUNCHER_DIR="+filepath.Join(tmp, "launcher"),
		"PATHS="+string(pj),
		DashRootEnv+"="+root,
	)
	for _, k := range []string{DashEntryEnv, "DASH_URL_BASE_PATHNAME", "DASH_ROUTES_PATHNAME_PREFIX", "DASH_REQUESTS_PATHNAME_PREFIX"} {
		cmd.Env = append(cmd.Env, k+"=")
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+strings.ReplaceAll(v, "$ROOT", root))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("python3 driver: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	var res launchResult
	for _, line := range strings.Split(stdout.String(), "\n") {
		if j, ok := strings.CutPrefix(line, "RESULT:"); ok {
			res.raw = j
			if err := json.Unmarshal([]byte(j), &res); err != nil {
				t.Fatalf("driver result %q: %v", j, err)
			}
			return res
		}
	}
	t.Fatalf("driver printed no result\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
	return res
}

func expect(t *testing.T, r launchResult, path string, code int, body string) {
	t.Helper()
	if r.Error != "" {
		t.Fatalf("launcher failed: %s", r.Error)
	}
	gotCode, gotBody := r.get(t, path)
	if gotCode != code || (body != "" && gotBody != body) {
		t.Errorf("GET %s = %d %q, want %d %q", path, gotCode, gotBody, code, body)
	}
}

func entry(p string) map[string]string { return map[string]string{DashEntryEnv: "$ROOT/" + p} }

func TestLauncherEmbedded(t *testing.T) {
	src := string(DashLauncher)
	for _, want := range []string{"application = _application()", DashEntryEnv, DashRootEnv, DashHealthRoute, `"__runtime_app__"`} {
		if !strings.Contains(src, want) {
			t.Errorf("runtime_dash.py lacks %q", want)
		}
	}
	if DashApp != "runtime_dash:application" || DashFile != DashModule+".py" {
		t.Errorf("DashApp = %q, DashFile = %q", DashApp, DashFile)
	}
}

func TestLauncherUsesServer(t *testing.T) {
	t.Parallel()
	r := launch(t, map[string]string{"app.py": `import dash
app = dash.Dash(__name__)
server = app.server

@server.route("/hello")
def hello():
    return "hello from " + __name__
`}, entry("app.py"), "/_agent/health", "/hello", "/", "/some/page")
	expect(t, r, "/_agent/health", 200, "ok")
	expect(t, r, "/hello", 200, "hello from __runtime_app__")
	expect(t, r, "/", 200, "dash index")
	expect(t, r, "/some/page", 200, "dash index")
}

func TestLauncherFindsDashInstance(t *testing.T) {
	t.Parallel()
	// The prefix comes from the instance's config, beating the env.
	r := launch(t, map[string]string{"app.py": `from dash import Dash
import os

helper = object()
my_dashboard = Dash(__name__, url_base_pathname="/sales/")

@my_dashboard.server.route("/sales/hello")
def hello():
    return "hello from b"
`}, map[string]string{DashEntryEnv: "$ROOT/app.py", "DASH_URL_BASE_PATHNAME": "/other/"},
		"/sales/_agent/health", "/sales/hello", "/_agent/health", "/other/_agent/health")
	expect(t, r, "/sales/_agent/health", 200, "ok")
	expect(t, r, "/sales/hello", 200, "hello from b")
	expect(t, r, "/_agent/health", 404, "")
	expect(t, r, "/other/_agent/health", 404, "")
}

func TestLauncherSkipsMainBlock(t *testing.T) {
	t.Parallel()
	r := launch(t, map[string]string{"app.py": `import dash
app = dash.Dash(__name__)

@app.server.route("/hello")
def hello():
    return "hello from c"

if __name__ == "__main__":
    app.run_server(debug=True)
    raise SystemExit("must not run")
`}, entry("app.py"), "/_agent/health", "/hello")
	expect(t, r, "/_agent/health", 200, "ok")
	expect(t, r, "/hello", 200, "hello from c")
}

func TestLauncherNoDashInstance(t *testing.T) {
	t.Parallel()
	r := launch(t, map[string]string{"app.py": `import dash

def make_app():
    return dash.Dash(__name__)

if __name__ == "__main__":
    make_app().run()
`}, entry("app.py"))
	for _, want := range []string{"RuntimeError", "app.py", "defines no `server` and no Dash instance", "define server = app.server or create a dash.Dash instance at module level"} {
		if !strings.Contains(r.Error, want) {
			t.Errorf("error %q lacks %q", r.Error, want)
		}
	}
}

func TestLauncherEntryMissing(t *testing.T) {
	t.Parallel()
	r := launch(t, nil, nil)
	if !strings.Contains(r.Error, "RuntimeError") || !strings.Contains(r.Error, DashEntryEnv+" is not set") {
		t.Errorf("unset entry: error %q", r.Error)
	}
	r = launch(t, nil, entry("nope.py"))
	if !strings.Contains(r.Error, DashEntryEnv+"=") || !strings.Contains(r.Error, "nope.py: no such file") {
		t.Errorf("missing file: error %q", r.Error)
	}
}

func TestLauncherPlainFlaskWithoutDash(t *testing.T) {
	t.Parallel()
	// No Dash instance to read a prefix from: the env gives it, and dash
	// is never imported.
	r := launch(t, map[string]string{"app.py": `import flask
server = flask.Flask(__name__)

@server.route("/q/hello")
def hello():
    return "hello from flask"
`}, map[string]string{DashEntryEnv: "$ROOT/app.py", "DASH_URL_BASE_PATHNAME": "/q/"}, "/q/_agent/health", "/q/hello", "/_agent/health")
	expect(t, r, "/q/_agent/health", 200, "ok")
	expect(t, r, "/q/hello", 200, "hello from flask")
	expect(t, r, "/_agent/health", 404, "")
	if r.DashImported {
		t.Error("the launcher imported dash for an app that does not use it")
	}

	r = launch(t, map[string]string{"app.py": "import flask\nserver = flask.Flask(__name__)\n"},
		map[string]string{DashEntryEnv: "$ROOT/app.py", "DASH_ROUTES_PATHNAME_PREFIX": "/r/"}, "/r/_agent/health")
	expect(t, r, "/r/_agent/health", 200, "ok")
}

func TestLauncherPlainWSGI(t *testing.T) {
	t.Parallel()
	r := launch(t, map[string]string{"app.py": `def server(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"plain wsgi"]
`}, entry("app.py"), "/_agent/health", "/anything")
	expect(t, r, "/_agent/health", 200, "ok")
	expect(t, r, "/anything", 200, "plain wsgi")
}

func TestLauncherServerIsTheDashInstance(t *testing.T) {
	t.Parallel()
	r := launch(t, map[string]string{"app.py": `import dash
server = dash.Dash(__name__, routes_pathname_prefix="/s/")
`}, entry("app.py"), "/s/_agent/health", "/s/")
	expect(t, r, "/s/_agent/health", 200, "ok")
	expect(t, r, "/s/", 200, "dash index")
}

func TestLauncherImportsAndAppFolder(t *testing.T) {
	t.Parallel()
	// The app's folder comes first on sys.path, then the repository root;
	// Flask(__name__) finds the app's folder (assets/, templates/).
	r := launch(t, map[string]string{
		"shared.py":            "WHO = 'root'\n",
		"apps/sales/helper.py": "WHO = 'sibling'\n",
		"apps/sales/shared.py": "WHO = 'sibling shared'\n",
		"apps/sales/app.py": `import dash
import helper, shared
app = dash.Dash(__name__)
server = app.server

@server.route("/who")
def who():
    return helper.WHO + "|" + shared.WHO + "|" + server.root_path
`,
	}, entry("apps/sales/app.py"), "/who")
	_, body := r.get(t, "/who")
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	parts := strings.Split(body, "|")
	if len(parts) != 3 || parts[0] != "sibling" || parts[1] != "sibling shared" || !strings.HasSuffix(parts[2], filepath.Join("app", "apps", "sales")) {
		t.Errorf("/who = %q, want sibling|sibling shared|<root>/apps/sales", body)
	}

	r = launch(t, map[string]string{
		"lib/__init__.py": "WHO = 'root lib'\n",
		"apps/app.py": `import dash, lib
app = dash.Dash(__name__)
server = app.server

@server.route("/who")
def who():
    return lib.WHO
`,
	}, entry("apps/app.py"), "/who")
	expect(t, r, "/who", 200, "root lib")
}
