package api

import (
	"strings"
	"testing"
)

func TestSlugRulesAndDerivation(t *testing.T) {
	for _, ok := range []string{"sales", "a", "sales-2", strings.Repeat("a", 63)} {
		if err := ValidateSlug(ok); err != nil {
			t.Errorf("ValidateSlug(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Sales_Dashboard!", "-a", "a-", "a.b", strings.Repeat("a", 64), "UPPER"} {
		err := ValidateSlug(bad)
		if err == nil || !strings.Contains(err.Error(), "slug") {
			t.Errorf("ValidateSlug(%q) = %v", bad, err)
		}
	}
	for in, want := range map[string]string{
		"Sales dashboard":     "sales-dashboard",
		"Sales_Dashboard!":    "sales-dashboard",
		"  Ünïcode -- Report": "unicode-report",
		"2024 Q1":             "2024-q1",
	} {
		if got := Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestGitURLForms(t *testing.T) {
	cases := map[string]GitURLKind{
		"git@github.com:acme/sales.git":          GitSSH,
		"github.com:acme/sales.git":              GitSSH,
		"ssh://git@git.example.com:2222/a/b.git": GitSSH,
		"ssh://127.0.0.1/srv/r.git":              GitSSH,
		"https://github.com/acme/sales.git":      GitHTTPS,
		"file:///srv/repo":                       GitLocal,
		"/srv/repo":                              GitLocal,
	}
	for in, want := range cases {
		got, err := ParseGitURL(in)
		if err != nil || got != want {
			t.Errorf("ParseGitURL(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "not a url", "ftp://x/y", "https://user:pw@h/r.git", "ssh://h:99999/r", "git@:repo", "ssh://host/", "https://host"} {
		if _, err := ParseGitURL(bad); err == nil || !strings.Contains(err.Error(), "git_url") {
			t.Errorf("ParseGitURL(%q) = %v, want an error naming git_url", bad, err)
		}
	}
	if strings.Contains(RedactURL("https://u:secret@h/r"), "secret") {
		t.Error("RedactURL kept the password")
	}
}

func TestBranchAndPathRules(t *testing.T) {
	for _, ok := range []string{"main", "feature/x", "release-1.2", "v1"} {
		if err := ValidateBranch(ok); err != nil {
			t.Errorf("ValidateBranch(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a..b", "-x", "x/", "/x", "a b", "x.lock", "a~1", "a^", "a:b", "x.", "@", "a@{1}", ".hidden", "a//b"} {
		if err := ValidateBranch(bad); err == nil || !strings.Contains(err.Error(), "branch") {
			t.Errorf("ValidateBranch(%q) = %v", bad, err)
		}
	}
	for _, ok := range []string{"app.py", "src/app.py", "/src/app.py", "./src/app.py", "/", "dags"} {
		if err := ValidatePath(ok); err != nil {
			t.Errorf("ValidatePath(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "../x", "src/../../x", "a\\b"} {
		if err := ValidatePath(bad); err == nil || !strings.Contains(err.Error(), "path") {
			t.Errorf("ValidatePath(%q) = %v", bad, err)
		}
	}
	if CleanPath("/src/app.py") != "src/app.py" || CleanPath("./a/./b.py") != "a/b.py" {
		t.Error("CleanPath does not make paths repository-relative")
	}
}

func TestEnvKeysAndReservedNames(t *testing.T) {
	// The environment is case-sensitive: "port" and "path" are not the
	// agent's PORT and the image's PATH.
	for _, ok := range []string{"REGION", "api_key", "_X1", "port", "path"} {
		if err := ValidateEnvKey("key", ok); err != nil {
			t.Errorf("ValidateEnvKey(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1X", "A-B", "A B", "ä"} {
		if err := ValidateEnvKey("key", bad); err == nil || !strings.Contains(err.Error(), "not a valid") {
			t.Errorf("ValidateEnvKey(%q) = %v", bad, err)
		}
	}
	for _, reserved := range []string{"PORT", "PATH", "STREAMLIT_SERVER_PORT", "DASH_URL_BASE_PATHNAME", "AIRFLOW__CORE__FERNET_KEY", "WEBUI_SECRET_KEY"} {
		err := ValidateEnvKey("key", reserved)
		if err == nil || !strings.Contains(err.Error(), "reserved") || !strings.Contains(err.Error(), reserved) {
			t.Errorf("ValidateEnvKey(%q) = %v, want reserved", reserved, err)
		}
	}
	if err := ValidateConnectionName("warehouse"); err != nil {
		t.Error(err)
	}
	// A connection's variables are upper-cased: streamlit_server would set
	// STREAMLIT_SERVER_URL.
	if err := ValidateConnectionName("streamlit_server"); err == nil || !strings.Contains(err.Error(), `name "streamlit_server" would give the app the variable STREAMLIT_SERVER_URL, which is reserved`) {
		t.Errorf("ValidateConnectionName(streamlit_server) = %v", err)
	}
	if err := ValidateConnectionType("oracle"); err == nil || !strings.Contains(err.Error(), "postgres") {
		t.Errorf("unknown connection type = %v", err)
	}
}

func TestCreateRequestDefaults(t *testing.T) {
	r := CreateProjectRequest{Name: "Sales dashboard", AppType: "streamlit", Environment: "python-3.12", GitURL: "git@h:o/r.git", Path: "app.py"}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Slug != "sales-dashboard" || r.Branch != "main" {
		t.Fatalf("defaults: slug %q branch %q", r.Slug, r.Branch)
	}
	bad := CreateProjectRequest{Name: "x", AppType: "php", Environment: "python-3.12", GitURL: "git@h:o/r.git", Path: "app.py"}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "app_type") {
		t.Fatalf("bad app type = %v", err)
	}
}

// One KEY=value entry plus its NUL must fit Linux's MAX_ARG_STRLEN, or the
// container cannot start.
func TestValidateEnvValue(t *testing.T) {
	key := "BLOB"
	fits := MaxEnvEntry - len(key) - 2
	if err := ValidateEnvValue("variable", key, strings.Repeat("v", fits)); err != nil {
		t.Errorf("%d bytes: %v", fits, err)
	}
	err := ValidateEnvValue("secret", key, strings.Repeat("v", fits+1))
	if err == nil || !strings.Contains(err.Error(), `secret "BLOB"`) || !strings.Contains(err.Error(), "file = true") ||
		!strings.Contains(err.Error(), "/run/secrets/BLOB") {
		t.Errorf("%d bytes: %v", fits+1, err)
	}
	if err := ValidateEnvValue("variable", key, strings.Repeat("v", fits+1)); err == nil || strings.Contains(err.Error(), "file = true") {
		t.Errorf("a variable cannot be a file: %v", err)
	}
}

func TestValidateEnvValueRefusesNUL(t *testing.T) {
	err := ValidateEnvValue("secret", "K", "a\x00SECRETVALUE")
	if err == nil || !strings.Contains(err.Error(), "NUL byte") || !strings.Contains(err.Error(), "file = true") || strings.Contains(err.Error(), "SECRETVALUE") {
		t.Errorf("secret with NUL: %v", err)
	}
	c := SetConnectionRequest{Type: ConnPostgres, Host: "db", Extra: map[string]string{"sslmode": "re\x00quire"}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `extra "sslmode"`) {
		t.Errorf("connection extra with NUL: %v", err)
	}
}

func TestValidateSecretFileChecksItsVariable(t *testing.T) {
	if err := ValidateSecretFile("STREAMLIT_SERVER", "x"); err == nil || !strings.Contains(err.Error(), "STREAMLIT_SERVER_FILE, which is reserved") {
		t.Errorf("STREAMLIT_SERVER as a file: %v", err)
	}
	if err := ValidateSecretFile("TLS_CERT", "x"); err != nil {
		t.Errorf("TLS_CERT as a file: %v", err)
	}
}
