package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
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
	"sync"
	"time"
)

// The open-webui personality stands in for ghcr.io/open-webui/open-webui
// (image runtime-standin/open-webui:v0.6.5): "open-webui serve" on PORT
// (default 8080) with its state in DATA_DIR (default /app/backend/data),
// which must be writable. It implements what the agent uses: /health,
// sign-up (the first user becomes admin) and sign-in returning a JWT signed
// with WEBUI_SECRET_KEY, API keys, and the admin routes of tools and
// functions with Open WebUI's paths, status codes and messages. Users, tools
// and functions persist in DATA_DIR as JSON, so they survive restarts. Every
// /api/ call is recorded (DATA_DIR/standin-calls.jsonl, kept across
// restarts too) and listed by GET /_standin/calls, so tests can prove the
// agent's plugin sync is idempotent. Like the real app it has no base path:
// anything it does not serve at the root is a 404.

const (
	openWebUIVersion       = "0.6.5"
	openWebUIDefaultData   = "/app/backend/data"
	openWebUIStateFile     = "standin-webui.json"
	openWebUICallsFile     = "standin-calls.jsonl"
	openWebUISecretKeyFile = ".webui_secret_key"
)

// Open WebUI's error messages (backend/open_webui/constants.py).
const (
	owuiNotFound         = "We could not find what you're looking for :/"
	owuiAccessProhibited = "You do not have permission to access this resource. Please reach out to your administrator for assistance."
	owuiInvalidToken     = "Your session has expired or the token is invalid. Please sign in again."
	owuiUnauthorized     = "401 Unauthorized"
	owuiInvalidCred      = "The email or password provided is incorrect. Please check for typos and try logging in again."
	owuiEmailTaken       = "Uh-oh! This email is already registered. Sign in with your existing account or choose another email to start anew."
	owuiIDTaken          = "Uh-oh! This id is already registered. Please choose another id string."
	owuiInvalidEmail     = "The email format you entered is invalid. Please double-check and make sure you're using a valid email address (e.g., yourname@example.com)."
	owuiBadID            = "Only alphanumeric characters and underscores are allowed in the id"
)

// openWebUIConfig is what "open-webui serve" and its start script read.
type openWebUIConfig struct {
	Host          string
	Port          int
	DataDir       string
	SecretKey     string
	SecretKeyFile string // set when the key came from (or went to) the key file
	PipInstall    bool   // ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS
	EnableSignup  bool
}

func envBool(getenv func(string) string, name string, def bool) bool {
	v := strings.ToLower(strings.TrimSpace(getenv(name)))
	if v == "" {
		return def
	}
	return v == "true" || v == "1" || v == "yes"
}

func openWebUIMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "Usage: open-webui [OPTIONS] COMMAND [ARGS]...")
		fmt.Fprintln(stderr, "Error: Missing command.")
		return 2
	}
	switch args[0] {
	case "--version", "version":
		fmt.Fprintf(stdout, "Open WebUI v%s (stand-in)\n", openWebUIVersion)
		return 0
	case "healthcheck":
		// The image's HEALTHCHECK (the real one runs curl | jq on /health).
		return openWebUIHealthcheck(stderr)
	case "serve":
	default:
		fmt.Fprintf(stderr, "Error: No such command '%s'.\n", args[0])
		return 2
	}
	cfg := &openWebUIConfig{Host: os.Getenv("HOST"), Port: 8080, DataDir: os.Getenv("DATA_DIR"),
		SecretKey:    os.Getenv("WEBUI_SECRET_KEY"),
		PipInstall:   envBool(os.Getenv, "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS", true),
		EnableSignup: envBool(os.Getenv, "ENABLE_SIGNUP", true)}
	if cfg.Host == "" {
		cfg.Host = "0.0.0.0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = openWebUIDefaultData
	}
	// The image's start script passes $PORT; flags win.
	if v := os.Getenv("PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			fmt.Fprintf(stderr, "Error: Invalid value for '--port': '%s' is not a valid integer.\n", v)
			return 2
		}
		cfg.Port = p
	}
	for i := 1; i < len(args); i++ {
		k, v, ok := strings.Cut(args[i], "=")
		if !ok && i+1 < len(args) && (k == "--host" || k == "--port") {
			i++
			v = args[i]
		}
		switch k {
		case "--host":
			cfg.Host = v
		case "--port":
			p, err := strconv.Atoi(v)
			if err != nil {
				fmt.Fprintf(stderr, "Error: Invalid value for '--port': '%s' is not a valid integer.\n", v)
				return 2
			}
			cfg.Port = p
		default:
			fmt.Fprintf(stderr, "Error: No such option: %s\n", k)
			return 2
		}
	}
	if cfg.SecretKey == "" {
		// What the image's start.sh does when WEBUI_SECRET_KEY is unset: a
		// key file in the working directory, lost with the container.
		fmt.Fprintln(stdout, "Loading WEBUI_SECRET_KEY from file, not provided as an environment variable.")
		cfg.SecretKeyFile = openWebUISecretKeyFile
		if b, err := os.ReadFile(openWebUISecretKeyFile); err == nil && strings.TrimSpace(string(b)) != "" {
			cfg.SecretKey = strings.TrimSpace(string(b))
		} else {
			fmt.Fprintln(stdout, "Generating WEBUI_SECRET_KEY")
			kb := make([]byte, 12)
			rand.Read(kb)
			cfg.SecretKey = base64.StdEncoding.EncodeToString(kb)
			if err := os.WriteFile(openWebUISecretKeyFile, []byte(cfg.SecretKey+"\n"), 0o644); err != nil {
				fmt.Fprintf(stderr, "standin: cannot write %s: %v\n", openWebUISecretKeyFile, err)
			}
		}
		fmt.Fprintf(stdout, "Loading WEBUI_SECRET_KEY from %s\n", openWebUISecretKeyFile)
	}

	srv, err := newOpenWebUIServer(cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	sigs, stop := stopSignals()
	defer stop()
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	lns, err := listenAll([]string{addr})
	if err != nil {
		fmt.Fprintf(stderr, "ERROR:    [Errno 98] error while attempting to bind on address (%s): address already in use\n", addr)
		return 1
	}
	fmt.Fprintf(stdout, "\n ██████╗ ██████╗ ███████╗███╗   ██╗    ██╗    ██╗███████╗██████╗ ██╗   ██╗██╗\n\nv%s - building the best AI user interface. (stand-in)\n\n", openWebUIVersion)
	fmt.Fprintf(stdout, "INFO:     Started server process [%d]\nINFO:     Waiting for application startup.\nINFO:     Application startup complete.\n", os.Getpid())
	fmt.Fprintf(stdout, "INFO:     Uvicorn running on http://%s (Press CTRL+C to quit)\n", addr)
	return serveUntilStop(lns, srv, sigs, stderr, func() {
		fmt.Fprintln(stdout, "INFO:     Shutting down")
		srv.ws.closeWebsockets()
	})
}

func openWebUIHealthcheck(stderr io.Writer) int {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://localhost:" + port + "/health")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer resp.Body.Close()
	var body struct{ Status bool }
	if json.NewDecoder(resp.Body).Decode(&body) != nil || !body.Status {
		return 1
	}
	return 0
}

// The persisted state.
type owuiUser struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	Role         string `json:"role"`
	PasswordSalt string `json:"password_salt"`
	PasswordHash string `json:"password_hash"`
	APIKey       string `json:"api_key,omitempty"`
	CreatedAt    int64  `json:"created_at"`
}

type owuiPlugin struct {
	ID            string         `json:"id"`
	UserID        string         `json:"user_id"`
	Type          string         `json:"type,omitempty"` // functions: pipe, filter, action
	Name          string         `json:"name"`
	Content       string         `json:"content"`
	Meta          map[string]any `json:"meta"`
	AccessControl any            `json:"access_control"`
	IsActive      bool           `json:"is_active"`
	IsGlobal      bool           `json:"is_global"`
	UpdatedAt     int64          `json:"updated_at"`
	CreatedAt     int64          `json:"created_at"`
}

type owuiState struct {
	Users     []*owuiUser   `json:"users"`
	Tools     []*owuiPlugin `json:"tools"`
	Functions []*owuiPlugin `json:"functions"`
}

// owuiCall is one recorded /api/ call.
type owuiCall struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
	Auth   string `json:"auth"` // "jwt", "api_key" or "none"
	Time   string `json:"time"`
	PID    int    `json:"pid"`
}

type openWebUIServer struct {
	cfg       *openWebUIConfig
	log       io.Writer
	startedAt time.Time
	ws        *standinServer // websocket echo at /ws/socket.io

	mu          sync.Mutex
	state       owuiState
	pipInstalls []string
}

func newOpenWebUIServer(cfg *openWebUIConfig, log io.Writer) (*openWebUIServer, error) {
	// DATA_DIR must be writable: the real app creates its SQLite database,
	// uploads/, cache/ and vector_db/ there at import time.
	for _, d := range []string{cfg.DataDir, filepath.Join(cfg.DataDir, "uploads"), filepath.Join(cfg.DataDir, "cache"), filepath.Join(cfg.DataDir, "vector_db")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, pyOSError(err, d)
		}
	}
	probe := filepath.Join(cfg.DataDir, ".standin-write-test")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		return nil, fmt.Errorf("sqlite3.OperationalError: unable to open database file (%v)", pyOSError(err, probe))
	}
	os.Remove(probe)
	s := &openWebUIServer{cfg: cfg, log: log, startedAt: time.Now(),
		ws: newStandinServer(&streamlitConfig{}, "", scriptSwitches{})}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, openWebUIStateFile))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &s.state); err != nil {
			return nil, fmt.Errorf("standin: corrupt %s: %v", openWebUIStateFile, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, pyOSError(err, filepath.Join(cfg.DataDir, openWebUIStateFile))
	}
	if s.state.Users == nil {
		s.state.Users = []*owuiUser{}
	}
	if s.state.Tools == nil {
		s.state.Tools = []*owuiPlugin{}
	}
	if s.state.Functions == nil {
		s.state.Functions = []*owuiPlugin{}
	}
	return s, nil
}

// save writes the state atomically; the caller holds s.mu.
func (s *openWebUIServer) save() error {
	b, err := json.MarshalIndent(&s.state, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(s.cfg.DataDir, openWebUIStateFile)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	return r.ResponseWriter.Write(b)
}

func (s *openWebUIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		s.serveRoot(w, r)
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	auth := "none"
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		auth = "jwt"
		if strings.HasPrefix(tok, "sk-") {
			auth = "api_key"
		}
	}
	s.serveAPI(rec, r)
	if rec.status == 0 {
		rec.status = 200
	}
	s.record(owuiCall{Method: r.Method, Path: r.URL.Path, Status: rec.status, Auth: auth,
		Time: time.Now().UTC().Format(time.RFC3339Nano), PID: os.Getpid()})
}

func (s *openWebUIServer) record(c owuiCall) {
	b, _ := json.Marshal(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(s.cfg.DataDir, openWebUICallsFile), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	f.Write(append(b, '\n'))
	f.Close()
}

func (s *openWebUIServer) calls() []owuiCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []owuiCall{}
	f, err := os.Open(filepath.Join(s.cfg.DataDir, openWebUICallsFile))
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var c owuiCall
		if json.Unmarshal(sc.Bytes(), &c) == nil {
			out = append(out, c)
		}
	}
	return out
}

func detail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"detail": msg})
}

// serveRoot serves everything outside /api/.
func (s *openWebUIServer) serveRoot(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/health":
		writeJSON(w, 200, map[string]bool{"status": true})
	case p == "/health/db":
		writeJSON(w, 200, map[string]bool{"status": true})
	case p == "/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html>\n<head><title>Open WebUI (stand-in)</title></head>\n<body>\n<h1>Open WebUI v%s (stand-in)</h1>\n<script src=\"/_app/immutable/entry/start.js\"></script>\n</body>\n</html>\n", openWebUIVersion)
	case strings.HasPrefix(p, "/_app/"):
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, "// Open WebUI stand-in asset\n")
	case p == "/ws/socket.io" || p == "/ws/socket.io/":
		s.ws.serveWebsocket(w, r)
	case p == "/_standin/calls":
		if r.Method == http.MethodDelete {
			s.mu.Lock()
			os.Remove(filepath.Join(s.cfg.DataDir, openWebUICallsFile))
			s.mu.Unlock()
		}
		writeJSON(w, 200, s.calls())
	case p == "/_standin/info":
		s.serveInfo(w)
	case p == "/_standin/file":
		serveFile(w, r)
	default:
		// No base path support: /<prefix>/... is simply not found.
		detail(w, http.StatusNotFound, "Not Found")
	}
}

func (s *openWebUIServer) serveInfo(w http.ResponseWriter) {
	info := baseInfo(s.startedAt)
	s.mu.Lock()
	users := []map[string]string{}
	for _, u := range s.state.Users {
		users = append(users, map[string]string{"id": u.ID, "email": u.Email, "role": u.Role, "name": u.Name})
	}
	ids := func(ps []*owuiPlugin) []string {
		out := []string{}
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	info["users"] = users
	info["tools"] = ids(s.state.Tools)
	info["functions"] = ids(s.state.Functions)
	info["pip_installs"] = append([]string{}, s.pipInstalls...)
	s.mu.Unlock()
	info["data_dir"] = s.cfg.DataDir
	info["data_dir_contents"] = listDir(s.cfg.DataDir, 500)
	info["port"] = s.cfg.Port
	info["secret_key_from_file"] = s.cfg.SecretKeyFile != ""
	info["pip_install_frontmatter_requirements"] = s.cfg.PipInstall
	info["version"] = openWebUIVersion
	writeJSON(w, 200, info)
}

// --- tokens ---

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signToken makes an HS256 JWT {"id": userID}, as Open WebUI's create_token.
func (s *openWebUIServer) signToken(userID string) string {
	hdr := b64url([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload, _ := json.Marshal(map[string]string{"id": userID})
	msg := hdr + "." + b64url(payload)
	mac := hmac.New(sha256.New, []byte(s.cfg.SecretKey))
	mac.Write([]byte(msg))
	return msg + "." + b64url(mac.Sum(nil))
}

func (s *openWebUIServer) verifyToken(tok string) (string, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", false
	}
	mac := hmac.New(sha256.New, []byte(s.cfg.SecretKey))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return "", false
	}
	pb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var p struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(pb, &p) != nil || p.ID == "" {
		return "", false
	}
	return p.ID, true
}

// currentUser is get_current_user: the caller holds s.mu. It writes the
// error itself and returns nil when there is no valid user.
func (s *openWebUIServer) currentUser(w http.ResponseWriter, r *http.Request) *owuiUser {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		if c, err := r.Cookie("token"); err == nil {
			tok = c.Value
		}
	}
	if tok == "" {
		detail(w, http.StatusForbidden, "Not authenticated")
		return nil
	}
	if strings.HasPrefix(tok, "sk-") {
		for _, u := range s.state.Users {
			if u.APIKey != "" && hmac.Equal([]byte(u.APIKey), []byte(tok)) {
				return u
			}
		}
		detail(w, http.StatusUnauthorized, owuiInvalidToken)
		return nil
	}
	id, ok := s.verifyToken(tok)
	if !ok {
		detail(w, http.StatusUnauthorized, owuiUnauthorized)
		return nil
	}
	for _, u := range s.state.Users {
		if u.ID == id {
			return u
		}
	}
	detail(w, http.StatusUnauthorized, owuiInvalidToken)
	return nil
}

func (s *openWebUIServer) adminUser(w http.ResponseWriter, r *http.Request) *owuiUser {
	u := s.currentUser(w, r)
	if u != nil && u.Role != "admin" {
		detail(w, http.StatusUnauthorized, owuiAccessProhibited)
		return nil
	}
	return u
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func hashPassword(salt, pw string) string {
	h := sha256.Sum256([]byte(salt + "\x00" + pw))
	return hex.EncodeToString(h[:])
}

func decodeBody(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(v)
}

func signinResponse(tok string, u *owuiUser) map[string]any {
	return map[string]any{"token": tok, "token_type": "Bearer", "expires_at": nil, "id": u.ID, "email": u.Email,
		"name": u.Name, "role": u.Role, "profile_image_url": "/user.png", "permissions": map[string]any{}}
}

func userResponse(u *owuiUser) map[string]any {
	return map[string]any{"id": u.ID, "email": u.Email, "name": u.Name, "role": u.Role, "profile_image_url": "/user.png"}
}

func (s *openWebUIServer) serveAPI(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case p == "/api/version":
		writeJSON(w, 200, map[string]string{"version": openWebUIVersion})
	case p == "/api/config":
		writeJSON(w, 200, map[string]any{"status": true, "name": "Open WebUI", "version": openWebUIVersion,
			"onboarding": len(s.state.Users) == 0,
			"features":   map[string]any{"auth": true, "enable_signup": s.cfg.EnableSignup, "enable_api_key": true}})
	case p == "/api/v1/auths/signup" && r.Method == http.MethodPost:
		s.signup(w, r)
	case p == "/api/v1/auths/signin" && r.Method == http.MethodPost:
		s.signin(w, r)
	case (p == "/api/v1/auths/" || p == "/api/v1/auths") && r.Method == http.MethodGet:
		if u := s.currentUser(w, r); u != nil {
			writeJSON(w, 200, userResponse(u))
		}
	case p == "/api/v1/auths/api_key":
		s.apiKey(w, r)
	case strings.HasPrefix(p, "/api/v1/tools/") || p == "/api/v1/tools":
		s.plugins(w, r, "tools", strings.TrimPrefix(strings.TrimPrefix(p, "/api/v1/tools"), "/"))
	case strings.HasPrefix(p, "/api/v1/functions/") || p == "/api/v1/functions":
		s.plugins(w, r, "functions", strings.TrimPrefix(strings.TrimPrefix(p, "/api/v1/functions"), "/"))
	default:
		detail(w, http.StatusNotFound, "Not Found")
	}
}

func (s *openWebUIServer) signup(w http.ResponseWriter, r *http.Request) {
	var f struct{ Name, Email, Password string }
	if err := decodeBody(r, &f); err != nil {
		detail(w, http.StatusUnprocessableEntity, "invalid JSON body: "+err.Error())
		return
	}
	if !s.cfg.EnableSignup && len(s.state.Users) > 0 {
		detail(w, http.StatusForbidden, owuiAccessProhibited)
		return
	}
	email := strings.ToLower(strings.TrimSpace(f.Email))
	if !regexp.MustCompile(`^[^@\s]+@[^@\s]+$`).MatchString(email) {
		detail(w, http.StatusBadRequest, owuiInvalidEmail)
		return
	}
	for _, u := range s.state.Users {
		if u.Email == email {
			detail(w, http.StatusBadRequest, owuiEmailTaken)
			return
		}
	}
	role := "pending" // DEFAULT_USER_ROLE
	if len(s.state.Users) == 0 {
		role = "admin"
	}
	salt := randomHex(8)
	u := &owuiUser{ID: newUUID(), Name: f.Name, Email: email, Role: role, PasswordSalt: salt,
		PasswordHash: hashPassword(salt, f.Password), CreatedAt: time.Now().Unix()}
	s.state.Users = append(s.state.Users, u)
	if err := s.save(); err != nil {
		s.state.Users = s.state.Users[:len(s.state.Users)-1]
		detail(w, http.StatusInternalServerError, err.Error())
		return
	}
	fmt.Fprintf(s.log, "INFO:     standin: signed up %s as %s\n", email, role)
	writeJSON(w, 200, signinResponse(s.signToken(u.ID), u))
}

func (s *openWebUIServer) signin(w http.ResponseWriter, r *http.Request) {
	var f struct{ Email, Password string }
	if err := decodeBody(r, &f); err != nil {
		detail(w, http.StatusUnprocessableEntity, "invalid JSON body: "+err.Error())
		return
	}
	email := strings.ToLower(strings.TrimSpace(f.Email))
	for _, u := range s.state.Users {
		if u.Email == email && hmac.Equal([]byte(u.PasswordHash), []byte(hashPassword(u.PasswordSalt, f.Password))) {
			writeJSON(w, 200, signinResponse(s.signToken(u.ID), u))
			return
		}
	}
	detail(w, http.StatusBadRequest, owuiInvalidCred)
}

// apiKey: GET shows the caller's key, POST makes a new one, DELETE drops it.
func (s *openWebUIServer) apiKey(w http.ResponseWriter, r *http.Request) {
	u := s.currentUser(w, r)
	if u == nil {
		return
	}
	switch r.Method {
	case http.MethodGet:
		if u.APIKey == "" {
			detail(w, http.StatusNotFound, "API key not found")
			return
		}
		writeJSON(w, 200, map[string]string{"api_key": u.APIKey})
	case http.MethodPost:
		u.APIKey = "sk-" + randomHex(16)
		if err := s.save(); err != nil {
			detail(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, 200, map[string]string{"api_key": u.APIKey})
	case http.MethodDelete:
		u.APIKey = ""
		s.save()
		writeJSON(w, 200, true)
	default:
		detail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

// pythonIdentifier is str.isidentifier for ASCII ids.
var pythonIdentifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// frontmatter parses the key: value lines of a plugin's leading docstring.
func frontmatter(content string) map[string]any {
	out := map[string]any{}
	c := strings.TrimLeft(content, " \t\r\n")
	var quote string
	switch {
	case strings.HasPrefix(c, `"""`):
		quote = `"""`
	case strings.HasPrefix(c, `'''`):
		quote = `'''`
	default:
		return out
	}
	body, _, ok := strings.Cut(c[3:], quote)
	if !ok {
		return out
	}
	for _, l := range strings.Split(body, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
		if ok && k != "" && !strings.Contains(k, " ") {
			out[strings.ToLower(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

var functionClass = regexp.MustCompile(`(?m)^class\s+(Pipe|Filter|Action)\b`)
var toolsClass = regexp.MustCompile(`(?m)^class\s+Tools\b`)

// loadPlugin checks content the way Open WebUI's loader would (it execs
// the module): tools need a Tools class, functions a Pipe, Filter or Action
// class, which sets the type. It returns the manifest, the type and an
// error message.
func (s *openWebUIServer) loadPlugin(kind, id, content string) (map[string]any, string, string) {
	fm := frontmatter(content)
	typ := ""
	if kind == "tools" {
		if !toolsClass.MatchString(content) {
			return nil, "", "[ERROR: No Tools class found in the module]"
		}
	} else {
		m := functionClass.FindStringSubmatch(content)
		if m == nil {
			return nil, "", "[ERROR: No Function class found in the module]"
		}
		typ = strings.ToLower(m[1])
	}
	if reqs, _ := fm["requirements"].(string); reqs != "" && s.cfg.PipInstall {
		// Real Open WebUI runs pip install here, at load time.
		fmt.Fprintf(s.log, "INFO:     Installing requirements: %s\n", strings.Join(strings.Fields(strings.ReplaceAll(reqs, ",", " ")), " "))
		s.pipInstalls = append(s.pipInstalls, kind+"/"+id+": "+reqs)
	}
	return fm, typ, ""
}

type pluginForm struct {
	ID            string         `json:"id"`
	Name          string         `json:"name"`
	Content       string         `json:"content"`
	Meta          map[string]any `json:"meta"`
	AccessControl any            `json:"access_control"`
}

// pluginView is the list shape (no content) or the model shape.
func pluginView(kind string, p *owuiPlugin, withContent bool) map[string]any {
	v := map[string]any{"id": p.ID, "user_id": p.UserID, "name": p.Name, "meta": p.Meta,
		"updated_at": p.UpdatedAt, "created_at": p.CreatedAt}
	if kind == "tools" {
		v["access_control"] = p.AccessControl
	} else {
		v["type"] = p.Type
		v["is_active"] = p.IsActive
		v["is_global"] = p.IsGlobal
	}
	if withContent {
		v["content"] = p.Content
	}
	return v
}

// plugins serves /api/v1/tools/... and /api/v1/functions/...; the caller
// holds s.mu. rest is the path after the collection, without leading "/".
func (s *openWebUIServer) plugins(w http.ResponseWriter, r *http.Request, kind, rest string) {
	list := &s.state.Tools
	if kind == "functions" {
		list = &s.state.Functions
	}
	find := func(id string) (int, *owuiPlugin) {
		for i, p := range *list {
			if p.ID == id {
				return i, p
			}
		}
		return -1, nil
	}
	user := s.adminUser(w, r)
	if user == nil {
		return
	}
	method := r.Method
	switch {
	case (rest == "" || rest == "list") && method == http.MethodGet:
		out := []map[string]any{}
		for _, p := range *list {
			out = append(out, pluginView(kind, p, false))
		}
		writeJSON(w, 200, out)
	case rest == "export" && method == http.MethodGet:
		out := []map[string]any{}
		for _, p := range *list {
			out = append(out, pluginView(kind, p, true))
		}
		writeJSON(w, 200, out)
	case rest == "create" && method == http.MethodPost:
		var f pluginForm
		if err := decodeBody(r, &f); err != nil {
			detail(w, http.StatusUnprocessableEntity, "invalid JSON body: "+err.Error())
			return
		}
		if !pythonIdentifier.MatchString(f.ID) {
			detail(w, http.StatusBadRequest, owuiBadID)
			return
		}
		f.ID = strings.ToLower(f.ID)
		if _, p := find(f.ID); p != nil {
			detail(w, http.StatusBadRequest, owuiIDTaken)
			return
		}
		fm, typ, msg := s.loadPlugin(kind, f.ID, f.Content)
		if msg != "" {
			detail(w, http.StatusBadRequest, msg)
			return
		}
		now := time.Now().Unix()
		meta := f.Meta
		if meta == nil {
			meta = map[string]any{}
		}
		meta["manifest"] = fm
		p := &owuiPlugin{ID: f.ID, UserID: user.ID, Type: typ, Name: f.Name, Content: f.Content, Meta: meta,
			AccessControl: f.AccessControl, UpdatedAt: now, CreatedAt: now}
		*list = append(*list, p)
		if err := s.save(); err != nil {
			*list = (*list)[:len(*list)-1]
			detail(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, 200, pluginView(kind, p, kind == "tools"))
	case strings.HasPrefix(rest, "id/"):
		id, action, _ := strings.Cut(strings.TrimPrefix(rest, "id/"), "/")
		i, p := find(id)
		switch {
		case action == "" && method == http.MethodGet:
			if p == nil {
				detail(w, http.StatusUnauthorized, owuiNotFound)
				return
			}
			writeJSON(w, 200, pluginView(kind, p, true))
		case action == "update" && method == http.MethodPost:
			var f pluginForm
			if err := decodeBody(r, &f); err != nil {
				detail(w, http.StatusUnprocessableEntity, "invalid JSON body: "+err.Error())
				return
			}
			if p == nil {
				if kind == "tools" {
					detail(w, http.StatusUnauthorized, owuiNotFound)
				} else {
					detail(w, http.StatusBadRequest, "[ERROR: Error updating function]")
				}
				return
			}
			fm, typ, msg := s.loadPlugin(kind, id, f.Content)
			if msg != "" {
				detail(w, http.StatusBadRequest, msg)
				return
			}
			meta := f.Meta
			if meta == nil {
				meta = map[string]any{}
			}
			meta["manifest"] = fm
			p.Name, p.Content, p.Meta, p.Type, p.UpdatedAt = f.Name, f.Content, meta, typ, time.Now().Unix()
			if kind == "tools" {
				p.AccessControl = f.AccessControl
			}
			if err := s.save(); err != nil {
				detail(w, http.StatusInternalServerError, err.Error())
				return
			}
			writeJSON(w, 200, pluginView(kind, p, true))
		case action == "delete" && method == http.MethodDelete:
			if p == nil {
				if kind == "tools" {
					detail(w, http.StatusUnauthorized, owuiNotFound)
				} else {
					writeJSON(w, 200, false)
				}
				return
			}
			*list = append((*list)[:i], (*list)[i+1:]...)
			if err := s.save(); err != nil {
				detail(w, http.StatusInternalServerError, err.Error())
				return
			}
			writeJSON(w, 200, true)
		case kind == "functions" && (action == "toggle" || action == "toggle/global") && method == http.MethodPost:
			if p == nil {
				detail(w, http.StatusUnauthorized, owuiNotFound)
				return
			}
			if action == "toggle" {
				p.IsActive = !p.IsActive
			} else {
				p.IsGlobal = !p.IsGlobal
			}
			p.UpdatedAt = time.Now().Unix()
			if err := s.save(); err != nil {
				detail(w, http.StatusInternalServerError, err.Error())
				return
			}
			writeJSON(w, 200, pluginView(kind, p, true))
		default:
			s.notAllowedOrFound(w, action)
		}
	default:
		s.notAllowedOrFound(w, rest)
	}
}

func (s *openWebUIServer) notAllowedOrFound(w http.ResponseWriter, what string) {
	known := map[string]bool{"": true, "list": true, "export": true, "create": true, "update": true, "delete": true, "toggle": true, "toggle/global": true}
	if known[what] {
		detail(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	detail(w, http.StatusNotFound, "Not Found")
}
