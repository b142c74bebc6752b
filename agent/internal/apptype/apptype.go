// Package apptype is the table of runtime templates: for each app type, how
// to start it, on which port, how to probe its health and which environment
// variables the agent owns. Adding an app type is adding an entry here.
// Facts come from shared/reference/runtimes.md §1.
package apptype

import (
	"fmt"
	"path"
	"strconv"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// AppDir is where a release is mounted (read-only) in the container; the
// app's working directory, so relative reads and .streamlit/ work as in a
// checkout.
const AppDir = "/app"

// Template describes how one app type runs.
type Template struct {
	Type string
	// Port the app listens on inside the container.
	Port int
	// Command returns the container command for an entrypoint path relative
	// to the repository root. Settings the agent must own are flags: they beat
	// anything a config file committed to the repository says.
	Command func(entry string) []string
	// Env the agent sets; users may not override these keys.
	Env map[string]string
	// HealthPath is probed over HTTP; Healthy judges the answer.
	HealthPath string
	Healthy    func(status int, body []byte) bool
}

func status200(status int, _ []byte) bool { return status == 200 }

var templates = map[string]*Template{
	api.AppStreamlit: {
		Type: api.AppStreamlit,
		Port: 8501,
		Command: func(entry string) []string {
			return []string{
				"streamlit", "run", path.Join(AppDir, entry),
				"--server.port=8501",
				"--server.address=0.0.0.0",
				"--server.headless=true",
				"--server.fileWatcherType=none", // releases are immutable
				"--browser.gatherUsageStats=false",
			}
		},
		Env:        map[string]string{"PYTHONUNBUFFERED": "1"},
		HealthPath: "/_stcore/health",
		Healthy:    status200,
	},
}

// Lookup returns the template of an app type, or an error saying the type is
// not supported by this agent yet.
func Lookup(appType string) (*Template, error) {
	if t, ok := templates[appType]; ok {
		return t, nil
	}
	if api.ValidateAppType(appType) == nil {
		return nil, fmt.Errorf("app type %q is not supported by this agent yet: only %s apps can be deployed for now", appType, api.AppStreamlit)
	}
	return nil, api.ValidateAppType(appType)
}

// HealthURL is the probe URL for a container at ip.
func (t *Template) HealthURL(ip string) string {
	return "http://" + ip + ":" + strconv.Itoa(t.Port) + t.HealthPath
}
