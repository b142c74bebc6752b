package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrecedenceFlagsOverEnvOverFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "agent.hcl")
	os.WriteFile(file, []byte(`
listen      = "0.0.0.0:1"
apps_domain = "from-file.example"
data_dir    = "/from/file"
trust_on_first_use = true
environments = { "py" = "img:1" }
`), 0o600)
	env := map[string]string{"RUNTIME_AGENT_LISTEN": "0.0.0.0:2", "RUNTIME_AGENT_TOKEN": "tok"}
	c, err := Load([]string{"--config", file, "--apps-domain", "from-flag.example"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:2" || c.AppsDomain != "from-flag.example" || c.DataDir != "/from/file" || !c.TrustOnFirstUse || c.Token != "tok" {
		t.Fatalf("config = %+v", c)
	}
	if len(c.Environments) != 1 || c.Environments["py"] != "img:1" {
		t.Fatalf("environments = %v", c.Environments)
	}
	if c.KnownHosts != "/from/file/known_hosts" || c.KeyFile != "/from/file/secret.key" {
		t.Fatalf("derived paths = %q %q", c.KnownHosts, c.KeyFile)
	}
}

func TestTokenRequiredAndReadFromFile(t *testing.T) {
	if _, err := Load(nil, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "RUNTIME_AGENT_TOKEN") {
		t.Fatalf("missing token = %v", err)
	}
	tf := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tf, []byte("s3cret\n"), 0o600)
	c, err := Load([]string{"--token-file", tf}, func(string) string { return "" })
	if err != nil || c.Token != "s3cret" {
		t.Fatalf("token from file = %q, %v", c.Token, err)
	}
	if _, err := Load([]string{"--insecure-dev"}, func(string) string { return "" }); err != nil {
		t.Fatalf("insecure dev = %v", err)
	}
}

func TestBadConfigFileNamesTheProblem(t *testing.T) {
	file := filepath.Join(t.TempDir(), "agent.hcl")
	os.WriteFile(file, []byte("health_timeout = \"soon\"\n"), 0o600)
	_, err := Load([]string{"--config", file, "--insecure-dev"}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "health_timeout") {
		t.Fatalf("bad duration = %v", err)
	}
}
