package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The gunicorn personality serves a Dash app the way runtime-agent runs one:
//
//	gunicorn --bind 0.0.0.0:8050 --workers 2 --threads 4 --timeout 120 \
//	    --chdir /app --pythonpath /opt/runtime/dash runtime_dash:application
//
// No Python runs. What it checks is what would make the real thing fail:
// the options parse as gunicorn's do, the APP module is found on the Python
// path (so the agent's launcher must really be mounted), it defines the
// attribute, RUNTIME_DASH_ENTRY names an existing file, and the DASH_*
// prefixes obey Dash's rules. It then answers like a Dash app behind the
// launcher: the page, _dash-layout, _dash-dependencies and the launcher's
// _agent/health, all under Dash's routes prefix.

const (
	gunicornVersion = "23.0.0"
	dashEntryEnv    = "RUNTIME_DASH_ENTRY"
	dashLauncherMod = "runtime_dash"
)

// gunicornConfig is what the command line and environment select.
type gunicornConfig struct {
	Binds      []string
	Workers    int
	Threads    int
	Timeout    int
	Chdir      string
	PythonPath []string
	App        string // as given: "module:attr"
	Module     string
	Attr       string
	Env        map[string]string // -e/--env KEY=VALUE
	Options    map[string]string // every option seen (last value), long names
}

// Options that take a value, by every spelling gunicorn accepts, mapped to
// their long name.
var gunicornValueOpts = map[string]string{
	"-b":                         "--bind",
	"--bind":                     "--bind",
	"-w":                         "--workers",
	"--workers":                  "--workers",
	"--threads":                  "--threads",
	"-t":                         "--timeout",
	"--timeout":                  "--timeout",
	"--chdir":                    "--chdir",
	"--pythonpath":               "--pythonpath",
	"-k":                         "--worker-class",
	"--worker-class":             "--worker-class",
	"-c":                         "--config",
	"--config":                   "--config",
	"-e":                         "--env",
	"--env":                      "--env",
	"-n":                         "--name",
	"--name":                     "--name",
	"-u":                         "--user",
	"--user":                     "--user",
	"-g":                         "--group",
	"--group":                    "--group",
	"-m":                         "--umask",
	"--umask":                    "--umask",
	"--graceful-timeout":         "--graceful-timeout",
	"--keep-alive":               "--keep-alive",
	"--access-logfile":           "--access-logfile",
	"--access-logformat":         "--access-logformat",
	"--error-logfile":            "--error-logfile",
	"--log-file":                 "--error-logfile",
	"--log-level":                "--log-level",
	"--log-config":               "--log-config",
	"--forwarded-allow-ips":      "--forwarded-allow-ips",
	"--proxy-allow-from":         "--proxy-allow-from",
	"--worker-tmp-dir":           "--worker-tmp-dir",
	"--max-requests":             "--max-requests",
	"--max-requests-jitter":      "--max-requests-jitter",
	"--backlog":                  "--backlog",
	"--worker-connections":       "--worker-connections",
	"--limit-request-line":       "--limit-request-line",
	"--limit-request-fields":     "--limit-request-fields",
	"--limit-request-field_size": "--limit-request-field_size",
	"--statsd-host":              "--statsd-host",
	"--statsd-prefix":            "--statsd-prefix",
	"--pid":                      "--pid",
	"-p":                         "--pid",
}

// Boolean options.
var gunicornFlagOpts = map[string]string{
	"--preload": "--preload", "--reload": "--reload", "--capture-output": "--capture-output",
	"-D": "--daemon", "--daemon": "--daemon", "--check-config": "--check-config",
	"--print-config": "--print-config", "--proxy-protocol": "--proxy-protocol",
	"--reuse-port": "--reuse-port", "--no-sendfile": "--no-sendfile",
	"--enable-stdio-inheritance": "--enable-stdio-inheritance", "-R": "--enable-stdio-inheritance",
	"--strip-header-spaces": "--strip-header-spaces",
}

// gunicornUsageError is an argparse error: exit status 2.
type gunicornUsageError struct{ msg string }

func (e gunicornUsageError) Error() string { return e.msg }

var pyIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseGunicorn reads gunicorn's command line. getenv supplies PORT and
// WEB_CONCURRENCY, which set the defaults of --bind and --workers.
func parseGunicorn(args []string, getenv func(string) string) (*gunicornConfig, error) {
	cfg := &gunicornConfig{Workers: 1, Threads: 1, Timeout: 30, Env: map[string]string{}, Options: map[string]string{}}
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		if a == "-v" || a == "--version" {
			cfg.Options["--version"] = "true"
			continue
		}
		if a == "-h" || a == "--help" {
			cfg.Options["--help"] = "true"
			continue
		}
		if long, ok := gunicornFlagOpts[a]; ok {
			cfg.Options[long] = "true"
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		long, ok := gunicornValueOpts[name]
		if !ok && !strings.HasPrefix(a, "--") && len(a) > 2 {
			// -b0.0.0.0:8050, as argparse allows.
			if l, ok2 := gunicornValueOpts[a[:2]]; ok2 {
				long, ok, value, hasValue = l, true, a[2:], true
			}
		}
		if !ok {
			return nil, gunicornUsageError{"unrecognized arguments: " + a}
		}
		if !hasValue {
			if i+1 >= len(args) {
				return nil, gunicornUsageError{"argument " + long + ": expected one argument"}
			}
			i++
			value = args[i]
		}
		cfg.Options[long] = value
		switch long {
		case "--bind":
			cfg.Binds = append(cfg.Binds, value)
		case "--env":
			k, v, _ := strings.Cut(value, "=")
			cfg.Env[k] = v
		case "--pythonpath":
			for _, p := range strings.Split(value, ",") {
				if p = strings.TrimSpace(p); p != "" {
					cfg.PythonPath = append(cfg.PythonPath, p)
				}
			}
		case "--chdir":
			cfg.Chdir = value
		case "--workers", "--threads", "--timeout":
			n, err := strconv.Atoi(value)
			if err != nil {
				return nil, gunicornUsageError{fmt.Sprintf("argument %s: invalid int value: '%s'", long, value)}
			}
			switch long {
			case "--workers":
				cfg.Workers = n
			case "--threads":
				cfg.Threads = n
			case "--timeout":
				cfg.Timeout = n
			}
		}
	}
	if len(positional) > 1 {
		return nil, gunicornUsageError{"unrecognized arguments: " + strings.Join(positional[1:], " ")}
	}
	if len(positional) == 1 {
		cfg.App = positional[0]
	}
	if len(cfg.Binds) == 0 {
		if p := getenv("PORT"); p != "" {
			cfg.Binds = []string{"0.0.0.0:" + p}
		} else {
			cfg.Binds = []string{"127.0.0.1:8000"}
		}
	}
	if _, ok := cfg.Options["--workers"]; !ok {
		if n, err := strconv.Atoi(getenv("WEB_CONCURRENCY")); err == nil && n > 0 {
			cfg.Workers = n
		}
	}
	for _, b := range cfg.Binds {
		if strings.HasPrefix(b, "unix:") || strings.HasPrefix(b, "fd://") {
			return nil, fmt.Errorf("stand-in gunicorn binds TCP addresses only, not %q", b)
		}
		if _, _, err := net.SplitHostPort(b); err != nil {
			return nil, fmt.Errorf("%q is not a valid address to bind: %v", b, err)
		}
	}
	if cfg.App != "" {
		mod, attr, _ := strings.Cut(cfg.App, ":")
		if attr == "" {
			attr = "application"
		}
		cfg.Module, cfg.Attr = mod, attr
	}
	return cfg, nil
}

// gunicornLog prints a line as gunicorn's logger does.
func gunicornLog(w io.Writer, level, format string, a ...any) {
	fmt.Fprintf(w, "[%s] [%d] [%s] %s\n", logTime(), os.Getpid(), level, fmt.Sprintf(format, a...))
}

// findPyModule looks for a module's file the way Python's path finder does
// for source modules: <dir>/a/b.py or <dir>/a/b/__init__.py.
func findPyModule(module string, dirs []string) (string, bool) {
	rel := filepath.FromSlash(strings.ReplaceAll(module, ".", "/"))
	for _, d := range dirs {
		for _, cand := range []string{filepath.Join(d, rel+".py"), filepath.Join(d, rel, "__init__.py")} {
			if st, err := os.Stat(cand); err == nil && !st.IsDir() {
				return cand, true
			}
		}
	}
	return "", false
}

// definesName reports whether Python source binds name at module level.
func definesName(src, name string) bool {
	q := regexp.QuoteMeta(name)
	re := regexp.MustCompile(`(?m)^(?:` + q + `\s*(?::[^=\n]*)?=[^=]|(?:async\s+)?def\s+` + q + `\b|class\s+` + q + `\b|import\s.*\bas\s+` + q + `\b|from\s+\S+\s+import\s.*\b` + q + `\b)`)
	return re.MatchString(src)
}

// dashPrefixes applies Dash's rules (dash/_configs.py pathname_configs) to
// the DASH_* environment: routes prefix, requests prefix, or an
// InvalidConfig message. Empty values count as unset.
func dashPrefixes(getenv func(string) string) (routes, requests string, err error) {
	base := getenv("DASH_URL_BASE_PATHNAME")
	routes = getenv("DASH_ROUTES_PATHNAME_PREFIX")
	requests = getenv("DASH_REQUESTS_PATHNAME_PREFIX")
	const ambiguous = " This is ambiguous. To fix this, set `routes_pathname_prefix` instead of `url_base_pathname`."
	switch {
	case base != "" && requests != "":
		return "", "", errors.New("You supplied `url_base_pathname` and `requests_pathname_prefix`." + ambiguous)
	case base != "" && routes != "":
		return "", "", errors.New("You supplied `url_base_pathname` and `routes_pathname_prefix`." + ambiguous)
	}
	if routes == "" {
		routes = base
	}
	if routes == "" {
		routes = "/"
	}
	if !strings.HasPrefix(routes, "/") {
		return "", "", errors.New("`routes_pathname_prefix` needs to start with `/`")
	}
	if !strings.HasSuffix(routes, "/") {
		return "", "", errors.New("`routes_pathname_prefix` needs to end with `/`")
	}
	switch {
	case requests != "":
	case base != "":
		requests = base
	case getenv("DASH_APP_NAME") != "":
		// The trap of runtimes.md §1.2: the browser is sent elsewhere.
		requests = "/" + getenv("DASH_APP_NAME") + routes
	default:
		requests = routes
	}
	if !strings.HasPrefix(requests, "/") {
		return "", "", errors.New("`requests_pathname_prefix` needs to start with `/`")
	}
	if !strings.HasSuffix(requests, routes) {
		return "", "", errors.New("`requests_pathname_prefix` needs to ends with `routes_pathname_prefix`")
	}
	return routes, requests, nil
}

// workerBootError prints what gunicorn prints when the worker cannot import
// the app, and returns the stand-in's exit status. Real gunicorn exits 3
// ("Worker failed to boot.") or 4 ("App failed to load."); the stand-in
// exits 1 for all of them, so tests assert on the message, not the status.
func workerBootError(stderr io.Writer, exc string, reason string) int {
	gunicornLog(stderr, "ERROR", "Exception in worker process")
	fmt.Fprintln(stderr, "Traceback (most recent call last):")
	fmt.Fprintln(stderr, `  File "/usr/local/lib/python3.12/site-packages/gunicorn/arbiter.py", line 608, in spawn_worker`)
	fmt.Fprintln(stderr, "    worker.init_process()")
	fmt.Fprintln(stderr, exc)
	gunicornLog(stderr, "INFO", "Worker exiting (pid: %d)", os.Getpid())
	gunicornLog(stderr, "ERROR", "Reason: %s", reason)
	return 1
}

func gunicornMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseGunicorn(args, os.Getenv)
	var usage gunicornUsageError
	switch {
	case errors.As(err, &usage):
		fmt.Fprintln(stderr, "usage: gunicorn [OPTIONS] [APP_MODULE]")
		fmt.Fprintf(stderr, "gunicorn: error: %s\n", usage.msg)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
	if cfg.Options["--version"] != "" {
		fmt.Fprintf(stdout, "gunicorn (version %s)\n", gunicornVersion)
		return 0
	}
	if cfg.Options["--help"] != "" {
		fmt.Fprintln(stdout, "usage: gunicorn [OPTIONS] [APP_MODULE]")
		return 0
	}
	if cfg.App == "" {
		fmt.Fprintln(stderr, "Error: No application module specified.")
		return 1
	}
	for _, n := range []int{cfg.Workers, cfg.Threads, cfg.Timeout} {
		if n < 0 {
			fmt.Fprintf(stderr, "Error: Value is not a positive integer: %d\n", n)
			return 1
		}
	}
	for k, v := range cfg.Env {
		os.Setenv(k, v)
	}
	if cfg.Chdir != "" {
		if err := os.Chdir(cfg.Chdir); err != nil {
			fmt.Fprintf(stderr, "Error: can't chdir to '%s'\n", cfg.Chdir)
			return 1
		}
	}
	cwd, _ := os.Getwd()

	gunicornLog(stdout, "INFO", "Starting gunicorn %s", gunicornVersion)
	entry, code := gunicornLoadApp(cfg, cwd, stderr)
	if code != 0 {
		return code
	}

	routes, requests, err := dashPrefixes(os.Getenv)
	if err != nil {
		return workerBootError(stderr, "dash.exceptions.InvalidConfig: "+err.Error(), "Worker failed to boot.")
	}
	if name := os.Getenv("DASH_APP_NAME"); name != "" {
		fmt.Fprintf(stderr, "standin: WARNING: DASH_APP_NAME=%q is set: Dash then sends the browser's requests to %s instead of %s (runtime-agent must never set it)\n", name, requests, routes)
	}

	content, err := os.ReadFile(entry)
	if err != nil {
		return workerBootError(stderr, fmt.Sprintf("FileNotFoundError: [Errno 2] No such file or directory: '%s'", entry), "Worker failed to boot.")
	}
	sw := readSwitches(string(content))
	if sw.Crash {
		fmt.Fprintln(stderr, "standin: crashing as asked")
		fmt.Fprintf(stderr, "standin: the app %s contains %s\n", entry, crashMarker)
		fmt.Fprintln(stderr, "standin: exiting with status 3")
		return 3
	}

	sigs, stop := stopSignals()
	defer stop()
	if sw.SlowStart > 0 {
		fmt.Fprintf(stdout, "standin: slow start, listening in %s\n", sw.SlowStart)
		if !sleepOrStop(sw.SlowStart, sigs) {
			gunicornLog(stdout, "INFO", "Handling signal: term")
			return 0
		}
	}
	lns, err := listenAll(cfg.Binds)
	if err != nil {
		gunicornLog(stderr, "ERROR", "Connection in use: %v", err)
		gunicornLog(stderr, "ERROR", "Can't connect to %s", cfg.Binds[0])
		return 1
	}
	for _, b := range cfg.Binds {
		gunicornLog(stdout, "INFO", "Listening at: http://%s (%d)", b, os.Getpid())
	}
	workerClass := "sync"
	if cfg.Threads > 1 {
		workerClass = "gthread"
	}
	if wc := cfg.Options["--worker-class"]; wc != "" {
		workerClass = wc
	}
	gunicornLog(stdout, "INFO", "Using worker: %s", workerClass)
	for i := 0; i < cfg.Workers; i++ {
		gunicornLog(stdout, "INFO", "Booting worker with pid: %d", os.Getpid())
	}
	fmt.Fprintf(stdout, "standin: serving %s under %s (pid %d)\n", entry, routes, os.Getpid())

	srv := newDashServer(cfg, entry, string(content), sw, routes, requests)
	return serveUntilStop(lns, srv, sigs, stderr, func() {
		gunicornLog(stdout, "INFO", "Handling signal: term")
		gunicornLog(stdout, "INFO", "Shutting down: Master")
	})
}

// gunicornLoadApp does what the worker's import of APP would: find the
// module on the Python path, find the attribute, and (for the agent's
// launcher) find the user's entry file. It returns the file to serve.
func gunicornLoadApp(cfg *gunicornConfig, cwd string, stderr io.Writer) (string, int) {
	if !pyIdent.MatchString(strings.SplitN(cfg.Attr, "(", 2)[0]) {
		gunicornLog(stderr, "ERROR", "Failed to parse '%s' as an attribute name or function call.", cfg.Attr)
		return "", 1
	}
	// gunicorn puts --pythonpath first, then the working directory.
	dirs := append(append([]string{}, cfg.PythonPath...), cwd)
	modFile, ok := findPyModule(cfg.Module, dirs)
	if !ok {
		return "", workerBootError(stderr, fmt.Sprintf("ModuleNotFoundError: No module named '%s'", cfg.Module), "Worker failed to boot.")
	}
	src, err := os.ReadFile(modFile)
	if err != nil {
		return "", workerBootError(stderr, fmt.Sprintf("PermissionError: [Errno 13] Permission denied: '%s'", modFile), "Worker failed to boot.")
	}
	attr := strings.SplitN(cfg.Attr, "(", 2)[0]
	if !definesName(string(src), attr) {
		gunicornLog(stderr, "ERROR", "Failed to find attribute '%s' in '%s'.", attr, cfg.Module)
		gunicornLog(stderr, "INFO", "Worker exiting (pid: %d)", os.Getpid())
		gunicornLog(stderr, "ERROR", "Reason: App failed to load.")
		return "", 1
	}
	if cfg.Module != dashLauncherMod {
		// Any other module is served as the app itself.
		return modFile, 0
	}
	entry := strings.TrimSpace(os.Getenv(dashEntryEnv))
	if entry == "" {
		return "", workerBootError(stderr, "RuntimeError: runtime_dash: "+dashEntryEnv+" is not set; it must name the Dash app's Python file (runtime-agent sets it from the deployment's entrypoint)", "Worker failed to boot.")
	}
	abs := entry
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(cwd, abs)
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() {
		return "", workerBootError(stderr, fmt.Sprintf("RuntimeError: runtime_dash: %s=%s: no such file (the deployment's entrypoint must be a Python file in the repository)", dashEntryEnv, entry), "Worker failed to boot.")
	}
	return abs, 0
}

// dashServer answers like a Dash app served through the agent's launcher.
type dashServer struct {
	cfg       *gunicornConfig
	entry     string
	content   string // entry content at start
	switches  scriptSwitches
	routes    string // routes prefix, "/" or "/x/"
	requests  string // requests prefix
	launcher  bool   // the agent's launcher is the APP: it adds _agent/health
	startedAt time.Time
}

func newDashServer(cfg *gunicornConfig, entry, content string, sw scriptSwitches, routes, requests string) *dashServer {
	return &dashServer{cfg: cfg, entry: entry, content: content, switches: sw, routes: routes, requests: requests,
		launcher: cfg.Module == dashLauncherMod, startedAt: time.Now()}
}

func (s *dashServer) entryContent() string {
	if b, err := os.ReadFile(s.entry); err == nil {
		return string(b)
	}
	return s.content
}

func (s *dashServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch p {
	case "/_standin/info", s.routes + "_standin/info":
		s.serveInfo(w)
		return
	case "/_standin/file", s.routes + "_standin/file":
		serveFile(w, r)
		return
	}
	if s.routes != "/" && p == strings.TrimSuffix(s.routes, "/") {
		// Flask's strict slashes: the rule is "/x/".
		http.Redirect(w, r, s.routes, http.StatusPermanentRedirect)
		return
	}
	if !strings.HasPrefix(p, s.routes) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n")
		return
	}
	switch rest := p[len(s.routes):]; {
	case rest == "_agent/health" && s.launcher:
		if s.switches.Unhealthy {
			http.Error(w, "unhealthy (stand-in: "+unhealthyMarker+")", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok")
	case rest == "_dash-layout":
		writeJSON(w, 200, map[string]any{"type": "Div", "namespace": "dash_html_components",
			"props": map[string]any{"id": "standin", "children": "Dash (stand-in)"}})
	case rest == "_dash-dependencies":
		if s.switches.Unhealthy {
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		writeJSON(w, 200, []any{})
	case rest == "_dash-update-component":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "OPTIONS, POST")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		writeJSON(w, 200, map[string]any{"multi": true, "response": map[string]any{}})
	case rest == "_reload-hash":
		writeJSON(w, 200, map[string]any{"reloadHash": "", "hard": false, "packages": []string{}, "files": []string{}})
	default:
		// Dash serves its page for every other path under the prefix
		// (dash pages routing), as the real index does.
		s.serveIndex(w)
	}
}

func (s *dashServer) serveIndex(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!DOCTYPE html>
<html>
<head><title>Dash (stand-in)</title></head>
<body>
<div id="react-entry-point"><div class="_dash-loading">Loading...</div></div>
<footer>
<script id="_dash-config" type="application/json">{"url_base_pathname": null, "requests_pathname_prefix": %q, "routes_pathname_prefix": %q}</script>
</footer>
<pre id="script">
%s
</pre>
</body>
</html>
`, s.requests, s.routes, s.entryContent())
}

func (s *dashServer) serveInfo(w http.ResponseWriter) {
	info := baseInfo(s.startedAt)
	abs, _ := filepath.Abs(s.entry)
	info["app"] = s.cfg.App
	info["module"] = s.cfg.Module
	info["attr"] = s.cfg.Attr
	info["binds"] = s.cfg.Binds
	info["workers"] = s.cfg.Workers
	info["threads"] = s.cfg.Threads
	info["timeout"] = s.cfg.Timeout
	info["chdir"] = s.cfg.Chdir
	info["pythonpath"] = s.cfg.PythonPath
	info["options"] = s.cfg.Options
	info["script"] = s.entry
	info["script_path"] = abs
	info["script_content"] = s.entryContent()
	info["routes_pathname_prefix"] = s.routes
	info["requests_pathname_prefix"] = s.requests
	writeJSON(w, 200, info)
}
