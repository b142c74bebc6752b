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
	"time"
)

func TestAirflowConfig(t *testing.T) {
	env := map[string]string{
		"AIRFLOW_HOME": "/h", "AIRFLOW__CORE__DAGS_FOLDER": "/app/dags", "AIRFLOW__API__PORT": "9090",
		"AIRFLOW__API__BASE_URL": "https://example.com/team/airflow/", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,bob:viewer",
	}
	cfg, err := airflowConfigFrom(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Home != "/h" || cfg.DagsFolder != "/app/dags" || cfg.Port != 9090 || cfg.Prefix != "/team/airflow" ||
		cfg.PasswordsFile != "/h/simple_auth_manager_passwords.json.generated" || !reflect.DeepEqual(cfg.Users, []string{"admin", "bob"}) {
		t.Errorf("config: %+v", cfg)
	}
	cfg, _ = airflowConfigFrom(func(string) string { return "" })
	if cfg.Home != "/opt/airflow" || cfg.DagsFolder != "/opt/airflow/dags" || cfg.Port != 8080 || cfg.Prefix != "" || !reflect.DeepEqual(cfg.Users, []string{"admin"}) {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, _ = airflowConfigFrom(func(k string) string { return map[string]string{"AIRFLOW__API__BASE_URL": "http://x:8080"}[k] })
	if cfg.Prefix != "" {
		t.Errorf("root base URL gives prefix %q", cfg.Prefix)
	}
	if _, err := airflowConfigFrom(func(k string) string { return map[string]string{"AIRFLOW__API__PORT": "x"}[k] }); err == nil {
		t.Error("bad port accepted")
	}
}

func TestAirflowHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "airflow")
	cfg, _ := airflowConfigFrom(func(k string) string { return map[string]string{"AIRFLOW_HOME": home}[k] })
	if err := prepareAirflowDB(cfg); err != nil {
		t.Fatal(err)
	}
	pw, err := ensureAirflowPasswords(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(pw["admin"]) != 16 {
		t.Fatalf("passwords = %v", pw)
	}
	b, _ := os.ReadFile(filepath.Join(home, "simple_auth_manager_passwords.json.generated"))
	var onDisk map[string]string
	if json.Unmarshal(b, &onDisk) != nil || onDisk["admin"] != pw["admin"] {
		t.Errorf("file = %q", b)
	}
	// A restart keeps the password.
	again, _ := ensureAirflowPasswords(cfg)
	if again["admin"] != pw["admin"] {
		t.Error("password changed across restarts")
	}
	for _, f := range []string{"airflow.cfg", "airflow.db", "logs/"} {
		if !strings.Contains(strings.Join(listDir(home, 100), " "), f) {
			t.Errorf("home lacks %s: %v", f, listDir(home, 100))
		}
	}

	// Not a writable directory.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	bad, _ := airflowConfigFrom(func(k string) string { return map[string]string{"AIRFLOW_HOME": file + "/home"}[k] })
	if err := prepareAirflowDB(bad); err == nil {
		t.Error("unusable AIRFLOW_HOME accepted")
	}
}

func TestAirflowCommands(t *testing.T) {
	home := t.TempDir()
	dags := filepath.Join(home, "dags")
	os.MkdirAll(dags, 0o755)
	os.WriteFile(filepath.Join(dags, "etl.py"), []byte("from airflow import DAG\n# STANDIN_CRASH\n"), 0o644)
	t.Setenv("AIRFLOW_HOME", home)
	t.Setenv("AIRFLOW__CORE__DAGS_FOLDER", dags)

	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"airflow", "version"}, 0, "3.0.2\n"},
		{[]string{"airflow"}, 2, ""},
		{[]string{"airflow", "webserver"}, 2, ""},
		{[]string{"airflow", "db", "migrate"}, 0, "Database migrating done!"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != c.code || !strings.Contains(out.String(), c.out) {
			t.Errorf("%q: %d %q %q", c.args, code, out.String(), errb.String())
		}
	}

	var out, errb bytes.Buffer
	code := run([]string{"airflow", "standalone"}, &out, &errb)
	if code != 3 || !strings.Contains(errb.String(), "etl.py contains STANDIN_CRASH") {
		t.Fatalf("crash: %d %q %q", code, out.String(), errb.String())
	}
	b, err := os.ReadFile(filepath.Join(home, "simple_auth_manager_passwords.json.generated"))
	var pw map[string]string
	if err != nil || json.Unmarshal(b, &pw) != nil || pw["admin"] == "" {
		t.Fatalf("passwords file: %q %v", b, err)
	}
	if strings.Contains(out.String()+errb.String(), pw["admin"]) {
		t.Error("standalone printed the admin password")
	}
}

func TestScanDags(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.py", "sub/b.py", "notes.txt", ".hidden/c.py", "__pycache__/d.py", "skip_me.py", "vendor/e.py"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, ".airflowignore"), []byte("skip_*.py\nvendor/  # third party\n"), 0o644)
	var got []string
	for _, d := range scanDags(dir) {
		got = append(got, d.Path)
	}
	if want := []string{"a.py", "sub/b.py"}; !reflect.DeepEqual(got, want) {
		t.Errorf("dags = %q, want %q", got, want)
	}
	if len(scanDags(filepath.Join(dir, "missing"))) != 0 {
		t.Error("missing folder has DAGs")
	}
}

func TestAirflowRoutes(t *testing.T) {
	home := t.TempDir()
	dags := filepath.Join(t.TempDir(), "dags")
	os.MkdirAll(dags, 0o755)
	os.WriteFile(filepath.Join(dags, "sales_etl.py"), []byte("from airflow import DAG\n"), 0o644)
	env := map[string]string{"AIRFLOW_HOME": home, "AIRFLOW__CORE__DAGS_FOLDER": dags, "AIRFLOW__API__BASE_URL": "http://example.com/airflow"}
	cfg, _ := airflowConfigFrom(func(k string) string { return env[k] })
	prepareAirflowDB(cfg)
	pw, _ := ensureAirflowPasswords(cfg)
	srv := httptest.NewServer(newAirflowServer(cfg))
	t.Cleanup(srv.Close)

	for path, want := range map[string]int{
		"/airflow/api/v2/monitor/health": 200, "/airflow/": 200, "/airflow": 200, "/airflow/api/v2/version": 200,
		"/_standin/info": 200, "/airflow/_standin/info": 200,
		"/api/v2/monitor/health": 404, "/": 404, "/airflow/nope": 404, "/airflow/api/v2/dags": 401,
	} {
		if code, _ := get(t, srv.URL+path); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
	health := func() map[string]map[string]any {
		code, body := get(t, srv.URL+"/airflow/api/v2/monitor/health")
		var h map[string]map[string]any
		if code != 200 || json.Unmarshal([]byte(body), &h) != nil {
			t.Fatalf("health: %d %q", code, body)
		}
		return h
	}
	h := health()
	for _, c := range []string{"metadatabase", "scheduler", "triggerer", "dag_processor"} {
		if h[c]["status"] != "healthy" {
			t.Errorf("%s = %v", c, h[c])
		}
	}
	if hb, _ := h["scheduler"]["latest_scheduler_heartbeat"].(string); hb == "" {
		t.Error("no scheduler heartbeat")
	} else if ts, err := time.Parse(time.RFC3339, hb); err != nil || time.Since(ts) > time.Minute {
		t.Errorf("heartbeat %q: %v", hb, err)
	}
	// DAG code changes without a restart: the scheduler turns unhealthy,
	// the status code stays 200.
	os.WriteFile(filepath.Join(dags, "bad.py"), []byte("# STANDIN_UNHEALTHY_SCHEDULER\n"), 0o644)
	if h := health(); h["scheduler"]["status"] != "unhealthy" || h["triggerer"]["status"] != "healthy" {
		t.Errorf("unhealthy scheduler: %v", h)
	}

	if _, body := get(t, srv.URL+"/airflow/"); !strings.Contains(body, "sales_etl.py") || !strings.Contains(body, "bad.py") {
		t.Errorf("index: %q", body)
	}
	_, body := get(t, srv.URL+"/_standin/info")
	var info map[string]any
	json.Unmarshal([]byte(body), &info)
	if !reflect.DeepEqual(info["dags"], []any{"bad.py", "sales_etl.py"}) || info["base_path"] != "/airflow" ||
		!strings.Contains(body, airflowPasswordsFileName) {
		t.Errorf("info: %s", body)
	}
	if code, body := get(t, srv.URL+"/airflow/_standin/file?path="+cfg.PasswordsFile); code != 200 || !strings.Contains(body, pw["admin"]) {
		t.Errorf("file: %d %q", code, body)
	}

	// The simple auth manager's login.
	post := func(user, pass string) (int, map[string]string) {
		b, _ := json.Marshal(map[string]string{"username": user, "password": pass})
		resp, err := http.Post(srv.URL+"/airflow/auth/token", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := post("admin", "wrong"); code != 401 {
		t.Errorf("bad login = %d", code)
	}
	code, tok := post("admin", pw["admin"])
	if code != 201 || tok["access_token"] == "" {
		t.Fatalf("login = %d %v", code, tok)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/airflow/api/v2/dags", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Total int `json:"total_entries"`
	}
	json.NewDecoder(resp.Body).Decode(&list)
	if resp.StatusCode != 200 || list.Total != 2 {
		t.Errorf("dags = %d %+v", resp.StatusCode, list)
	}
}
