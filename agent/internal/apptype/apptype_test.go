package apptype

import (
	"strings"
	"testing"
)

// The Streamlit template must match reference/runtimes.md §1.1: run the
// entrypoint with the agent-owned flags on the command line, port 8501,
// health on /_stcore/health.
func TestStreamlitTemplateMatchesReference(t *testing.T) {
	tpl, err := Lookup("streamlit")
	if err != nil {
		t.Fatal(err)
	}
	cmd := strings.Join(tpl.Command("src/app.py"), " ")
	for _, want := range []string{
		"streamlit run /app/src/app.py", "--server.port=8501", "--server.address=0.0.0.0",
		"--server.headless=true", "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
	} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command %q lacks %q", cmd, want)
		}
	}
	if tpl.Port != 8501 || tpl.HealthPath != "/_stcore/health" {
		t.Errorf("port %d health %q", tpl.Port, tpl.HealthPath)
	}
	if tpl.HealthURL("10.0.0.2") != "http://10.0.0.2:8501/_stcore/health" {
		t.Errorf("health url %q", tpl.HealthURL("10.0.0.2"))
	}
}

func TestUnsupportedTypesSaySo(t *testing.T) {
	for _, typ := range []string{"dash", "airflow", "openwebui", "web"} {
		_, err := Lookup(typ)
		if err == nil || !strings.Contains(err.Error(), "not supported by this agent yet") {
			t.Errorf("Lookup(%q) = %v", typ, err)
		}
	}
	if _, err := Lookup("php"); err == nil || !strings.Contains(err.Error(), "use one of") {
		t.Errorf("Lookup(php) = %v", err)
	}
}
