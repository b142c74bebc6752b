// Package apptype is the table of runtime templates: for each app type, how
// to start it, on which port, how to probe its health, which environment
// variables the agent owns and whether it keeps state. Adding an app type is
// adding an entry here. Facts come from shared/reference/runtimes.md §1.
package apptype

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// AppDir is where a release is mounted (read-only) in the container; the
// app's working directory, so relative reads and .streamlit/ work as in a
// checkout.
const AppDir = "/app"

// DashLauncherDir is where the agent mounts its Dash launcher module.
const DashLauncherDir = "/opt/runtime/dash"

// EntryKind says what the project's path must name.
type EntryKind int

const (
	EntryFile EntryKind = iota // a file: the app's entrypoint (or the Dockerfile, for web)
	EntryDir                   // a directory: Airflow's DAGs folder, Open WebUI's plugin folder
)

// Context is what a template needs to render a container.
type Context struct {
	Slug  string
	Entry string // path inside the repository, cleaned ("src/app.py", "." for the root)
	URL   string // the app's public URL
	// BasePath is the path prefix the app is served under ("" or "/x/").
	BasePath string
	// Generated holds the project's generated secrets (see Template.Generated).
	Generated map[string]string
}

// EntryPath is the entrypoint's path inside the container.
func (c Context) EntryPath() string { return path.Join(AppDir, c.Entry) }

// Template describes how one app type runs.
type Template struct {
	Type string
	// Port the app listens on inside the container (web: the Dockerfile's
	// EXPOSE overrides it).
	Port int
	// Entry says whether path names a file or a directory.
	Entry EntryKind
	// Command returns the container command; nil runs the image's own.
	// Settings the agent must own go on the command line where the
	// framework allows it: flags beat a config file committed to the repo.
	Command func(c Context) []string
	// Env returns the variables the agent sets; they win over user values.
	Env func(c Context) map[string]string
	// HealthPath is probed over HTTP; Healthy judges the answer and says why not.
	HealthPath func(c Context) string
	Healthy    func(status int, body []byte) (bool, string)
	// Stateful apps keep data in DataDir (a persistent directory) and are
	// restarted stop-first; stateless ones get a new container that takes
	// over only once healthy.
	Stateful bool
	DataDir  string
	// User is the uid the image runs its app as (0: root). It owns DataDir
	// and the secret files. Web apps run as their Dockerfile's USER instead.
	User int
	// Requirements are added to the environment image when the project's
	// own requirements lack them.
	Requirements []string
	// Generated names per-project secrets generated once and kept (sealed).
	Generated []string
	// StartPeriod is how long probe failures are expected while the app
	// starts; after it, FailureThreshold failures in a row fail the deploy.
	StartPeriod      time.Duration
	ProbeInterval    time.Duration
	FailureThreshold int
	StopTimeout      int
	// PrefixRouting says whether the app can be served under a path prefix.
	PrefixRouting bool
	// BuildsImage: the path is a Dockerfile built into the app's image.
	BuildsImage bool
	// OwnImage: the image is the application (Open WebUI); the release is
	// not mounted (the image's /app is its own) and its working directory
	// is kept. The agent reads the repository's files itself.
	OwnImage bool
}

func healthy200(status int, _ []byte) (bool, string) {
	if status == 200 {
		return true, ""
	}
	return false, "answered HTTP " + strconv.Itoa(status)
}

func below500(status int, _ []byte) (bool, string) {
	if status < 500 {
		return true, ""
	}
	return false, "answered HTTP " + strconv.Itoa(status)
}

// airflowHealthy reads Airflow's health JSON: the HTTP status is 200 as long
// as the web process lives, so only the per-component statuses count.
func airflowHealthy(status int, body []byte) (bool, string) {
	if status != 200 {
		return false, "answered HTTP " + strconv.Itoa(status)
	}
	var h map[string]struct {
		Status *string `json:"status"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return false, "health answer is not Airflow's JSON: " + err.Error()
	}
	var bad []string
	for _, name := range []string{"metadatabase", "scheduler", "triggerer", "dag_processor"} {
		c, ok := h[name]
		if !ok {
			if name == "dag_processor" {
				continue // Airflow 2 has no separate DAG processor
			}
			bad = append(bad, name+" missing")
			continue
		}
		if c.Status == nil || *c.Status != "healthy" {
			s := "null"
			if c.Status != nil {
				s = *c.Status
			}
			bad = append(bad, name+" is "+s)
		}
	}
	if len(bad) > 0 {
		return false, strings.Join(bad, ", ")
	}
	return true, ""
}

func fixed(p string) func(Context) string {
	return func(c Context) string { return strings.TrimSuffix(c.BasePath, "/") + p }
}

var templates = map[string]*Template{
	// streamlit run <entry> with the agent-owned flags (runtimes.md §1.1).
	api.AppStreamlit: {
		Type:  api.AppStreamlit,
		Port:  8501,
		Entry: EntryFile,
		Command: func(c Context) []string {
			cmd := []string{
				"streamlit", "run", c.EntryPath(),
				"--server.port=8501",
				"--server.address=0.0.0.0",
				"--server.headless=true",
				"--server.fileWatcherType=none", // releases are immutable
				"--browser.gatherUsageStats=false",
			}
			if c.BasePath != "" {
				cmd = append(cmd, "--server.baseUrlPath="+strings.Trim(c.BasePath, "/"))
			}
			return cmd
		},
		Env:              func(Context) map[string]string { return map[string]string{"PYTHONUNBUFFERED": "1"} },
		HealthPath:       fixed("/_stcore/health"),
		Healthy:          healthy200,
		StartPeriod:      30 * time.Second,
		ProbeInterval:    time.Second,
		FailureThreshold: 5,
		StopTimeout:      10,
		PrefixRouting:    true,
	},
	// gunicorn serving the app's Flask server through the agent's launcher,
	// never the Dash dev server (runtimes.md §1.2).
	api.AppDash: {
		Type:  api.AppDash,
		Port:  8050,
		Entry: EntryFile,
		Command: func(c Context) []string {
			return []string{
				"gunicorn", "--bind", "0.0.0.0:8050", "--workers", "2", "--threads", "4", "--timeout", "120",
				"--chdir", AppDir, "--pythonpath", DashLauncherDir, "runtime_dash:application",
			}
		},
		Env: func(c Context) map[string]string {
			base := c.BasePath
			if base == "" {
				base = "/"
			}
			// Never DASH_APP_NAME: it silently moves the request prefix.
			return map[string]string{
				"PYTHONUNBUFFERED":       "1",
				"RUNTIME_DASH_ENTRY":     c.EntryPath(),
				"RUNTIME_APP_ROOT":       AppDir,
				"DASH_URL_BASE_PATHNAME": base,
			}
		},
		HealthPath:       fixed("/_agent/health"),
		Healthy:          healthy200,
		Requirements:     []string{"gunicorn"},
		StartPeriod:      30 * time.Second,
		ProbeInterval:    time.Second,
		FailureThreshold: 5,
		StopTimeout:      10,
		PrefixRouting:    true,
	},
	// airflow standalone in one container: the small-team profile
	// (runtimes.md §1.3). The path is the DAGs folder.
	api.AppAirflow: {
		Type:    api.AppAirflow,
		Port:    8080,
		Entry:   EntryDir,
		Command: func(Context) []string { return []string{"airflow", "standalone"} },
		Env: func(c Context) map[string]string {
			return map[string]string{
				"PYTHONUNBUFFERED":                        "1",
				"AIRFLOW_HOME":                            "/opt/airflow",
				"AIRFLOW__CORE__DAGS_FOLDER":              c.EntryPath(),
				"AIRFLOW__CORE__LOAD_EXAMPLES":            "False",
				"AIRFLOW__CORE__FERNET_KEY":               c.Generated["fernet_key"],
				"AIRFLOW__API__SECRET_KEY":                c.Generated["secret_key"],
				"AIRFLOW__API_AUTH__JWT_SECRET":           c.Generated["jwt_secret"],
				"AIRFLOW__WEBSERVER__SECRET_KEY":          c.Generated["secret_key"],
				"AIRFLOW__API__BASE_URL":                  c.URL,
				"AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://localhost:8080" + strings.TrimSuffix(c.BasePath, "/") + "/execution/",
				"PYTHONPATH":                              AppDir,
			}
		},
		HealthPath:       fixed("/api/v2/monitor/health"),
		Healthy:          airflowHealthy,
		Stateful:         true,
		DataDir:          "/opt/airflow",
		User:             50000,
		Generated:        []string{"fernet_key", "secret_key", "jwt_secret", "admin_password"},
		StartPeriod:      3 * time.Minute,
		ProbeInterval:    2 * time.Second,
		FailureThreshold: 5,
		StopTimeout:      60,
		PrefixRouting:    true,
	},
	// The pinned Open WebUI image; the repository carries its tools and
	// functions, synced through the admin API (runtimes.md §1.4).
	api.AppOpenWebUI: {
		Type:  api.AppOpenWebUI,
		Port:  8080,
		Entry: EntryDir,
		Env: func(c Context) map[string]string {
			return map[string]string{
				"PORT":             "8080",
				"WEBUI_SECRET_KEY": c.Generated["webui_secret_key"],
				"WEBUI_URL":        c.URL,
				"DATA_DIR":         "/app/backend/data",
				// Plugins' front-matter requirements belong in the image, not
				// in a pip install at load time.
				"ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS": "False",
			}
		},
		HealthPath:       fixed("/health"),
		Healthy:          healthy200,
		Stateful:         true,
		DataDir:          "/app/backend/data",
		Generated:        []string{"webui_secret_key", "admin_password"},
		StartPeriod:      3 * time.Minute,
		ProbeInterval:    2 * time.Second,
		FailureThreshold: 5,
		StopTimeout:      30,
		OwnImage:         true,
	},
	// Any other web app: the path names a Dockerfile, built and run. Its
	// EXPOSE sets the port, LABEL io.runtimeops.health-path the probe.
	api.AppWeb: {
		Type:             api.AppWeb,
		Port:             8000,
		Entry:            EntryFile,
		Env:              func(Context) map[string]string { return map[string]string{} },
		HealthPath:       fixed("/"),
		Healthy:          below500,
		StartPeriod:      60 * time.Second,
		ProbeInterval:    time.Second,
		FailureThreshold: 5,
		StopTimeout:      10,
		PrefixRouting:    false,
		BuildsImage:      true,
	},
}

// Lookup returns the template of an app type.
func Lookup(appType string) (*Template, error) {
	if t, ok := templates[appType]; ok {
		return t, nil
	}
	return nil, api.ValidateAppType(appType)
}

// Types lists the app types with a template, sorted.
func Types() []string {
	out := make([]string, 0, len(templates))
	for k := range templates {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// HealthURL is the probe URL for a container at ip.
func (t *Template) HealthURL(ip string, port int, c Context) string {
	return "http://" + ip + ":" + strconv.Itoa(port) + t.HealthPath(c)
}

// CheckEntry says what is wrong with the project's path for this type, or "".
func (t *Template) CheckEntry(isFile, isDir bool, p string) string {
	switch {
	case t.Entry == EntryFile && !isFile && isDir:
		return fmt.Sprintf("path %q is a directory; %s needs the app's file", p, t.Type)
	case t.Entry == EntryFile && !isFile:
		return fmt.Sprintf("entrypoint %q not found", p)
	case t.Entry == EntryDir && !isDir && isFile:
		return fmt.Sprintf("path %q is a file; %s needs a directory (%s)", p, t.Type, map[string]string{api.AppAirflow: "the DAGs folder", api.AppOpenWebUI: "the folder holding tools/ and functions/"}[t.Type])
	case t.Entry == EntryDir && !isDir:
		return fmt.Sprintf("directory %q not found", p)
	}
	return ""
}
