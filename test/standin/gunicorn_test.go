package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// agentDashCmd is the command line runtime-agent runs for Dash apps.
var agentDashCmd = []string{"gunicorn", "--bind", "0.0.0.0:8050", "--workers", "2", "--threads", "4", "--timeout", "120",
	"--chdir", "/app", "--pythonpath", "/opt/runtime/dash", "runtime_dash:application"}

func TestParseGunicorn(t *testing.T) {
	cfg, err := parseGunicorn(agentDashCmd[1:], func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	want := &gunicornConfig{Binds: []string{"0.0.0.0:8050"}, Workers: 2, Threads: 4, Timeout: 120, Chdir: "/app",
		PythonPath: []string{"/opt/runtime/dash"}, App: "runtime_dash:application", Module: "runtime_dash", Attr: "application",
		Env: map[string]string{}, Options: map[string]string{"--bind": "0.0.0.0:8050", "--workers": "2", "--threads": "4",
			"--timeout": "120", "--chdir": "/app", "--pythonpath": "/opt/runtime/dash"}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}

	cfg, err = parseGunicorn([]string{"-b0.0.0.0:1", "--bind=[::]:2", "-w", "3", "-t=9", "--pythonpath", "/a,/b", "-e", "K=V", "--preload", "--access-logfile", "-", "pkg.mod"},
		func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Binds, []string{"0.0.0.0:1", "[::]:2"}) || cfg.Workers != 3 || cfg.Timeout != 9 ||
		!reflect.DeepEqual(cfg.PythonPath, []string{"/a", "/b"}) || cfg.Env["K"] != "V" || cfg.Module != "pkg.mod" || cfg.Attr != "application" {
		t.Errorf("short forms: %+v", cfg)
	}

	// Defaults: $PORT and $WEB_CONCURRENCY, else 127.0.0.1:8000 and 1.
	env := map[string]string{"PORT": "9999", "WEB_CONCURRENCY": "5"}
	cfg, _ = parseGunicorn([]string{"m:a"}, func(k string) string { return env[k] })
	if !reflect.DeepEqual(cfg.Binds, []string{"0.0.0.0:9999"}) || cfg.Workers != 5 || cfg.Threads != 1 || cfg.Timeout != 30 {
		t.Errorf("env defaults: %+v", cfg)
	}
	cfg, _ = parseGunicorn([]string{"m:a"}, func(string) string { return "" })
	if !reflect.DeepEqual(cfg.Binds, []string{"127.0.0.1:8000"}) || cfg.Workers != 1 {
		t.Errorf("defaults: %+v", cfg)
	}

	for _, bad := range [][]string{{"--nope", "m:a"}, {"--workers", "two", "m:a"}, {"m:a", "extra"}, {"--bind"}} {
		if _, err := parseGunicorn(bad, func(string) string { return "" }); err == nil {
			t.Errorf("%q accepted", bad)
		} else if _, ok := err.(gunicornUsageError); !ok {
			t.Errorf("%q: %v is not a usage error", bad, err)
		}
	}
	if _, err := parseGunicorn([]string{"--bind", "nope", "m:a"}, func(string) string { return "" }); err == nil {
		t.Error("bad bind address accepted")
	}
}

func TestDefinesName(t *testing.T) {
	for src, want := range map[string]bool{
		"application = _application()\n":    true,
		"application: object = make()\n":    true,
		"def application(environ, sr):\n":   true,
		"from x import application\n":       true,
		"import x as application\n":         true,
		"    application = 1\n":             false, // not module level
		"application == 1\n":                false,
		"applications = 1\n":                false,
		"# application = 1\nother = 2\n":    false,
		"x = 1\nclass application:\n  pass": true,
	} {
		if got := definesName(src, "application"); got != want {
			t.Errorf("definesName(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestDashPrefixes(t *testing.T) {
	for _, c := range []struct {
		env              map[string]string
		routes, requests string
		err              string
	}{
		{nil, "/", "/", ""},
		{map[string]string{"DASH_URL_BASE_PATHNAME": "/sales/"}, "/sales/", "/sales/", ""},
		{map[string]string{"DASH_ROUTES_PATHNAME_PREFIX": "/", "DASH_REQUESTS_PATHNAME_PREFIX": "/sales/"}, "/", "/sales/", ""},
		{map[string]string{"DASH_ROUTES_PATHNAME_PREFIX": "/x/"}, "/x/", "/x/", ""},
		{map[string]string{"DASH_APP_NAME": "oops"}, "/", "/oops/", ""},
		{map[string]string{"DASH_URL_BASE_PATHNAME": "/a/", "DASH_APP_NAME": "oops"}, "/a/", "/a/", ""},
		{map[string]string{"DASH_URL_BASE_PATHNAME": "/a/", "DASH_ROUTES_PATHNAME_PREFIX": "/a/"}, "", "", "You supplied `url_base_pathname` and `routes_pathname_prefix`."},
		{map[string]string{"DASH_URL_BASE_PATHNAME": "/a/", "DASH_REQUESTS_PATHNAME_PREFIX": "/a/"}, "", "", "You supplied `url_base_pathname` and `requests_pathname_prefix`."},
		{map[string]string{"DASH_URL_BASE_PATHNAME": "/a"}, "", "", "`routes_pathname_prefix` needs to end with `/`"},
		{map[string]string{"DASH_URL_BASE_PATHNAME": "a/"}, "", "", "`routes_pathname_prefix` needs to start with `/`"},
		{map[string]string{"DASH_ROUTES_PATHNAME_PREFIX": "/x/", "DASH_REQUESTS_PATHNAME_PREFIX": "/y/"}, "", "", "needs to ends with `routes_pathname_prefix`"},
	} {
		routes, requests, err := dashPrefixes(func(k string) string { return c.env[k] })
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: err = %v, want %q", c.env, err, c.err)
			}
			continue
		}
		if err != nil || routes != c.routes || requests != c.requests {
			t.Errorf("%v: %q %q %v, want %q %q", c.env, routes, requests, err, c.routes, c.requests)
		}
	}
}

// dashFixture is a repository and a launcher directory in a temp dir; the
// test's working directory is restored afterwards (gunicorn --chdir).
type dashFixture struct {
	root, launcher, entry string
}

func newDashFixture(t *testing.T, app string) dashFixture {
	t.Helper()
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	f := dashFixture{root: filepath.Join(dir, "app"), launcher: filepath.Join(dir, "launcher")}
	f.entry = filepath.Join(f.root, "app.py")
	os.MkdirAll(f.root, 0o755)
	os.MkdirAll(f.launcher, 0o755)
	os.WriteFile(f.entry, []byte(app), 0o644)
	os.WriteFile(filepath.Join(f.launcher, "runtime_dash.py"), []byte("import os\n\napplication = _application()\n"), 0o644)
	for _, k := range []string{"DASH_URL_BASE_PATHNAME", "DASH_ROUTES_PATHNAME_PREFIX", "DASH_REQUESTS_PATHNAME_PREFIX", "DASH_APP_NAME", "PORT"} {
		t.Setenv(k, "")
	}
	t.Setenv(dashEntryEnv, f.entry)
	return f
}

func (f dashFixture) cmd(app string) []string {
	return []string{"gunicorn", "--bind", "127.0.0.1:0", "--chdir", f.root, "--pythonpath", f.launcher, app}
}

func TestGunicornFailures(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(f dashFixture) []string
		code  int
		err   string
	}{
		{"launcher not mounted", func(f dashFixture) []string {
			os.Remove(filepath.Join(f.launcher, "runtime_dash.py"))
			return f.cmd("runtime_dash:application")
		}, 1, "ModuleNotFoundError: No module named 'runtime_dash'"},
		{"no such attribute", func(f dashFixture) []string { return f.cmd("runtime_dash:app") }, 1,
			"Failed to find attribute 'app' in 'runtime_dash'."},
		{"attribute path", func(f dashFixture) []string { return f.cmd("app:app.server") }, 1,
			"Failed to parse 'app.server' as an attribute name or function call."},
		{"entry unset", func(f dashFixture) []string {
			t.Setenv(dashEntryEnv, "")
			return f.cmd("runtime_dash:application")
		}, 1, "RUNTIME_DASH_ENTRY is not set"},
		{"entry missing", func(f dashFixture) []string {
			t.Setenv(dashEntryEnv, "/no/such/app.py")
			return f.cmd("runtime_dash:application")
		}, 1, "RUNTIME_DASH_ENTRY=/no/such/app.py: no such file"},
		{"crash", func(f dashFixture) []string {
			os.WriteFile(f.entry, []byte("# STANDIN_CRASH\n"), 0o644)
			return f.cmd("runtime_dash:application")
		}, 3, "standin: crashing as asked"},
		{"bad prefix", func(f dashFixture) []string {
			t.Setenv("DASH_URL_BASE_PATHNAME", "/sales")
			return f.cmd("runtime_dash:application")
		}, 1, "dash.exceptions.InvalidConfig: `routes_pathname_prefix` needs to end with `/`"},
		{"DASH_APP_NAME warns", func(f dashFixture) []string {
			t.Setenv("DASH_APP_NAME", "myapp")
			os.WriteFile(f.entry, []byte("# STANDIN_CRASH\n"), 0o644)
			return f.cmd("runtime_dash:application")
		}, 3, `WARNING: DASH_APP_NAME="myapp" is set`},
		{"no chdir", func(f dashFixture) []string {
			return []string{"gunicorn", "--chdir", "/no/such/dir", "runtime_dash:application"}
		}, 1, "Error: can't chdir to '/no/such/dir'"},
		{"no app", func(f dashFixture) []string { return []string{"gunicorn", "--workers", "2"} }, 1,
			"Error: No application module specified."},
		{"unknown option", func(f dashFixture) []string { return []string{"gunicorn", "--frobnicate", "x:y"} }, 2,
			"gunicorn: error: unrecognized arguments: --frobnicate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newDashFixture(t, "import dash\napp = dash.Dash(__name__)\n")
			args := c.setup(f)
			var out, errb bytes.Buffer
			code := run(args, &out, &errb)
			if code != c.code || !strings.Contains(errb.String(), c.err) {
				t.Errorf("%q: exit %d, stderr:\n%s\nwant exit %d with %q", args, code, errb.String(), c.code, c.err)
			}
		})
	}

	var out, errb bytes.Buffer
	if code := run([]string{"gunicorn", "--version"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "gunicorn (version 23") {
		t.Errorf("--version: %d %q", code, out.String())
	}
}

func TestGunicornLoadFindsModules(t *testing.T) {
	f := newDashFixture(t, "x = 1\n")
	os.WriteFile(filepath.Join(f.root, "wsgi.py"), []byte("from app import server\n"), 0o644)
	os.MkdirAll(filepath.Join(f.root, "pkg"), 0o755)
	os.WriteFile(filepath.Join(f.root, "pkg", "__init__.py"), []byte("def application(e, s):\n    pass\n"), 0o644)
	for app, want := range map[string]string{
		"runtime_dash:application": f.entry,                          // the launcher serves RUNTIME_DASH_ENTRY
		"wsgi:server":              filepath.Join(f.root, "wsgi.py"), // from the working directory
		"pkg":                      filepath.Join(f.root, "pkg", "__init__.py"),
	} {
		cfg, err := parseGunicorn(f.cmd(app)[1:], os.Getenv)
		if err != nil {
			t.Fatal(err)
		}
		var errb bytes.Buffer
		got, code := gunicornLoadApp(cfg, f.root, &errb)
		if code != 0 || got != want {
			t.Errorf("%s: %q %d %s, want %q", app, got, code, errb.String(), want)
		}
	}
}

func TestDashRoutes(t *testing.T) {
	f := newDashFixture(t, "import dash\napp = dash.Dash(__name__)  # MARKER-D\n")
	cfg, err := parseGunicorn(f.cmd("runtime_dash:application")[1:], os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newDashServer(cfg, f.entry, "", scriptSwitches{}, "/sales/", "/sales/"))
	t.Cleanup(srv.Close)
	for path, want := range map[string]int{
		"/sales/_agent/health": 200, "/sales/": 200, "/sales/page/2": 200, "/sales/_dash-layout": 200,
		"/sales/_dash-dependencies": 200, "/_standin/info": 200, "/sales/_standin/info": 200,
		"/": 404, "/_agent/health": 404, "/other/": 404,
	} {
		if code, _ := get(t, srv.URL+path); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
	if _, body := get(t, srv.URL+"/sales/_agent/health"); body != "ok" {
		t.Errorf("health body %q", body)
	}
	if _, body := get(t, srv.URL+"/sales/"); !strings.Contains(body, "MARKER-D") || !strings.Contains(body, `"requests_pathname_prefix": "/sales/"`) {
		t.Errorf("page: %q", body)
	}
	if code, body := get(t, srv.URL+"/sales/_dash-dependencies"); code != 200 || !json.Valid([]byte(body)) {
		t.Errorf("dependencies: %d %q", code, body)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(srv.URL + "/sales")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/sales/" {
		t.Errorf("GET /sales = %d -> %q, want 308 -> /sales/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Post(srv.URL+"/sales/_dash-update-component", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("callback POST = %d", resp.StatusCode)
	}

	_, body := get(t, srv.URL+"/sales/_standin/info")
	var info map[string]any
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatal(err)
	}
	if info["routes_pathname_prefix"] != "/sales/" || info["app"] != "runtime_dash:application" || info["workers"] != float64(1) ||
		!strings.Contains(info["script_content"].(string), "MARKER-D") || info["script_path"] != f.entry {
		t.Errorf("info: %v", info)
	}
	if code, body := get(t, srv.URL+"/_standin/file?path="+f.entry); code != 200 || !strings.Contains(body, "MARKER-D") {
		t.Errorf("file: %d %q", code, body)
	}

	unhealthy := httptest.NewServer(newDashServer(cfg, f.entry, "", readSwitches("# STANDIN_UNHEALTHY"), "/", "/"))
	t.Cleanup(unhealthy.Close)
	if code, _ := get(t, unhealthy.URL+"/_agent/health"); code != 503 {
		t.Errorf("unhealthy health = %d", code)
	}
	if code, _ := get(t, unhealthy.URL+"/_dash-dependencies"); code != 500 {
		t.Errorf("unhealthy dependencies = %d", code)
	}
	if code, _ := get(t, unhealthy.URL+"/"); code != 200 {
		t.Errorf("unhealthy page = %d", code)
	}
}
