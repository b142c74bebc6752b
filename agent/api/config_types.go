package api

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Per-project configuration: variables, secrets and connections. The agent
// hands them to the app as environment variables (and, per app type, in the
// form its framework reads). Secret values and connection passwords go in
// and never come out: reads return versions, not values.

// Variable is a plain configuration value.
type Variable struct {
	ProjectID string    `json:"project_id"`
	Key       string    `json:"key"`
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SetVariableRequest is the body of PUT .../variables/{key}.
type SetVariableRequest struct {
	Value string `json:"value"`
}

// Secret describes a secret without its value. Version increases each time
// the value actually changes, so a change made outside Terraform shows.
type Secret struct {
	ProjectID string `json:"project_id"`
	Key       string `json:"key"`
	Version   int64  `json:"version"`
	// File: the app reads the value from SecretFile(Key), named by
	// <KEY>_FILE, instead of from an environment variable.
	File      bool      `json:"file"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SetSecretRequest is the body of PUT .../secrets/{key}.
type SetSecretRequest struct {
	Value string `json:"value"`
	File  bool   `json:"file,omitempty"`
}

// SecretsDir is where file secrets are mounted in an app's container (read
// only; each file mode 0400, owned by the user the app runs as).
const SecretsDir = "/run/secrets"

// SecretFile is the path of a file secret inside the app's container.
func SecretFile(key string) string { return SecretsDir + "/" + key }

// MaxEnvEntry is the most bytes one KEY=value environment entry may take
// (Linux's MAX_ARG_STRLEN, terminating NUL included): a longer one makes
// the container fail to start with "argument list too long".
const MaxEnvEntry = 128 << 10

// MaxEnvTotal bounds all of a project's variables, secrets and connection
// variables together. The kernel allows about 2 MiB of arguments and
// environment in all (a quarter of the default 8 MiB stack); this leaves
// room for the agent's own settings and the app's command line.
const MaxEnvTotal = 1 << 20

// MaxSecretFile is the largest value of a file secret.
const MaxSecretFile = 1 << 20

// ValidateEnvValue checks that a value can be one environment variable:
// no NUL byte (the kernel ends a variable there; Docker refuses it) and
// small enough. what names it for the message ("variable", "secret"); a
// secret that cannot be an environment variable can be a file instead.
// The message never holds the value.
func ValidateEnvValue(what, key, value string) error {
	asFile := ""
	if what == "secret" {
		asFile = "set file = true so the app reads it from " + SecretFile(key) + " (its path is in " + key + "_FILE), or "
	}
	if strings.IndexByte(value, 0) >= 0 {
		return fmt.Errorf("%s %q: the value contains a NUL byte, which no environment variable can hold: %sremove it", what, key, asFile)
	}
	if len(key)+1+len(value)+1 > MaxEnvEntry {
		return fmt.Errorf("%s %q: the value is %d bytes; an environment variable of that name holds at most %d: %sshorten it",
			what, key, len(value), MaxEnvEntry-2-len(key), asFile)
	}
	return nil
}

// ValidateSecretValue checks a secret's value the way it reaches the app:
// as a file (ValidateSecretFile) or as an environment variable
// (ValidateEnvValue).
func ValidateSecretValue(key, value string, file bool) error {
	if file {
		return ValidateSecretFile(key, value)
	}
	return ValidateEnvValue("secret", key, value)
}

// ValidateSecretFile checks a file secret: the <KEY>_FILE variable it sets
// must not be a name the agent owns, and its value must fit.
func ValidateSecretFile(key, value string) error {
	if why, ok := reserved(key + "_FILE"); ok {
		return fmt.Errorf("secret %q: as a file it would set %s_FILE, which is reserved: %s; choose another key", key, key, why)
	}
	if len(value) > MaxSecretFile {
		return fmt.Errorf("secret %q: the value is %d bytes; a file secret holds at most %d (1 MiB)", key, len(value), MaxSecretFile)
	}
	return nil
}

// Connection types. ConnectionTypes lists them; adding one is adding an
// entry here and in the agent's renderer table.
const (
	ConnPostgres  = "postgres"
	ConnMySQL     = "mysql"
	ConnMSSQL     = "mssql"
	ConnSnowflake = "snowflake"
	ConnHTTP      = "http"
	ConnS3        = "s3"
	ConnGeneric   = "generic"
)

// ConnectionTypes is every connection type the API accepts.
var ConnectionTypes = []string{ConnPostgres, ConnMySQL, ConnMSSQL, ConnSnowflake, ConnHTTP, ConnS3, ConnGeneric}

// Connection describes a connection without its password.
type Connection struct {
	ProjectID       string            `json:"project_id"`
	Name            string            `json:"name"`
	Type            string            `json:"type"`
	Host            string            `json:"host,omitempty"`
	Port            int64             `json:"port,omitempty"`
	Login           string            `json:"login,omitempty"`
	Schema          string            `json:"schema,omitempty"`
	Extra           map[string]string `json:"extra,omitempty"`
	HasPassword     bool              `json:"has_password"`
	PasswordVersion int64             `json:"password_version"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

// SetConnectionRequest is the body of PUT .../connections/{name}. Password
// is written as given (empty clears it).
type SetConnectionRequest struct {
	Type     string            `json:"type"`
	Host     string            `json:"host,omitempty"`
	Port     int64             `json:"port,omitempty"`
	Login    string            `json:"login,omitempty"`
	Password string            `json:"password,omitempty"`
	Schema   string            `json:"schema,omitempty"`
	Extra    map[string]string `json:"extra,omitempty"`
}

// VariableList, SecretList and ConnectionList are list bodies.
type VariableList struct {
	Variables []Variable `json:"variables"`
}
type SecretList struct {
	Secrets []Secret `json:"secrets"`
}
type ConnectionList struct {
	Connections []Connection `json:"connections"`
}

var envKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedKeys are environment variables the agent sets for some app type;
// a user value would break the app or the agent's control of it. Exact names
// and prefixes (ending in "*").
var reservedKeys = []struct{ pattern, why string }{
	{"PORT", "the agent chooses the port the app listens on"},
	{"HOST", "the agent binds the app to the container's interface"},
	{"PYTHONUNBUFFERED", "the agent sets it so logs appear in real time"},
	{"HOME", "the agent mounts generated files under the home directory"},
	{"PATH", "the environment image defines it"},
	{"STREAMLIT_SERVER_*", "the agent owns Streamlit's server settings (port, address, base path)"},
	{"STREAMLIT_BROWSER_*", "the agent owns Streamlit's browser settings"},
	{"DASH_URL_BASE_PATHNAME", "the agent sets Dash's path prefix"},
	{"DASH_ROUTES_PATHNAME_PREFIX", "the agent sets Dash's path prefix"},
	{"DASH_REQUESTS_PATHNAME_PREFIX", "the agent sets Dash's path prefix"},
	{"DASH_APP_NAME", "it silently changes Dash's request prefix"},
	{"AIRFLOW__CORE__*", "the agent owns Airflow's core settings (DAGs folder, executor, fernet key)"},
	{"AIRFLOW__API__*", "the agent owns Airflow's API server settings (base URL, secret key)"},
	{"AIRFLOW__WEBSERVER__*", "the agent owns Airflow's webserver settings"},
	{"AIRFLOW__DATABASE__*", "the agent owns Airflow's metadata database"},
	{"WEBUI_SECRET_KEY", "the agent generates and keeps Open WebUI's secret key"},
	{"WEBUI_URL", "the agent sets Open WebUI's public URL"},
	{"DATA_DIR", "Open WebUI's data directory is the agent's persistent volume"},
	{"ENABLE_PIP_INSTALL_FRONTMATTER_REQUIREMENTS", "the agent disables installs at load time"},
}

// ValidateEnvKey checks a variable or secret key (field names the attribute
// for the message: "key" or "name").
func ValidateEnvKey(field, key string) error {
	if !envKeyRE.MatchString(key) {
		return fmt.Errorf("%s %q is not a valid environment variable name: use letters, digits and underscores, not starting with a digit (for example \"API_KEY\")", field, key)
	}
	if why, ok := reserved(key); ok {
		return fmt.Errorf("%s %q is reserved: %s; choose another name", field, key, why)
	}
	return nil
}

// reserved says why the agent owns an environment variable name. Names are
// case-sensitive, as the environment is: "path" is not "PATH".
func reserved(name string) (string, bool) {
	for _, r := range reservedKeys {
		if p, ok := strings.CutSuffix(r.pattern, "*"); ok && strings.HasPrefix(name, p) || name == r.pattern {
			return r.why, true
		}
	}
	return "", false
}

// ValidateConnectionName checks a connection name, and the environment
// variables the connection becomes (<NAME>_URL, _HOST, …, upper-cased).
func ValidateConnectionName(name string) error {
	if err := ValidateEnvKey("name", name); err != nil {
		return err
	}
	up := strings.ToUpper(name)
	for _, suffix := range []string{"_URL", "_HOST", "_PORT", "_LOGIN", "_PASSWORD", "_SCHEMA"} {
		if why, ok := reserved(up + suffix); ok {
			return fmt.Errorf("name %q would give the app the variable %s, which is reserved: %s; choose another name", name, up+suffix, why)
		}
	}
	return nil
}

// ValidateConnectionType checks a connection type.
func ValidateConnectionType(t string) error {
	for _, c := range ConnectionTypes {
		if c == t {
			return nil
		}
	}
	return fmt.Errorf("type %q is not a supported connection type: use one of %s", t, strings.Join(ConnectionTypes, ", "))
}

// Validate checks a connection request.
func (r *SetConnectionRequest) Validate() error {
	if err := ValidateConnectionType(r.Type); err != nil {
		return err
	}
	if r.Port < 0 || r.Port > 65535 {
		return fmt.Errorf("port %d is out of range: use 1-65535, or leave it unset", r.Port)
	}
	if strings.ContainsAny(r.Host, "/@ ") && r.Type != ConnHTTP {
		return fmt.Errorf("host %q must be a host name or address only (no scheme, user or path)", r.Host)
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" {
			return fmt.Errorf("extra has an empty key")
		}
		if strings.IndexByte(k, 0) >= 0 || strings.IndexByte(r.Extra[k], 0) >= 0 {
			return fmt.Errorf("extra %q contains a NUL byte, which no environment variable can hold: remove it", k)
		}
	}
	// Every part becomes an environment variable of the app.
	for field, v := range map[string]string{"host": r.Host, "login": r.Login, "password": r.Password, "schema": r.Schema} {
		if strings.IndexByte(v, 0) >= 0 {
			return fmt.Errorf("%s contains a NUL byte, which no environment variable can hold: remove it", field)
		}
	}
	return nil
}
