package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The airflow personality is Airflow 3's "airflow standalone" as far as the
// agent relies on it: AIRFLOW_HOME must be writable (the generated admin
// password, airflow.cfg and the SQLite database live there and survive
// restarts), the api-server answers on AIRFLOW__API__PORT under the path of
// AIRFLOW__API__BASE_URL, and GET /api/v2/monitor/health reports each
// component in a JSON body while the HTTP status stays 200, as the real one
// does. A DAG file containing STANDIN_UNHEALTHY_SCHEDULER makes the
// scheduler unhealthy; STANDIN_CRASH makes standalone exit 3;
// STANDIN_SLOW_START=<seconds> delays the api-server.

const (
	airflowVersion            = "3.0.2"
	airflowDefaultHome        = "/opt/airflow"
	airflowPasswordsFileName  = "simple_auth_manager_passwords.json.generated"
	unhealthySchedulerMarker  = "STANDIN_UNHEALTHY_SCHEDULER"
	airflowDefaultSimpleUsers = "admin:admin"
)

// airflowConfig is what standalone reads from the environment.
type airflowConfig struct {
	Home          string
	DagsFolder    string
	Host          string
	Port          int
	BaseURL       string
	Prefix        string // path part of BaseURL: "" or "/x"
	PasswordsFile string
	Users         []string // simple auth manager users
}

func airflowConfigFrom(getenv func(string) string) (*airflowConfig, error) {
	cfg := &airflowConfig{Home: getenv("AIRFLOW_HOME"), Host: "0.0.0.0", Port: 8080}
	if cfg.Home == "" {
		cfg.Home = airflowDefaultHome
	}
	cfg.DagsFolder = getenv("AIRFLOW__CORE__DAGS_FOLDER")
	if cfg.DagsFolder == "" {
		cfg.DagsFolder = filepath.Join(cfg.Home, "dags")
	}
	if v := getenv("AIRFLOW__API__HOST"); v != "" {
		cfg.Host = v
	}
	if v := getenv("AIRFLOW__API__PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("airflow.exceptions.AirflowConfigException: Failed to convert value to int. Please check \"port\" key in \"api\" section. Current value: %q", v)
		}
		cfg.Port = p
	}
	if v := getenv("AIRFLOW__API__BASE_URL"); v != "" {
		u, err := url.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("invalid [api] base_url %q: %v", v, err)
		}
		cfg.BaseURL = v
		if p := strings.TrimRight(u.Path, "/"); p != "" {
			cfg.Prefix = p
		}
	}
	cfg.PasswordsFile = getenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE")
	if cfg.PasswordsFile == "" {
		cfg.PasswordsFile = filepath.Join(cfg.Home, airflowPasswordsFileName)
	}
	users := getenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS")
	if users == "" {
		users = airflowDefaultSimpleUsers
	}
	for _, u := range strings.Split(users, ",") {
		if name, _, _ := strings.Cut(strings.TrimSpace(u), ":"); name != "" {
			cfg.Users = append(cfg.Users, name)
		}
	}
	return cfg, nil
}

func airflowMain(args []string, stdout, stderr io.Writer) int {
	const usage = "usage: airflow [-h] GROUP_OR_COMMAND ..."
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		fmt.Fprintln(stderr, "airflow command error: the following arguments are required: GROUP_OR_COMMAND, see help above.")
		return 2
	}
	switch args[0] {
	case "version":
		fmt.Fprintln(stdout, airflowVersion)
		return 0
	case "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return 0
	case "standalone":
		return airflowStandalone(stdout, stderr)
	case "db":
		if len(args) > 1 && args[1] == "migrate" {
			cfg, err := airflowConfigFrom(os.Getenv)
			if err == nil {
				err = prepareAirflowDB(cfg)
			}
			if err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
			fmt.Fprintf(stdout, "DB: sqlite:///%s\nPerforming upgrade to the metadata database sqlite:///%s\nDatabase migrating done!\n",
				filepath.Join(cfg.Home, "airflow.db"), filepath.Join(cfg.Home, "airflow.db"))
			return 0
		}
		fmt.Fprintln(stderr, "usage: airflow db [-h] COMMAND ...")
		return 2
	default:
		fmt.Fprintln(stderr, usage)
		fmt.Fprintf(stderr, "airflow command error: argument GROUP_OR_COMMAND: invalid choice: '%s' (stand-in airflow knows standalone, version, db migrate), see help above.\n", args[0])
		return 2
	}
}

// prepareAirflowDB creates AIRFLOW_HOME, airflow.cfg, logs/ and the SQLite
// file, as the first start of real Airflow does. Errors read like Python's.
func prepareAirflowDB(cfg *airflowConfig) error {
	if err := os.MkdirAll(cfg.Home, 0o755); err != nil {
		return pyOSError(err, cfg.Home)
	}
	for name, content := range map[string]string{
		"airflow.cfg": "[core]\n# Written by the airflow stand-in (runtime-standin).\ndags_folder = " + cfg.DagsFolder + "\nload_examples = False\n",
		"airflow.db":  "stand-in SQLite database\n",
	} {
		p := filepath.Join(cfg.Home, name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return pyOSError(err, p)
		}
	}
	if err := os.MkdirAll(filepath.Join(cfg.Home, "logs"), 0o755); err != nil {
		return pyOSError(err, filepath.Join(cfg.Home, "logs"))
	}
	return nil
}

// pyOSError words a filesystem error the way Python prints it.
func pyOSError(err error, path string) error {
	switch {
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("PermissionError: [Errno 13] Permission denied: '%s'", path)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("FileNotFoundError: [Errno 2] No such file or directory: '%s'", path)
	default:
		return fmt.Errorf("OSError: %v", err)
	}
}

// ensureAirflowPasswords does what the simple auth manager does at start:
// keep the generated passwords file, adding a random password for any
// configured user that lacks one.
func ensureAirflowPasswords(cfg *airflowConfig) (map[string]string, error) {
	pw := map[string]string{}
	b, err := os.ReadFile(cfg.PasswordsFile)
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &pw); err != nil {
			return nil, fmt.Errorf("json.decoder.JSONDecodeError in %s: %v", cfg.PasswordsFile, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, pyOSError(err, cfg.PasswordsFile)
	}
	changed := err != nil
	for _, u := range cfg.Users {
		if pw[u] == "" {
			pw[u] = randomPassword(16)
			changed = true
		}
	}
	if changed {
		out, _ := json.Marshal(pw)
		if err := os.WriteFile(cfg.PasswordsFile, out, 0o644); err != nil {
			return nil, pyOSError(err, cfg.PasswordsFile)
		}
	}
	return pw, nil
}

func randomPassword(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

// dagFile is one Python file of the DAGs folder.
type dagFile struct {
	Path    string // relative to the DAGs folder
	Content string
}

// scanDags lists the folder's .py files, skipping hidden and __pycache__
// directories and the glob patterns of .airflowignore (Airflow 3's default
// syntax). A missing folder is no error: Airflow only logs it.
func scanDags(folder string) []dagFile {
	var ignore []string
	if b, err := os.ReadFile(filepath.Join(folder, ".airflowignore")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(strings.SplitN(l, "#", 2)[0]); l != "" {
				ignore = append(ignore, strings.TrimSuffix(l, "/"))
			}
		}
	}
	ignored := func(rel string) bool {
		for _, pat := range ignore {
			if ok, _ := filepath.Match(pat, rel); ok {
				return true
			}
			if ok, _ := filepath.Match(pat, filepath.Base(rel)); ok {
				return true
			}
		}
		return false
	}
	var out []dagFile
	filepath.WalkDir(folder, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(folder, p)
		if d.IsDir() {
			if p != folder && (strings.HasPrefix(d.Name(), ".") || d.Name() == "__pycache__" || ignored(rel)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".py") || ignored(rel) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		out = append(out, dagFile{Path: filepath.ToSlash(rel), Content: string(b)})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func airflowStandalone(stdout, stderr io.Writer) int {
	say := func(w io.Writer, format string, a ...any) {
		fmt.Fprintf(w, "standalone | "+format+"\n", a...)
	}
	cfg, err := airflowConfigFrom(os.Getenv)
	if err != nil {
		say(stderr, "%v", err)
		return 1
	}
	say(stdout, "Starting Airflow Standalone")
	say(stdout, "Checking database is initialized")
	if err := prepareAirflowDB(cfg); err != nil {
		say(stderr, "%v", err)
		return 1
	}
	// Real Airflow 3 logs the generated password at start ("Simple auth
	// manager | Password for user 'admin': ...") and standalone repeats the
	// login at the end. The stand-in deliberately does not: the agent must
	// not depend on the log for it (read the file instead) and must treat a
	// real Airflow container's log as holding that secret.
	if _, err := ensureAirflowPasswords(cfg); err != nil {
		say(stderr, "%v", err)
		return 1
	}
	say(stdout, "Database ready")

	var sw scriptSwitches
	for _, d := range scanDags(cfg.DagsFolder) {
		s := readSwitches(d.Content)
		if s.Crash {
			say(stderr, "standin: crashing as asked")
			say(stderr, "standin: the DAG file %s contains %s", d.Path, crashMarker)
			say(stderr, "standin: exiting with status 3")
			return 3
		}
		if s.SlowStart > sw.SlowStart {
			sw.SlowStart = s.SlowStart
		}
	}

	sigs, stop := stopSignals()
	defer stop()
	if sw.SlowStart > 0 {
		say(stdout, "standin: slow start, listening in %s", sw.SlowStart)
		if !sleepOrStop(sw.SlowStart, sigs) {
			say(stdout, "Shutting down components")
			return 0
		}
	}
	lns, err := listenAll([]string{net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))})
	if err != nil {
		say(stderr, "api-server | ERROR: %v", err)
		return 1
	}
	fmt.Fprintf(stdout, "api-server | INFO:     Uvicorn running on http://%s (Press CTRL+C to quit)\n", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	fmt.Fprintln(stdout, "scheduler  | Starting the scheduler")
	fmt.Fprintln(stdout, "dag-processor | Starting the Dag Processor Job")
	fmt.Fprintln(stdout, "triggerer  | Starting the triggerer")
	say(stdout, "Airflow is ready")
	say(stdout, "Airflow Standalone is for development purposes only. Do not use this in production!")

	srv := newAirflowServer(cfg)
	return serveUntilStop(lns, srv, sigs, stderr, func() { say(stdout, "Shutting down components") })
}

// airflowServer answers the api-server routes the agent and tests use.
type airflowServer struct {
	cfg       *airflowConfig
	startedAt time.Time

	mu     sync.Mutex
	tokens map[string]string // access token -> user
}

func newAirflowServer(cfg *airflowConfig) *airflowServer {
	return &airflowServer{cfg: cfg, startedAt: time.Now(), tokens: map[string]string{}}
}

func (s *airflowServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch p {
	case "/_standin/info", s.cfg.Prefix + "/_standin/info":
		s.serveInfo(w)
		return
	case "/_standin/file", s.cfg.Prefix + "/_standin/file":
		serveFile(w, r)
		return
	}
	if bp := s.cfg.Prefix; bp != "" {
		switch {
		case p == bp:
			p = "/"
		case strings.HasPrefix(p, bp+"/"):
			p = p[len(bp):]
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
			return
		}
	}
	switch p {
	case "/api/v2/monitor/health":
		s.serveHealth(w)
	case "/api/v2/version":
		writeJSON(w, 200, map[string]any{"version": airflowVersion, "git_version": nil})
	case "/auth/token":
		s.serveToken(w, r)
	case "/api/v2/dags":
		if !s.authorized(r) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Not authenticated"})
			return
		}
		dags := []map[string]any{}
		for _, d := range scanDags(s.cfg.DagsFolder) {
			dags = append(dags, map[string]any{
				"dag_id":  strings.TrimSuffix(filepath.Base(d.Path), ".py"),
				"fileloc": filepath.Join(s.cfg.DagsFolder, d.Path),
			})
		}
		writeJSON(w, 200, map[string]any{"dags": dags, "total_entries": len(dags)})
	case "/", "/index.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var b strings.Builder
		b.WriteString("<!DOCTYPE html>\n<html>\n<head><title>Airflow (stand-in)</title></head>\n<body>\n<h1>Airflow " + airflowVersion + " (stand-in)</h1>\n<ul id=\"dags\">\n")
		for _, d := range scanDags(s.cfg.DagsFolder) {
			b.WriteString("<li>" + html.EscapeString(d.Path) + "</li>\n")
		}
		b.WriteString("</ul>\n</body>\n</html>\n")
		io.WriteString(w, b.String())
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found"})
	}
}

// serveHealth is Airflow 3's health body: status per component, HTTP 200
// whatever they say.
func (s *airflowServer) serveHealth(w http.ResponseWriter) {
	now := time.Now().UTC()
	scheduler := map[string]any{"status": "healthy", "latest_scheduler_heartbeat": now.Format(time.RFC3339)}
	for _, d := range scanDags(s.cfg.DagsFolder) {
		if strings.Contains(d.Content, unhealthySchedulerMarker) {
			// A scheduler that stopped heartbeating a while ago.
			scheduler = map[string]any{"status": "unhealthy",
				"latest_scheduler_heartbeat": s.startedAt.UTC().Add(-5 * time.Minute).Format(time.RFC3339)}
			break
		}
	}
	writeJSON(w, 200, map[string]any{
		"metadatabase":  map[string]any{"status": "healthy"},
		"scheduler":     scheduler,
		"triggerer":     map[string]any{"status": "healthy", "latest_triggerer_heartbeat": now.Format(time.RFC3339)},
		"dag_processor": map[string]any{"status": "healthy", "latest_dag_processor_heartbeat": now.Format(time.RFC3339)},
	})
}

// serveToken is the simple auth manager's login: POST /auth/token with
// {"username", "password"} checked against the generated passwords file.
func (s *airflowServer) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
		return
	}
	var body struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil || body.Username == "" {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"detail": "username and password are required"})
		return
	}
	var pw map[string]string
	b, err := os.ReadFile(s.cfg.PasswordsFile)
	if err == nil {
		err = json.Unmarshal(b, &pw)
	}
	if err != nil || pw[body.Username] == "" || pw[body.Username] != body.Password {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Invalid credentials"})
		return
	}
	tb := make([]byte, 24)
	rand.Read(tb)
	tok := hex.EncodeToString(tb)
	s.mu.Lock()
	s.tokens[tok] = body.Username
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]string{"access_token": tok})
}

func (s *airflowServer) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[tok] != ""
}

func (s *airflowServer) serveInfo(w http.ResponseWriter) {
	info := baseInfo(s.startedAt)
	dags := []string{}
	for _, d := range scanDags(s.cfg.DagsFolder) {
		dags = append(dags, d.Path)
	}
	info["airflow_home"] = s.cfg.Home
	info["airflow_home_contents"] = listDir(s.cfg.Home, 500)
	info["dags_folder"] = s.cfg.DagsFolder
	info["dags"] = dags
	info["port"] = s.cfg.Port
	info["base_url"] = s.cfg.BaseURL
	info["base_path"] = s.cfg.Prefix
	info["passwords_file"] = s.cfg.PasswordsFile
	writeJSON(w, 200, info)
}
