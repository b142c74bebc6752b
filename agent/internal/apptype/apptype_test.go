package apptype

import (
	"strings"
	"testing"
)

var ctx = Context{Slug: "sales", Entry: "src/app.py", URL: "http://sales.apps.example/",
	Generated: map[string]string{"fernet_key": "F", "secret_key": "S", "jwt_secret": "J", "webui_secret_key": "W"}}

// Each template is compared with the facts in reference/runtimes.md §1.5.

func TestStreamlitTemplate(t *testing.T) {
	tpl, _ := Lookup("streamlit")
	cmd := strings.Join(tpl.Command(ctx), " ")
	for _, want := range []string{"streamlit run /app/src/app.py", "--server.port=8501", "--server.address=0.0.0.0",
		"--server.headless=true", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command %q lacks %q", cmd, want)
		}
	}
	if strings.Contains(cmd, "baseUrlPath") {
		t.Error("baseUrlPath set without a prefix")
	}
	pre := ctx
	pre.BasePath = "/sales/"
	if !strings.Contains(strings.Join(tpl.Command(pre), " "), "--server.baseUrlPath=sales") || tpl.HealthPath(pre) != "/sales/_stcore/health" {
		t.Errorf("prefix: %v %q", tpl.Command(pre), tpl.HealthPath(pre))
	}
	if tpl.Port != 8501 || tpl.HealthPath(ctx) != "/_stcore/health" || tpl.Stateful {
		t.Errorf("port %d health %q", tpl.Port, tpl.HealthPath(ctx))
	}
}

func TestDashTemplate(t *testing.T) {
	tpl, _ := Lookup("dash")
	cmd := strings.Join(tpl.Command(ctx), " ")
	if !strings.HasPrefix(cmd, "gunicorn --bind 0.0.0.0:8050") || !strings.HasSuffix(cmd, "runtime_dash:application") || !strings.Contains(cmd, "--pythonpath "+DashLauncherDir) {
		t.Errorf("command %q", cmd)
	}
	env := tpl.Env(ctx)
	if env["RUNTIME_DASH_ENTRY"] != "/app/src/app.py" || env["DASH_URL_BASE_PATHNAME"] != "/" {
		t.Errorf("env %v", env)
	}
	if _, ok := env["DASH_APP_NAME"]; ok {
		t.Error("DASH_APP_NAME must never be set")
	}
	if tpl.Port != 8050 || tpl.HealthPath(ctx) != "/_agent/health" || tpl.Requirements[0] != "gunicorn" {
		t.Errorf("port %d health %q", tpl.Port, tpl.HealthPath(ctx))
	}
}

func TestAirflowTemplate(t *testing.T) {
	tpl, _ := Lookup("airflow")
	c := ctx
	c.Entry = "dags"
	env := tpl.Env(c)
	for k, v := range map[string]string{
		"AIRFLOW__CORE__DAGS_FOLDER": "/app/dags", "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
		"AIRFLOW__CORE__FERNET_KEY": "F", "AIRFLOW__API__SECRET_KEY": "S", "AIRFLOW__API_AUTH__JWT_SECRET": "J",
		"AIRFLOW__API__BASE_URL": ctx.URL, "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://localhost:8080/execution/",
	} {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if strings.Join(tpl.Command(c), " ") != "airflow standalone" || tpl.Port != 8080 || !tpl.Stateful || tpl.Entry != EntryDir {
		t.Errorf("airflow template %+v", tpl)
	}
	if tpl.HealthPath(c) != "/api/v2/monitor/health" {
		t.Errorf("health %q", tpl.HealthPath(c))
	}
	// Under a prefix, the API base URL and the execution API URL carry it
	// (runtimes.md §1.3: tasks stay queued otherwise).
	pre := c
	pre.BasePath, pre.URL = "/team/etl/", "http://apps.example/team/etl/"
	if env := tpl.Env(pre); env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] != "http://localhost:8080/team/etl/execution/" || env["AIRFLOW__API__BASE_URL"] != pre.URL || tpl.HealthPath(pre) != "/team/etl/api/v2/monitor/health" {
		t.Errorf("airflow under a prefix: %v %q", env, tpl.HealthPath(pre))
	}
	ok, _ := tpl.Healthy(200, []byte(`{"metadatabase":{"status":"healthy"},"scheduler":{"status":"healthy"},"triggerer":{"status":"healthy"},"dag_processor":{"status":"healthy"}}`))
	if !ok {
		t.Error("healthy JSON judged unhealthy")
	}
	ok, why := tpl.Healthy(200, []byte(`{"metadatabase":{"status":"healthy"},"scheduler":{"status":"unhealthy"},"triggerer":{"status":"healthy"}}`))
	if ok || !strings.Contains(why, "scheduler is unhealthy") {
		t.Errorf("unhealthy scheduler with HTTP 200: %v %q", ok, why)
	}
	if ok, _ := tpl.Healthy(200, []byte("<html>")); ok {
		t.Error("non-JSON judged healthy")
	}
}

func TestOpenWebUITemplate(t *testing.T) {
	tpl, _ := Lookup("openwebui")
	env := tpl.Env(ctx)
	if env["WEBUI_SECRET_KEY"] != "W" || env["WEBUI_URL"] != ctx.URL || env["ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS"] != "False" {
		t.Errorf("env %v", env)
	}
	if tpl.Command != nil || tpl.Port != 8080 || tpl.HealthPath(ctx) != "/health" || tpl.PrefixRouting || tpl.DataDir != "/app/backend/data" {
		t.Errorf("openwebui template %+v", tpl)
	}
}

func TestWebTemplateAndEntryChecks(t *testing.T) {
	tpl, _ := Lookup("web")
	if !tpl.BuildsImage || tpl.Command != nil {
		t.Error("web must build the Dockerfile and run the image's command")
	}
	if msg := tpl.CheckEntry(false, false, "Dockerfile"); !strings.Contains(msg, "not found") {
		t.Errorf("missing Dockerfile: %q", msg)
	}
	af, _ := Lookup("airflow")
	if msg := af.CheckEntry(true, false, "dags/x.py"); !strings.Contains(msg, "DAGs folder") {
		t.Errorf("file as DAGs folder: %q", msg)
	}
	if _, err := Lookup("php"); err == nil {
		t.Error("unknown type accepted")
	}
	if len(Types()) != 5 {
		t.Errorf("types = %v", Types())
	}
}
