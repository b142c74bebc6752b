package agenttest

// Each stand-in personality added for Dash, Airflow and Open WebUI, run once
// in a real container the way the agent runs it. They never skip.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/client"

	"github.com/runtimeops/terraform-provider-runtime/agent/internal/apptype/launcher"
)

// standinServe starts a long-running container and returns its IP on the
// default bridge network.
func standinServe(t *testing.T, cli *client.Client, cfg *container.Config, hc *container.HostConfig) (id, ip string) {
	t.Helper()
	id = standinCreate(t, cli, cfg, hc)
	ctx := context.Background()
	if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatalf("start: %v", err)
	}
	return id, standinIP(t, cli, id)
}

func standinIP(t *testing.T, cli *client.Client, id string) string {
	t.Helper()
	insp, err := cli.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range insp.NetworkSettings.Networks {
		if n.IPAddress != "" {
			return n.IPAddress
		}
	}
	t.Fatalf("container has no IP address:\n%s", standinLogs(t, cli, id))
	return ""
}

var standinHTTP = &http.Client{Timeout: 5 * time.Second}

// standinWait polls url until it answers 200, failing with the container's
// log after a while.
func standinWait(t *testing.T, cli *client.Client, id, url string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := standinHTTP.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered 200 (last error %v); log:\n%s", url, err, standinLogs(t, cli, id))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// standinDo sends a request with an optional JSON body and bearer token.
func standinDo(t *testing.T, method, url, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := standinHTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func standinJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %q", b)
	}
	return m
}

// standinDir makes a world-readable directory holding files.
func standinDir(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func bindRO(src, dst string) mount.Mount {
	return mount.Mount{Type: mount.TypeBind, Source: src, Target: dst, ReadOnly: true}
}

func TestStandinDashContainer(t *testing.T) {
	EnsureStandinImage(t)
	cli := standinDocker(t)
	app := standinDir(t, map[string][]byte{"dashboards/app.py": []byte("import dash\napp = dash.Dash(__name__)  # MARKER-DASH\n")})
	launcherDir := standinDir(t, map[string][]byte{launcher.DashFile: launcher.DashLauncher})
	cmd := []string{"gunicorn", "--bind", "0.0.0.0:8050", "--workers", "2", "--threads", "4", "--timeout", "120",
		"--chdir", "/app", "--pythonpath", "/opt/runtime/dash", launcher.DashApp}
	env := []string{launcher.DashEntryEnv + "=/app/dashboards/app.py", launcher.DashRootEnv + "=/app", "DASH_URL_BASE_PATHNAME=/sales/", "PYTHONUNBUFFERED=1"}

	// Without the launcher mounted, gunicorn cannot import it.
	code, out := standinRunWith(t, cli, &container.Config{Image: StandinImage, Cmd: cmd, Env: env},
		&container.HostConfig{Mounts: []mount.Mount{bindRO(app, "/app")}})
	if code == 0 || !strings.Contains(out, "No module named 'runtime_dash'") {
		t.Errorf("without the launcher: exit %d, log:\n%s", code, out)
	}

	id, ip := standinServe(t, cli, &container.Config{Image: StandinImage, Cmd: cmd, Env: env},
		&container.HostConfig{Init: ptr(true), Mounts: []mount.Mount{bindRO(app, "/app"), bindRO(launcherDir, "/opt/runtime/dash")}})
	base := "http://" + ip + ":8050"
	if body := standinWait(t, cli, id, base+"/sales/_agent/health"); body != "ok" {
		t.Errorf("health body %q", body)
	}
	if code, body := standinDo(t, "GET", base+"/sales/", "", nil); code != 200 || !bytes.Contains(body, []byte("MARKER-DASH")) {
		t.Errorf("page: %d %q", code, body)
	}
	if code, _ := standinDo(t, "GET", base+"/sales/_dash-dependencies", "", nil); code != 200 {
		t.Errorf("_dash-dependencies: %d", code)
	}
	if code, _ := standinDo(t, "GET", base+"/_agent/health", "", nil); code != 404 {
		t.Errorf("health outside the prefix: %d", code)
	}
	_, body := standinDo(t, "GET", base+"/_standin/info", "", nil)
	info := standinJSON(t, body)
	var args []string
	for _, a := range info["args"].([]any) {
		args = append(args, a.(string))
	}
	if !slices.Equal(args, cmd[1:]) || info["cwd"] != "/app" || info["script_path"] != "/app/dashboards/app.py" || info["workers"] != float64(2) {
		t.Errorf("info: %s", body)
	}
	if _, ok := info["env"].(map[string]any)["DASH_APP_NAME"]; ok {
		t.Error("DASH_APP_NAME is set")
	}
	if code, body := standinDo(t, "GET", base+"/sales/_standin/file?path=/opt/runtime/dash/runtime_dash.py", "", nil); code != 200 || !bytes.Equal(body, launcher.DashLauncher) {
		t.Errorf("launcher in the container: %d", code)
	}
}

func TestStandinAirflowContainer(t *testing.T) {
	EnsureStandinImage(t)
	cli := standinDocker(t)
	dags := standinDir(t, map[string][]byte{"etl.py": []byte("from airflow import DAG\n")})
	env := []string{"AIRFLOW_HOME=/opt/airflow", "AIRFLOW__CORE__DAGS_FOLDER=/app/dags", "AIRFLOW__CORE__LOAD_EXAMPLES=False",
		"AIRFLOW__API__BASE_URL=http://apps.example.com/etl"}

	// Airflow's uid without a writable AIRFLOW_HOME fails to start.
	code, out := standinRunWith(t, cli, &container.Config{Image: StandinImage, Cmd: []string{"airflow", "standalone"}, Env: env, User: "50000:0"},
		&container.HostConfig{Mounts: []mount.Mount{bindRO(dags, "/app/dags")}})
	if code != 1 || !strings.Contains(out, "PermissionError: [Errno 13] Permission denied: '/opt/airflow'") {
		t.Errorf("unwritable home: exit %d, log:\n%s", code, out)
	}

	id, ip := standinServe(t, cli, &container.Config{Image: StandinImage, Cmd: []string{"airflow", "standalone"}, Env: env},
		&container.HostConfig{Init: ptr(true), Mounts: []mount.Mount{bindRO(dags, "/app/dags")}})
	base := "http://" + ip + ":8080/etl"
	health := standinJSON(t, []byte(standinWait(t, cli, id, base+"/api/v2/monitor/health")))
	for _, c := range []string{"metadatabase", "scheduler", "triggerer", "dag_processor"} {
		if s, _ := health[c].(map[string]any); s["status"] != "healthy" {
			t.Errorf("%s: %v", c, health[c])
		}
	}
	if code, body := standinDo(t, "GET", base+"/", "", nil); code != 200 || !bytes.Contains(body, []byte("etl.py")) {
		t.Errorf("index: %d %q", code, body)
	}
	const pwFile = "/opt/airflow/simple_auth_manager_passwords.json.generated"
	_, pw := standinDo(t, "GET", base+"/_standin/file?path="+pwFile, "", nil)
	admin, _ := standinJSON(t, pw)["admin"].(string)
	if admin == "" {
		t.Fatalf("password file: %q", pw)
	}
	if strings.Contains(standinLogs(t, cli, id), admin) {
		t.Error("the log holds the admin password")
	}
	if code, body := standinDo(t, "POST", base+"/auth/token", "", map[string]string{"username": "admin", "password": admin}); code != 201 {
		t.Errorf("login: %d %q", code, body)
	}

	// A restart keeps AIRFLOW_HOME, so the password stays.
	timeout := 10
	if err := cli.ContainerRestart(context.Background(), id, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	base = "http://" + standinIP(t, cli, id) + ":8080/etl"
	standinWait(t, cli, id, base+"/api/v2/monitor/health")
	if _, again := standinDo(t, "GET", base+"/_standin/file?path="+pwFile, "", nil); !bytes.Equal(again, pw) {
		t.Errorf("password file changed across a restart: %q -> %q", pw, again)
	}
	if logs := standinLogs(t, cli, id); !strings.Contains(logs, "standalone | Shutting down components") {
		t.Errorf("no clean shutdown in the log:\n%s", logs)
	}
}

func TestStandinOpenWebUIContainer(t *testing.T) {
	EnsureStandinImage(t)
	cli := standinDocker(t)
	img, err := cli.ImageInspect(context.Background(), StandinOpenWebUIImage)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(img.Config.Cmd, []string{"open-webui", "serve"}) || img.Config.WorkingDir != "/app/backend" ||
		img.Config.Healthcheck == nil || !slices.Contains(img.Config.Env, "PORT=8080") {
		t.Errorf("image config: cmd=%q workdir=%q healthcheck=%v env=%q", img.Config.Cmd, img.Config.WorkingDir, img.Config.Healthcheck, img.Config.Env)
	}
	if code, out := standinRunWith(t, cli, &container.Config{Image: StandinOpenWebUIImage, Cmd: []string{"pip", "--version"}}, nil); code != 0 || !strings.Contains(out, "pip 24") {
		t.Errorf("pip in the Open WebUI image: %d %q", code, out)
	}

	data := t.TempDir()
	env := []string{"WEBUI_SECRET_KEY=test-secret", "WEBUI_URL=http://chat.apps.example.com", "ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS=False"}
	id, ip := standinServe(t, cli, &container.Config{Image: StandinOpenWebUIImage, Env: env},
		&container.HostConfig{Init: ptr(true), Mounts: []mount.Mount{{Type: mount.TypeBind, Source: data, Target: "/app/backend/data"}}})
	base := "http://" + ip + ":8080"
	if body := standinWait(t, cli, id, base+"/health"); standinJSON(t, []byte(body))["status"] != true {
		t.Errorf("health: %q", body)
	}
	if code, _ := standinDo(t, "GET", base+"/chat/health", "", nil); code != 404 {
		t.Errorf("a path prefix answered %d", code)
	}
	code, body := standinDo(t, "POST", base+"/api/v1/auths/signup", "", map[string]string{"name": "Admin", "email": "admin@example.com", "password": "pw"})
	signup := standinJSON(t, body)
	token, _ := signup["token"].(string)
	if code != 200 || signup["role"] != "admin" || token == "" {
		t.Fatalf("signup: %d %s", code, body)
	}
	tool := map[string]any{"id": "weather", "name": "Weather", "content": "class Tools:\n    pass\n", "meta": map[string]any{"description": "w"}}
	if code, body := standinDo(t, "POST", base+"/api/v1/tools/create", token, tool); code != 200 {
		t.Fatalf("create tool: %d %s", code, body)
	}

	// Stop and start again: the data volume keeps users, tools and the log
	// of admin calls.
	timeout := 10
	if err := cli.ContainerRestart(context.Background(), id, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatal(err)
	}
	base = "http://" + standinIP(t, cli, id) + ":8080"
	standinWait(t, cli, id, base+"/health")
	code, body = standinDo(t, "POST", base+"/api/v1/auths/signin", "", map[string]string{"email": "admin@example.com", "password": "pw"})
	if code != 200 {
		t.Fatalf("signin after restart: %d %s", code, body)
	}
	if code, body := standinDo(t, "GET", base+"/api/v1/tools/id/weather", token, nil); code != 200 || !bytes.Contains(body, []byte("class Tools")) {
		t.Errorf("tool after restart: %d %s", code, body)
	}
	_, body = standinDo(t, "GET", base+"/_standin/calls", "", nil)
	var calls []map[string]any
	json.Unmarshal(body, &calls)
	var writes []string
	for _, c := range calls {
		if c["method"] != "GET" {
			writes = append(writes, c["method"].(string)+" "+c["path"].(string))
		}
	}
	if want := []string{"POST /api/v1/auths/signup", "POST /api/v1/tools/create", "POST /api/v1/auths/signin"}; !slices.Equal(writes, want) {
		t.Errorf("recorded writes %q, want %q", writes, want)
	}
	_, body = standinDo(t, "GET", base+"/_standin/info", "", nil)
	info := standinJSON(t, body)
	if e := info["env"].(map[string]any); e["WEBUI_URL"] != "http://chat.apps.example.com" || e["WEBUI_SECRET_KEY"] != "test-secret" ||
		e["ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS"] != "False" || info["cwd"] != "/app/backend" || info["secret_key_from_file"] != false {
		t.Errorf("info: %s", body)
	}
	if _, err := os.Stat(filepath.Join(data, "standin-webui.json")); err != nil {
		t.Errorf("state not in the data volume: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
