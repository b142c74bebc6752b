package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Markers a test repository puts in its script to steer the stand-in.
const (
	crashMarker     = "STANDIN_CRASH"      // exit 3 right after start
	unhealthyMarker = "STANDIN_UNHEALTHY"  // health endpoints answer 503
	slowStartMarker = "STANDIN_SLOW_START" // STANDIN_SLOW_START=<seconds> before listening
	oomMarker       = "STANDIN_OOM"        // allocate memory until the kernel kills it
)

// streamlitConfig is the part of streamlit's configuration the agent owns.
type streamlitConfig struct {
	Script     string            // as given on the command line
	ScriptArgs []string          // positional arguments after the script
	Options    map[string]string // every --section.option seen, as given
	Port       int
	Address    string
	BasePath   string // "" or "/prefix" (no trailing slash)
}

// parseStreamlitRun reads the arguments of "streamlit run" the way streamlit
// does: options are --section.option=value (or --section.option value) and
// may come before or after the script; weakest to strongest the sources are
// defaults, STREAMLIT_* environment variables, then flags.
func parseStreamlitRun(args []string, getenv func(string) string) (*streamlitConfig, error) {
	cfg := &streamlitConfig{Options: map[string]string{}, Port: 8501}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			cfg.ScriptArgs = append(cfg.ScriptArgs, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--") && strings.Contains(strings.SplitN(a, "=", 2)[0], "."):
			k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if !ok && i+1 < len(args) && !strings.HasPrefix(args[i+1], "--") {
				i++
				v = args[i]
			}
			cfg.Options[k] = v
		case strings.HasPrefix(a, "-"):
			// Other flags (e.g. --help) are accepted and ignored.
		case cfg.Script == "":
			cfg.Script = a
		default:
			cfg.ScriptArgs = append(cfg.ScriptArgs, a)
		}
	}
	if cfg.Script == "" {
		return nil, errors.New("missing argument 'TARGET'")
	}

	setting := func(option, env string) (string, bool) {
		if v, ok := cfg.Options[option]; ok {
			return v, true
		}
		if v := getenv(env); v != "" {
			return v, true
		}
		return "", false
	}
	if v, ok := setting("server.port", "STREAMLIT_SERVER_PORT"); ok {
		p, err := strconv.Atoi(v)
		if err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("invalid value for '--server.port': '%s' is not a valid port", v)
		}
		cfg.Port = p
	}
	if v, ok := setting("server.address", "STREAMLIT_SERVER_ADDRESS"); ok {
		cfg.Address = v
	}
	if v, ok := setting("server.baseUrlPath", "STREAMLIT_SERVER_BASE_URL_PATH"); ok {
		if v = strings.Trim(v, "/"); v != "" {
			cfg.BasePath = "/" + v
		}
	}
	return cfg, nil
}

// scriptSwitches are the behaviour switches found in the script's content.
type scriptSwitches struct {
	OOM       bool
	Crash     bool
	Unhealthy bool
	SlowStart time.Duration
}

func readSwitches(content string) scriptSwitches {
	var s scriptSwitches
	for _, line := range strings.Split(content, "\n") {
		if strings.Contains(line, crashMarker) {
			s.Crash = true
		}
		if strings.Contains(line, unhealthyMarker) {
			s.Unhealthy = true
		}
		if strings.Contains(line, oomMarker) {
			s.OOM = true
		}
		if _, after, ok := strings.Cut(line, slowStartMarker+"="); ok {
			f := strings.FieldsFunc(after, func(r rune) bool {
				return !(r >= '0' && r <= '9' || r == '.')
			})
			if len(f) > 0 {
				if secs, err := strconv.ParseFloat(f[0], 64); err == nil {
					s.SlowStart = time.Duration(secs * float64(time.Second))
				}
			}
		}
	}
	return s
}

func streamlitMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "Usage: streamlit [OPTIONS] COMMAND [ARGS]...")
		return 2
	}
	switch args[0] {
	case "--version", "version":
		fmt.Fprintln(stdout, "Streamlit, version 1.41.1 (stand-in)")
		return 0
	case "run":
	default:
		fmt.Fprintf(stderr, "Error: No such command '%s'.\n", args[0])
		return 2
	}
	cfg, err := parseStreamlitRun(args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 2
	}
	content, err := os.ReadFile(cfg.Script)
	if err != nil {
		fmt.Fprintf(stderr, "Error: Invalid value: File does not exist: %s\n", cfg.Script)
		return 2
	}
	sw := readSwitches(string(content))
	if sw.OOM {
		// Like a data app that loads too much: touch memory until the
		// container's limit has the kernel kill the process.
		fmt.Fprintln(stderr, "standin: allocating memory as asked")
		var hog [][]byte
		for i := 0; i < 1<<14; i++ { // at most 16 GiB: bounded even without a limit
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = 1
			}
			hog = append(hog, b)
		}
		fmt.Fprintf(stderr, "standin: still alive after %d MiB\n", len(hog))
	}
	if sw.Crash {
		fmt.Fprintln(stderr, "standin: crashing as asked")
		fmt.Fprintf(stderr, "standin: the script %s contains %s\n", cfg.Script, crashMarker)
		fmt.Fprintln(stderr, "standin: exiting with status 3")
		return 3
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	if sw.SlowStart > 0 {
		fmt.Fprintf(stdout, "standin: slow start, listening in %s\n", sw.SlowStart)
		select {
		case <-time.After(sw.SlowStart):
		case <-sigs:
			fmt.Fprintln(stdout, "  Stopping...")
			return 0
		}
	}

	srv := newStandinServer(cfg, string(content), sw)
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Address, strconv.Itoa(cfg.Port)))
	if err != nil {
		fmt.Fprintf(stderr, "standin: listen: %v\n", err)
		return 1
	}
	if v := cfg.Options["browser.gatherUsageStats"]; v != "false" {
		fmt.Fprintln(stdout, "\nCollecting usage statistics. To deactivate, set browser.gatherUsageStats to false.")
	}
	host := cfg.Address
	if host == "" {
		host = "0.0.0.0"
	}
	fmt.Fprintln(stdout, "\n  You can now view your Streamlit app in your browser.")
	fmt.Fprintf(stdout, "\n  URL: http://%s%s\n\n", net.JoinHostPort(host, strconv.Itoa(cfg.Port)), cfg.BasePath)
	fmt.Fprintf(stdout, "standin: serving %s (pid %d)\n", cfg.Script, os.Getpid())

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "standin: serve: %v\n", err)
		return 1
	case <-sigs:
	}
	fmt.Fprintln(stdout, "  Stopping...")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.closeWebsockets()
	_ = hs.Shutdown(ctx)
	return 0
}

// standinServer serves streamlit's routes plus the /_standin/ test endpoints.
type standinServer struct {
	cfg       *streamlitConfig
	content   string // script content at start
	switches  scriptSwitches
	startedAt time.Time

	mu  sync.Mutex
	wss map[net.Conn]struct{}
}

func newStandinServer(cfg *streamlitConfig, content string, sw scriptSwitches) *standinServer {
	return &standinServer{cfg: cfg, content: content, switches: sw, startedAt: time.Now(), wss: map[net.Conn]struct{}{}}
}

func (s *standinServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if bp := s.cfg.BasePath; bp != "" {
		// Like streamlit, every route lives under the base path and nothing
		// is served outside it: a proxy that strips the prefix gets 404s.
		switch {
		case p == bp:
			p = "/"
		case strings.HasPrefix(p, bp+"/"):
			p = p[len(bp):]
		default:
			http.NotFound(w, r)
			return
		}
	}
	switch p {
	case "/_stcore/health", "/healthz":
		if s.switches.Unhealthy {
			http.Error(w, "unhealthy (stand-in: "+unhealthyMarker+")", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok")
	case "/_stcore/stream":
		s.serveWebsocket(w, r)
	case "/_standin/info":
		s.serveInfo(w)
	case "/_standin/file":
		serveFile(w, r)
	case "/", "/index.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html>\n<head><title>Streamlit (stand-in)</title></head>\n<body>\n<pre id=\"script\">\n%s\n</pre>\n</body>\n</html>\n", s.scriptContent())
	default:
		http.NotFound(w, r)
	}
}

// scriptContent rereads the script, as streamlit does on every run, falling
// back to what was read at start if it has gone.
func (s *standinServer) scriptContent() string {
	if b, err := os.ReadFile(s.cfg.Script); err == nil {
		return string(b)
	}
	return s.content
}

// standinInfo is the body of GET /_standin/info.
type standinInfo struct {
	Argv0         string            `json:"argv0"`
	Args          []string          `json:"args"` // os.Args[1:]
	Env           map[string]string `json:"env"`
	Cwd           string            `json:"cwd"`
	Script        string            `json:"script"`
	ScriptPath    string            `json:"script_path"`
	ScriptContent string            `json:"script_content"`
	ScriptArgs    []string          `json:"script_args"`
	Options       map[string]string `json:"options"`
	Port          int               `json:"port"`
	Address       string            `json:"address"`
	BaseURLPath   string            `json:"base_url_path"`
	Installed     string            `json:"installed"`
	PID           int               `json:"pid"`
	StartedAt     string            `json:"started_at"`
	Hostname      string            `json:"hostname"`
	UID           int               `json:"uid"`
}

func (s *standinServer) serveInfo(w http.ResponseWriter) {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cwd, _ := os.Getwd()
	abs, _ := filepath.Abs(s.cfg.Script)
	installed, _ := os.ReadFile(installedFile)
	host, _ := os.Hostname()
	info := standinInfo{
		Argv0:         os.Args[0],
		Args:          os.Args[1:],
		Env:           env,
		Cwd:           cwd,
		Script:        s.cfg.Script,
		ScriptPath:    abs,
		ScriptContent: s.scriptContent(),
		ScriptArgs:    s.cfg.ScriptArgs,
		Options:       s.cfg.Options,
		Port:          s.cfg.Port,
		Address:       s.cfg.Address,
		BaseURLPath:   s.cfg.BasePath,
		Installed:     string(installed),
		PID:           os.Getpid(),
		StartedAt:     s.startedAt.UTC().Format(time.RFC3339Nano),
		Hostname:      host,
		UID:           os.Getuid(),
	}
	if info.Args == nil {
		info.Args = []string{}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(info)
}

// serveFile lets tests read files inside the container (mounted releases,
// generated secrets) without docker exec: the image has no shell.
func serveFile(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("path")
	if !filepath.IsAbs(p) {
		http.Error(w, "path must be absolute", http.StatusBadRequest)
		return
	}
	if r.URL.Query().Get("stat") != "" { // "<mode in octal> <uid> <size>"
		st, err := os.Stat(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		fmt.Fprintf(w, "%04o %d %d", st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid, st.Size())
		return
	}
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		http.Error(w, "no such file: "+p, http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(b)
}
