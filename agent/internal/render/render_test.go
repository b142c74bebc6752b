package render

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const tricky = "p@ss:w/rd%#? $HOME \"q\" ünï\nline2"

var warehouse = Conn{
	Name: "warehouse", Type: "postgres", Host: "db.internal", Port: 5432,
	Login: "an@lyst:x", Password: tricky, Schema: "sales/eu",
	Extra: map[string]string{"sslmode": "require", "options": "-c search_path=a&b"},
}

// The URL form must decode back to exactly the same parts with a plain
// percent-decoding (Airflow's unquote; Go's url.Parse), per runtimes.md §1.3.
func TestURLDecodesBackToTheSameParts(t *testing.T) {
	s := URL(warehouse)
	if strings.ContainsAny(strings.TrimPrefix(s, "postgresql://"), " \n\"#?") && !strings.Contains(s, "?sslmode") && !strings.Contains(s, "?options") {
		t.Fatalf("unescaped characters in %q", s)
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	if u.Scheme != "postgresql" || u.User.Username() != warehouse.Login || pw != tricky || u.Hostname() != "db.internal" || u.Port() != "5432" {
		t.Fatalf("decoded %q: user %q pw %q host %q port %q", s, u.User.Username(), pw, u.Hostname(), u.Port())
	}
	schema, err := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), "/"))
	if err != nil || schema != "sales/eu" {
		t.Fatalf("schema %q %v", schema, err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil || q.Get("sslmode") != "require" || q.Get("options") != "-c search_path=a&b" {
		t.Fatalf("extra %v %v", q, err)
	}
	// Space must be %20, never "+": Airflow's unquote keeps "+" literally.
	if strings.Contains(s, "+") {
		t.Fatalf("URL uses + for space: %q", s)
	}
}

func TestAirflowJSONKeepsEveryPart(t *testing.T) {
	var got map[string]any
	if err := json.Unmarshal([]byte(AirflowJSON(warehouse)), &got); err != nil {
		t.Fatal(err)
	}
	if got["conn_type"] != "postgres" || got["password"] != tricky || got["login"] != warehouse.Login ||
		got["port"] != float64(5432) || got["schema"] != "sales/eu" || got["host"] != "db.internal" {
		t.Fatalf("airflow json = %v", got)
	}
	extra := got["extra"].(map[string]any)
	if extra["sslmode"] != "require" {
		t.Fatalf("extra = %v", extra)
	}
	s3 := AirflowJSON(Conn{Name: "lake", Type: "s3", Login: "AKIA", Password: "x"})
	if !strings.Contains(s3, `"conn_type":"aws"`) {
		t.Fatalf("s3 conn_type: %s", s3)
	}
}

func TestEnvVarsPerAppTypeAndPrecedence(t *testing.T) {
	in := Input{
		AppType:     "airflow",
		Variables:   map[string]string{"REGION": "eu", "WAREHOUSE_HOST": "override"},
		Secrets:     map[string]string{"API_KEY": tricky},
		Connections: []Conn{warehouse},
	}
	env := EnvVars(in)
	want := map[string]string{
		"REGION": "eu", "AIRFLOW_VAR_REGION": "eu", "API_KEY": tricky, "AIRFLOW_VAR_API_KEY": tricky,
		"WAREHOUSE_HOST": "override", "WAREHOUSE_PORT": "5432", "WAREHOUSE_PASSWORD": tricky,
		"WAREHOUSE_LOGIN": warehouse.Login, "WAREHOUSE_SCHEMA": "sales/eu", "WAREHOUSE_URL": URL(warehouse),
		"AIRFLOW_CONN_WAREHOUSE": AirflowJSON(warehouse),
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	in.AppType = "streamlit"
	env = EnvVars(in)
	if _, ok := env["AIRFLOW_CONN_WAREHOUSE"]; ok {
		t.Error("streamlit app got Airflow variables")
	}
}

func TestStreamlitSecretsTOML(t *testing.T) {
	b, err := StreamlitSecrets(Input{Secrets: map[string]string{"API_KEY": tricky}, Connections: []Conn{warehouse}})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		APIKey      string `toml:"API_KEY"`
		Connections map[string]struct {
			URL      string `toml:"url"`
			Dialect  string `toml:"dialect"`
			Host     string `toml:"host"`
			Port     int64  `toml:"port"`
			Database string `toml:"database"`
			Username string `toml:"username"`
			Password string `toml:"password"`
		} `toml:"connections"`
	}
	if _, err := toml.Decode(string(b), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	w := doc.Connections["warehouse"]
	if doc.APIKey != tricky || w.Password != tricky || w.Dialect != "postgresql" || w.Port != 5432 || w.Database != "sales/eu" || w.URL != URL(warehouse) {
		t.Fatalf("decoded %+v\n%s", doc, b)
	}
	if b, _ := StreamlitSecrets(Input{}); b != nil {
		t.Fatal("empty input wrote a file")
	}
}

func TestEscapeLeavesOnlyUnreserved(t *testing.T) {
	if got := Escape("a b+c/@:?#%ü~._-"); got != "a%20b%2Bc%2F%40%3A%3F%23%25%C3%BC~._-" {
		t.Fatalf("Escape = %q", got)
	}
}

// A file secret reaches the environment only as the path of its file, and
// an explicit variable of that name still wins; Streamlit's secrets.toml
// (a file too) holds it beside the others.
func TestFileSecretsStayOutOfTheEnvironment(t *testing.T) {
	cert := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	in := Input{
		AppType:     "airflow",
		Secrets:     map[string]string{"API_KEY": "k"},
		FileSecrets: map[string]string{"TLS_CERT": cert, "SA_JSON": `{"type":"service_account"}`},
		Variables:   map[string]string{"SA_JSON_FILE": "/somewhere/else.json", "TLS_CERT": "a variable of the same name"},
	}
	env := EnvVars(in)
	if got := env["TLS_CERT_FILE"]; got != "/run/secrets/TLS_CERT" {
		t.Errorf("TLS_CERT_FILE = %q", got)
	}
	if got := env["SA_JSON_FILE"]; got != "/somewhere/else.json" {
		t.Errorf("explicit SA_JSON_FILE = %q, want the variable's value", got)
	}
	for k, v := range env {
		if strings.Contains(v, "BEGIN CERTIFICATE") || strings.Contains(v, "service_account") {
			t.Errorf("%s carries a file secret's value", k)
		}
	}
	for _, k := range []string{"TLS_CERT", "AIRFLOW_VAR_TLS_CERT"} { // the secret's name, even against a variable
		if _, ok := env[k]; ok {
			t.Errorf("%s is set", k)
		}
	}
	if got, want := EnvSize(map[string]string{"A": "bc", "DE": ""}), len("A=bc\x00DE=\x00"); got != want {
		t.Errorf("EnvSize = %d, want %d", got, want)
	}

	in.AppType = "streamlit"
	b, err := StreamlitSecrets(in)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if _, err := toml.Decode(string(b), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["TLS_CERT"] != cert || doc["API_KEY"] != "k" {
		t.Errorf("secrets.toml = %v", doc)
	}
}
