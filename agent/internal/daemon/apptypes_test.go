package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// Each app type deploys from git, gets healthy by its own health rule,
// answers through the proxy, restarts, stops and fails clearly. The images
// are local stand-ins (no registry here) that accept the real command lines
// and serve the real health routes.

func appEnv(t *testing.T) (*agenttest.GitServer, *agenttest.Agent) {
	agenttest.EnsureStandinImage(t)
	gs := agenttest.StartGitServer(t)
	a := agenttest.Start(t, agenttest.Options{KnownHostsFile: gs.KnownHostsFile, Environments: map[string]string{
		"python-3.12": agenttest.StandinImage,
		"airflow-3.0": agenttest.StandinImage, // stands in for apache/airflow:3.0.2-python3.12
		"openwebui":   agenttest.StandinOpenWebUIImage,
	}})
	return gs, a
}

func newProject(t *testing.T, gs *agenttest.GitServer, a *agenttest.Agent, name, appType, env, path string, files map[string]string) (*api.Project, *agenttest.Repo) {
	repo := gs.NewRepo(t, name, files)
	p, err := a.Client.CreateProject(context.Background(), api.CreateProjectRequest{Name: name, AppType: appType, Environment: env, GitURL: repo.URL, Path: path})
	if err != nil {
		t.Fatal(err)
	}
	gs.Authorize(p.DeployPublicKey)
	return p, repo
}

func info(t *testing.T, a *agenttest.Agent, slug, path string) map[string]any {
	code, body := a.AppGet(t, slug, path)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return m
}

func TestDashRunsUnderGunicornThroughTheLauncher(t *testing.T) {
	gs, a := appEnv(t)
	p, repo := newProject(t, gs, a, "dash-app", "dash", "python-3.12", "src/app.py", map[string]string{
		"src/app.py":       "import dash\napp = dash.Dash(__name__)\n# DASH-MARKER\n",
		"requirements.txt": "dash\n",
	})
	d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusDeployed {
		t.Fatalf("deploy: %+v", d)
	}
	if code, body := a.AppGet(t, p.Slug, "/"); code != 200 || !strings.Contains(body, "DASH-MARKER") {
		t.Fatalf("page: %d %q", code, body)
	}
	in := info(t, a, p.Slug, "/_standin/info")
	args := strings.Join(toStrings(in["args"]), " ")
	env := in["env"].(map[string]any)
	if !strings.Contains(args, "--bind 0.0.0.0:8050") || !strings.Contains(args, "runtime_dash:application") {
		t.Fatalf("gunicorn args: %s", args)
	}
	if env["RUNTIME_DASH_ENTRY"] != "/app/src/app.py" || env["DASH_URL_BASE_PATHNAME"] != "/" || env["DASH_APP_NAME"] != nil {
		t.Fatalf("env: %v", env)
	}
	if inst, _ := in["installed"].(string); !strings.Contains(inst, "dash") || !strings.Contains(inst, "gunicorn") {
		t.Fatalf("environment image lacks dash or gunicorn: %q", inst)
	}
	// A crashing version fails with the app's own log lines; the old one keeps serving.
	bad := repo.Commit(t, "main", map[string]string{"src/app.py": "# STANDIN_CRASH\n"}, "crash")
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning, Commit: bad})
	if d.Status != api.StatusFailed || !strings.Contains(d.LastError, "crashing as asked") {
		t.Fatalf("crash: %+v", d)
	}
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateStopped})
	if d.Status != api.StatusStopped {
		t.Fatalf("stop: %+v", d)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestAirflowStandaloneHealthFromJSONAndConnections(t *testing.T) {
	gs, a := appEnv(t)
	ctx := context.Background()
	p, repo := newProject(t, gs, a, "etl", "airflow", "airflow-3.0", "dags", map[string]string{
		"dags/etl.py": "# an Airflow DAG\n",
	})
	if _, err := a.Client.SetConnection(ctx, p.Slug, "warehouse", api.SetConnectionRequest{Type: "postgres", Host: "db", Port: 5432, Login: "u", Password: "p@ss/word", Schema: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client.SetVariable(ctx, p.Slug, "region", "eu"); err != nil {
		t.Fatal(err)
	}
	d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusDeployed {
		t.Fatalf("deploy: %+v", d)
	}
	in := info(t, a, p.Slug, "/_standin/info")
	env := in["env"].(map[string]any)
	if env["AIRFLOW__CORE__DAGS_FOLDER"] != "/app/dags" || env["AIRFLOW__CORE__LOAD_EXAMPLES"] != "False" || env["AIRFLOW__CORE__FERNET_KEY"] == "" || env["AIRFLOW_VAR_REGION"] != "eu" {
		t.Fatalf("env: %v", env)
	}
	var conn map[string]any
	if err := json.Unmarshal([]byte(env["AIRFLOW_CONN_WAREHOUSE"].(string)), &conn); err != nil || conn["conn_type"] != "postgres" || conn["password"] != "p@ss/word" {
		t.Fatalf("AIRFLOW_CONN_WAREHOUSE = %v (%v)", env["AIRFLOW_CONN_WAREHOUSE"], err)
	}
	// The admin login is the agent's and is readable through the credentials route.
	cr, err := a.Client.Credentials(ctx, p.Slug)
	if err != nil || cr.Username != "admin" || len(cr.Password) < 16 {
		t.Fatalf("credentials: %+v %v", cr, err)
	}
	_, file := a.AppGet(t, p.Slug, "/_standin/file?path=/opt/airflow/simple_auth_manager_passwords.json.generated")
	if !strings.Contains(file, cr.Password) {
		t.Fatalf("Airflow does not use the agent's admin password: %q", file)
	}
	fernet := env["AIRFLOW__CORE__FERNET_KEY"]

	// HTTP 200 with an unhealthy scheduler is not healthy.
	bad := repo.Commit(t, "main", map[string]string{"dags/etl.py": "# STANDIN_UNHEALTHY_SCHEDULER\n"}, "sick")
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning, Commit: bad})
	if d.Status != api.StatusFailed || !strings.Contains(d.LastError, "scheduler is unhealthy") {
		t.Fatalf("unhealthy scheduler: %+v", d)
	}
	// Fixing it redeploys; generated keys survive redeploys.
	repo.Commit(t, "main", map[string]string{"dags/etl.py": "# fixed\n"}, "fixed")
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusDeployed {
		t.Fatalf("fixed: %+v", d)
	}
	if env := info(t, a, p.Slug, "/_standin/info")["env"].(map[string]any); env["AIRFLOW__CORE__FERNET_KEY"] != fernet {
		t.Fatal("fernet key changed between deploys")
	}
	// A file where a folder is expected fails before anything runs.
	path := "dags/etl.py"
	deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateStopped})
	if _, err := a.Client.UpdateProject(ctx, p.Slug, api.UpdateProjectRequest{Path: &path}); err != nil {
		t.Fatal(err)
	}
	d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusFailed || !strings.Contains(d.LastError, "DAGs folder") {
		t.Fatalf("file as DAGs folder: %+v", d)
	}
}

func TestOpenWebUISyncsPluginsOnceAndKeepsData(t *testing.T) {
	gs, a := appEnv(t)
	ctx := context.Background()
	p, _ := newProject(t, gs, a, "chat", "openwebui", "openwebui", "/", map[string]string{
		"tools/weather.py":    "class Tools:\n    def weather(self):\n        return 'sunny'\n",
		"functions/filter.py": "class Filter:\n    pass\n",
	})
	d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusDeployed {
		t.Fatalf("deploy: %+v", d)
	}
	calls := func() []string {
		code, body := a.AppGet(t, p.Slug, "/_standin/calls")
		if code != 200 {
			t.Fatalf("calls: %d %s", code, body)
		}
		var cs []struct {
			Method, Path string
		}
		json.Unmarshal([]byte(body), &cs)
		var out []string
		for _, c := range cs {
			if c.Method != "GET" {
				out = append(out, c.Method+" "+c.Path)
			}
		}
		return out
	}
	first := strings.Join(calls(), "\n")
	for _, want := range []string{"/api/v1/tools/create", "/api/v1/functions/create", "/api/v1/functions/id/filter/toggle"} {
		if !strings.Contains(first, want) {
			t.Fatalf("first sync lacks %s:\n%s", want, first)
		}
	}
	env := info(t, a, p.Slug, "/_standin/info")["env"].(map[string]any)
	if env["WEBUI_SECRET_KEY"] == "" || env["ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS"] != "False" || !strings.HasPrefix(env["WEBUI_URL"].(string), "http://chat.") {
		t.Fatalf("env: %v", env)
	}
	// A redeploy with unchanged files (here: a config change) makes no writes.
	n := len(calls())
	if _, err := a.Client.SetVariable(ctx, p.Slug, "OPENAI_API_BASE_URL", "http://llm:8000/v1"); err != nil {
		t.Fatal(err)
	}
	got, _ := a.Client.GetDeployment(ctx, p.Slug, false)
	if got, _ = a.Client.WaitDeployment(ctx, p.Slug, got.Generation); got.Status != api.StatusDeployed || got.ContainerID == d.ContainerID {
		t.Fatalf("restart after config change: %+v", got)
	}
	if c := calls(); len(c) != n {
		t.Fatalf("unchanged plugins were synced again: %v", c[n:])
	}
	if cr, err := a.Client.Credentials(ctx, p.Slug); err != nil || !strings.Contains(cr.Username, "@") {
		t.Fatalf("credentials: %+v %v", cr, err)
	}
}

func TestWebAppBuildsItsDockerfile(t *testing.T) {
	gs, a := appEnv(t)
	p, _ := newProject(t, gs, a, "webapp", "web", "python-3.12", "deploy/Dockerfile", map[string]string{
		"deploy/Dockerfile": "FROM " + agenttest.StandinImage + "\nCOPY app.py /srv/app.py\nEXPOSE 9000\nLABEL io.runtimeops.health-path=/_stcore/health\n" +
			`CMD ["streamlit", "run", "/srv/app.py", "--server.port=9000"]` + "\n",
		"deploy/app.py": "# WEB-MARKER\n",
	})
	d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
	if d.Status != api.StatusDeployed {
		t.Fatalf("deploy: %+v", d)
	}
	if code, body := a.AppGet(t, p.Slug, "/"); code != 200 || !strings.Contains(body, "WEB-MARKER") {
		t.Fatalf("page: %d %q", code, body)
	}
	// Deleting the project removes the images built for it.
	if err := a.Client.DeleteProject(context.Background(), p.Slug); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("docker", "images", "-q", "runtime-app/"+p.Slug).Output(); strings.TrimSpace(string(out)) != "" {
		t.Fatalf("images left after delete: %s", out)
	}
}

// A path prefix serves the app at http://<apps domain>/<prefix>/, with the
// framework told its base path; Open WebUI refuses one.
func TestPathPrefixRouting(t *testing.T) {
	gs, a := appEnv(t)
	ctx := context.Background()
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+a.AppsAddr+path, nil)
		req.Host = a.AppsDomain
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st, _ := newProject(t, gs, a, "pfx-st", "streamlit", "python-3.12", "app.py", map[string]string{"app.py": "# PFX-ST\n"})
	d := deploy(t, a, st.Slug, api.DeploymentSpec{State: api.StateRunning, PathPrefix: "team/sales"})
	if d.Status != api.StatusDeployed || !strings.HasSuffix(d.URL, "/team/sales/") || d.PathPrefix != "team/sales" {
		t.Fatalf("streamlit under a prefix: %+v", d)
	}
	if code, body := get("/team/sales/"); code != 200 || !strings.Contains(body, "PFX-ST") {
		t.Fatalf("GET /team/sales/: %d %q", code, body)
	}
	if code, _ := get("/team/sales/_stcore/health"); code != 200 {
		t.Fatalf("health under the prefix: %d", code)
	}
	in := info(t, a, st.Slug, "/team/sales/_standin/info")
	if args := strings.Join(toStrings(in["args"]), " "); !strings.Contains(args, "--server.baseUrlPath=team/sales") {
		t.Fatalf("streamlit args: %s", args)
	}

	ds, _ := newProject(t, gs, a, "pfx-dash", "dash", "python-3.12", "app.py", map[string]string{"app.py": "# PFX-DASH\n", "requirements.txt": "dash\n"})
	if d := deploy(t, a, ds.Slug, api.DeploymentSpec{State: api.StateRunning, PathPrefix: "team/dash"}); d.Status != api.StatusDeployed {
		t.Fatalf("dash under a prefix: %+v", d)
	}
	if code, body := get("/team/dash/"); code != 200 || !strings.Contains(body, "PFX-DASH") {
		t.Fatalf("GET /team/dash/: %d %q", code, body)
	}
	if env := info(t, a, ds.Slug, "/team/dash/_standin/info")["env"].(map[string]any); env["DASH_URL_BASE_PATHNAME"] != "/team/dash/" {
		t.Fatalf("dash env: %v", env)
	}
	// Overlapping prefixes are refused.
	if _, err := a.Client.PutDeployment(ctx, ds.Slug, api.DeploymentSpec{State: api.StateRunning, PathPrefix: "team/sales/x"}); !api.IsConflict(err) {
		t.Fatalf("overlapping prefix = %v", err)
	}
	ow, _ := newProject(t, gs, a, "pfx-ow", "openwebui", "openwebui", "/", map[string]string{"tools/x.py": "class Tools: pass\n"})
	if _, err := a.Client.PutDeployment(ctx, ow.Slug, api.DeploymentSpec{State: api.StateRunning, PathPrefix: "chat"}); err == nil || !strings.Contains(err.Error(), "openwebui apps cannot be served under a path prefix") {
		t.Fatalf("openwebui with a prefix = %v", err)
	}
}

// The output of an environment image build is kept with the deploy and
// readable afterwards; a deploy that reuses the image writes none.
func TestBuildLogIsKept(t *testing.T) {
	gs, a := appEnv(t)
	ctx := context.Background()
	// A requirements file no other test uses, so this deploy really builds.
	unique := fmt.Sprintf("streamlit\n# build-log test %d\n", time.Now().UnixNano())
	p, repo := newProject(t, gs, a, "buildlog", "streamlit", "python-3.12", "app.py", map[string]string{"app.py": "# BL\n", "requirements.txt": unique})
	if _, err := a.Client.BuildLog(ctx, p.Slug); !api.IsNotFound(err) {
		t.Fatalf("build log before any build = %v", err)
	}
	if d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning}); d.Status != api.StatusDeployed {
		t.Fatalf("deploy: %+v", d)
	}
	first, err := a.Client.BuildLog(ctx, p.Slug)
	if err != nil || !strings.Contains(first, "Successfully installed") {
		t.Fatalf("build log = %q, %v", first, err)
	}
	// A code-only change reuses the environment image: no new build log.
	repo.Commit(t, "main", map[string]string{"app.py": "# BL2\n"}, "code only")
	if d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning}); d.Status != api.StatusDeployed {
		t.Fatalf("redeploy: %+v", d)
	}
	if again, _ := a.Client.BuildLog(ctx, p.Slug); again != first {
		t.Fatal("a code-only deploy rebuilt the environment image")
	}
}

// Every app type restarts (a new revision), stops, starts again and fails
// clearly with the app's own log lines.
func TestEveryTypeRestartsStopsAndFailsClearly(t *testing.T) {
	gs, a := appEnv(t)
	crash := "# STANDIN_CRASH\n"
	cases := []struct {
		name, appType, env, path string
		files                    map[string]string
		broken                   map[string]string
		wantErr                  string
	}{
		{"lc-streamlit", "streamlit", "python-3.12", "app.py", map[string]string{"app.py": "# ok\n"}, map[string]string{"app.py": crash}, "crashing as asked"},
		{"lc-dash", "dash", "python-3.12", "app.py", map[string]string{"app.py": "# ok\n", "requirements.txt": "dash\n"}, map[string]string{"app.py": crash}, "crashing as asked"},
		{"lc-airflow", "airflow", "airflow-3.0", "dags", map[string]string{"dags/a.py": "# ok\n"}, map[string]string{"dags/a.py": crash}, "crashing as asked"},
		{"lc-openwebui", "openwebui", "openwebui", "/", map[string]string{"tools/t.py": "class Tools:\n    pass\n"}, map[string]string{"tools/t.py": "print('no class')\n"}, "tools/t.py"},
		{"lc-web", "web", "python-3.12", "Dockerfile", map[string]string{
			"Dockerfile": "FROM " + agenttest.StandinImage + "\nCOPY app.py /srv/app.py\nEXPOSE 8000\nLABEL io.runtimeops.health-path=/_stcore/health\n" + `CMD ["streamlit", "run", "/srv/app.py", "--server.port=8000"]` + "\n",
			"app.py":     "# ok\n",
		}, map[string]string{"app.py": crash}, "crashing as asked"},
	}
	for _, tc := range cases {
		t.Run(tc.appType, func(t *testing.T) {
			p, repo := newProject(t, gs, a, tc.name, tc.appType, tc.env, tc.path, tc.files)
			d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning})
			if d.Status != api.StatusDeployed {
				t.Fatalf("deploy: %+v", d)
			}
			first := d.ContainerID
			d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning, Revision: "restart-1"})
			if d.Status != api.StatusDeployed || d.ContainerID == first {
				t.Fatalf("restart: %+v", d)
			}
			if d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateStopped, Revision: "restart-1"}); d.Status != api.StatusStopped {
				t.Fatalf("stop: %+v", d)
			}
			if code, _ := a.AppGet(t, p.Slug, "/"); code == 200 {
				t.Fatal("a stopped app still answers")
			}
			if d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning, Revision: "restart-1"}); d.Status != api.StatusDeployed {
				t.Fatalf("start again: %+v", d)
			}
			bad := repo.Commit(t, "main", tc.broken, "broken")
			d = deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning, Commit: bad})
			if d.Status != api.StatusFailed || !strings.Contains(d.LastError, tc.wantErr) {
				t.Fatalf("broken commit: %+v", d)
			}
		})
	}
}

// An app killed for exceeding memory_mb fails its deploy saying so.
func TestOOMKillIsReported(t *testing.T) {
	gs, a := appEnv(t)
	p, _ := newProject(t, gs, a, "oom", "streamlit", "python-3.12", "app.py", map[string]string{"app.py": "# STANDIN_OOM\n"})
	d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning, MemoryMB: 64})
	if d.Status != api.StatusFailed || !strings.Contains(d.LastError, "ran out of memory (OOM killed)") {
		t.Fatalf("OOM: %+v", d)
	}
	t.Logf("reported: %s", firstLineOf(d.LastError))
}

func firstLineOf(s string) string { return strings.SplitN(s, "\n", 2)[0] }
