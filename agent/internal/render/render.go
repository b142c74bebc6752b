// Package render turns a project's variables, secrets and connections into
// what its app reads: environment variables for every app type, plus the
// conventions of each framework (Airflow's AIRFLOW_CONN_* JSON and
// AIRFLOW_VAR_*, Streamlit's secrets.toml [connections.<name>] tables).
// Facts: shared/reference/runtimes.md §1.3 and §3.6.
package render

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// Conn is a connection with its password in clear, inside the agent only.
type Conn struct {
	Name     string
	Type     string
	Host     string
	Port     int64
	Login    string
	Password string
	Schema   string
	Extra    map[string]string
}

// connType holds what differs per connection type: the URL scheme, the
// Airflow conn_type, and the SQLAlchemy dialect Streamlit's SQL connection
// wants. Adding a type is adding an entry.
type connType struct {
	scheme, airflow, dialect string
}

var connTypes = map[string]connType{
	api.ConnPostgres:  {scheme: "postgresql", airflow: "postgres", dialect: "postgresql"},
	api.ConnMySQL:     {scheme: "mysql", airflow: "mysql", dialect: "mysql"},
	api.ConnMSSQL:     {scheme: "mssql", airflow: "mssql", dialect: "mssql"},
	api.ConnSnowflake: {scheme: "snowflake", airflow: "snowflake", dialect: "snowflake"},
	api.ConnHTTP:      {scheme: "https", airflow: "http"},
	api.ConnS3:        {scheme: "s3", airflow: "aws"},
	api.ConnGeneric:   {scheme: "generic", airflow: "generic"},
}

// Escape percent-encodes every byte outside RFC 3986's unreserved set.
// Neither url.QueryEscape (space as "+") nor url.PathEscape (leaves "@",
// ":", "+", "&") is safe for credentials that Airflow and SQLAlchemy decode
// with a plain unquote.
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// URL renders a connection as one URL:
// scheme://login:password@host:port/schema?extra, every part escaped. For
// http connections the schema field, when it is "http" or "https", is the
// scheme (Airflow's convention) rather than a path.
func URL(c Conn) string {
	t := connTypes[c.Type]
	scheme, schema := t.scheme, c.Schema
	if c.Type == api.ConnHTTP && (schema == "http" || schema == "https") {
		scheme, schema = schema, ""
	}
	var b strings.Builder
	b.WriteString(scheme + "://")
	if c.Login != "" || c.Password != "" {
		b.WriteString(Escape(c.Login))
		if c.Password != "" {
			b.WriteString(":" + Escape(c.Password))
		}
		b.WriteString("@")
	}
	b.WriteString(Escape(c.Host))
	if c.Port != 0 {
		b.WriteString(":" + strconv.FormatInt(c.Port, 10))
	}
	if schema != "" {
		b.WriteString("/" + Escape(schema))
	}
	if len(c.Extra) > 0 {
		b.WriteString("?")
		for i, k := range slices.Sorted(maps.Keys(c.Extra)) {
			if i > 0 {
				b.WriteString("&")
			}
			b.WriteString(Escape(k) + "=" + Escape(c.Extra[k]))
		}
	}
	return b.String()
}

// Env returns a connection's generic variables: <NAME>_URL, _HOST, _PORT,
// _LOGIN, _PASSWORD, _SCHEMA (empty parts are left out).
func Env(c Conn) map[string]string {
	n := strings.ToUpper(c.Name)
	out := map[string]string{n + "_URL": URL(c)}
	set := func(k, v string) {
		if v != "" {
			out[n+k] = v
		}
	}
	set("_HOST", c.Host)
	if c.Port != 0 {
		set("_PORT", strconv.FormatInt(c.Port, 10))
	}
	set("_LOGIN", c.Login)
	set("_PASSWORD", c.Password)
	set("_SCHEMA", c.Schema)
	return out
}

// AirflowJSON renders a connection in Airflow's JSON form (Airflow ≥ 2.3),
// which needs none of the URI form's escaping rules.
func AirflowJSON(c Conn) string {
	m := map[string]any{"conn_type": connTypes[c.Type].airflow}
	if c.Host != "" {
		m["host"] = c.Host
	}
	if c.Port != 0 {
		m["port"] = c.Port
	}
	if c.Login != "" {
		m["login"] = c.Login
	}
	if c.Password != "" {
		m["password"] = c.Password
	}
	if c.Schema != "" {
		m["schema"] = c.Schema
	}
	if len(c.Extra) > 0 {
		m["extra"] = c.Extra
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(m)
	return strings.TrimSpace(b.String())
}

// Input is everything a project's app gets.
type Input struct {
	AppType   string
	Variables map[string]string
	Secrets   map[string]string
	// FileSecrets are secrets the app reads from files (SecretFiles), never
	// from the environment.
	FileSecrets map[string]string
	Connections []Conn
}

// EnvVars renders the environment. Precedence, lowest first: derived
// variables (a connection's, a file secret's <KEY>_FILE), variables,
// secrets (a file secret removes its name) — so an explicit key always
// wins over a derived one. Agent-owned
// keys are added by the caller afterwards and cannot be set by users
// (api.ValidateEnvKey refuses them).
func EnvVars(in Input) map[string]string {
	out := map[string]string{}
	for k := range in.FileSecrets {
		out[k+"_FILE"] = api.SecretFile(k)
	}
	for _, c := range in.Connections {
		for k, v := range Env(c) {
			out[k] = v
		}
		if in.AppType == api.AppAirflow {
			out["AIRFLOW_CONN_"+strings.ToUpper(c.Name)] = AirflowJSON(c)
		}
	}
	for k, v := range in.Variables {
		out[k] = v
		if in.AppType == api.AppAirflow {
			out["AIRFLOW_VAR_"+strings.ToUpper(k)] = v
		}
	}
	for k, v := range in.Secrets {
		out[k] = v
		if in.AppType == api.AppAirflow {
			out["AIRFLOW_VAR_"+strings.ToUpper(k)] = v
		}
	}
	// A file secret wins over a variable of its name too: the name is the
	// secret's, and its value is in the file.
	for k := range in.FileSecrets {
		delete(out, k)
		if in.AppType == api.AppAirflow {
			delete(out, "AIRFLOW_VAR_"+strings.ToUpper(k))
		}
	}
	return out
}

// EnvSize is how many bytes env takes in a process's environment.
func EnvSize(env map[string]string) int {
	n := 0
	for k, v := range env {
		n += len(k) + 1 + len(v) + 1
	}
	return n
}

// StreamlitSecrets renders ~/.streamlit/secrets.toml: secrets (file
// secrets too: the toml is a file) as top-level keys and one
// [connections.<name>] table per connection, in the shape
// st.connection("<name>") reads for SQL connections (url, dialect, host,
// port, database, username, password). Nil when there is nothing to write.
func StreamlitSecrets(in Input) ([]byte, error) {
	if len(in.Secrets) == 0 && len(in.FileSecrets) == 0 && len(in.Connections) == 0 {
		return nil, nil
	}
	doc := map[string]any{}
	for k, v := range in.FileSecrets {
		doc[k] = v
	}
	for k, v := range in.Secrets {
		doc[k] = v
	}
	if len(in.Connections) > 0 {
		conns := map[string]any{}
		for _, c := range in.Connections {
			t := map[string]any{"url": URL(c)}
			if d := connTypes[c.Type].dialect; d != "" {
				t["dialect"] = d
			}
			if c.Host != "" {
				t["host"] = c.Host
			}
			if c.Port != 0 {
				t["port"] = c.Port
			}
			if c.Schema != "" {
				t["database"] = c.Schema
			}
			if c.Login != "" {
				t["username"] = c.Login
			}
			if c.Password != "" {
				t["password"] = c.Password
			}
			if len(c.Extra) > 0 {
				t["query"] = c.Extra
			}
			conns[c.Name] = t
		}
		doc["connections"] = conns
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
