package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// A secret too large for an environment variable is refused with the fix;
// as a file secret it reaches the app byte for byte under /run/secrets,
// mode 0400, named by <KEY>_FILE and absent from the environment. Turning
// file off moves it back into the environment and leaves no copy behind.
func TestFileSecretsReachTheAppAsFiles(t *testing.T) {
	gs := agenttest.StartGitServer(t)
	repo := gs.NewRepo(t, "files", map[string]string{"app.py": "# FILES\n"})
	a := agenttest.Start(t, agenttest.Options{KnownHostsFile: gs.KnownHostsFile})
	ctx := context.Background()
	p, err := a.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "files", AppType: "streamlit", Environment: "python-3.12", GitURL: repo.URL, Path: "app.py"})
	if err != nil {
		t.Fatal(err)
	}
	gs.Authorize(p.DeployPublicKey)

	// A 200 KiB service-account key, multi-line, with every awkward byte.
	big := "-----BEGIN PRIVATE KEY-----\n" + strings.Repeat(trickyValue+"\n", 200<<10/len(trickyValue)) + "-----END PRIVATE KEY-----\n"
	_, err = a.Client.SetSecret(ctx, p.Slug, "SA_KEY", api.SetSecretRequest{Value: big})
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.Code != api.CodeInvalid || !strings.Contains(err.Error(), `"SA_KEY"`) || !strings.Contains(err.Error(), "file = true") {
		t.Fatalf("a 200 KiB environment secret: want an invalid-input error naming SA_KEY and the fix, got %v", err)
	}
	s, err := a.Client.SetSecret(ctx, p.Slug, "SA_KEY", api.SetSecretRequest{Value: big, File: true})
	if err != nil || !s.File || s.Version != 1 {
		t.Fatalf("file secret: %+v %v", s, err)
	}
	if d := deploy(t, a, p.Slug, api.DeploymentSpec{State: api.StateRunning}); d.Status != api.StatusDeployed {
		t.Fatalf("deploy: %+v", d)
	}
	env := standinInfo(t, a, p.Slug)["env"].(map[string]any)
	if env["SA_KEY_FILE"] != "/run/secrets/SA_KEY" {
		t.Errorf("SA_KEY_FILE = %v", env["SA_KEY_FILE"])
	}
	if _, ok := env["SA_KEY"]; ok {
		t.Error("a file secret's value is in the environment")
	}
	if code, body := a.AppGet(t, p.Slug, "/_standin/file?path=/run/secrets/SA_KEY"); code != 200 || body != big {
		t.Fatalf("/run/secrets/SA_KEY: %d, %d bytes (want %d, byte for byte)", code, len(body), len(big))
	}
	if code, st := a.AppGet(t, p.Slug, "/_standin/file?stat=1&path=/run/secrets/SA_KEY"); code != 200 || !strings.HasPrefix(st, "0400 0 ") {
		t.Errorf("stat: %d %q, want mode 0400 owned by the app's user (root here)", code, st)
	}
	if code, toml := a.AppGet(t, p.Slug, "/_standin/file?path=/root/.streamlit/secrets.toml"); code != 200 || !strings.Contains(toml, "SA_KEY") {
		t.Errorf("secrets.toml: %d, SA_KEY missing", code)
	}
	hostCopies := filepath.Join(a.DataDir, "projects", "*", "run", "files-*")
	if m, _ := filepath.Glob(hostCopies); len(m) != 1 {
		t.Fatalf("host copies of the file secrets: %v, want one directory", m)
	}

	// Back into the environment (a short value now): no file, no old copy.
	s, err = a.Client.SetSecret(ctx, p.Slug, "SA_KEY", api.SetSecretRequest{Value: "short"})
	if err != nil || s.File || s.Version != 2 {
		t.Fatalf("environment secret: %+v %v", s, err)
	}
	waitFor(t, "the app to see SA_KEY in its environment", func() bool {
		code, body := a.AppGet(t, p.Slug, "/_standin/info")
		var info struct{ Env map[string]string }
		return code == 200 && json.Unmarshal([]byte(body), &info) == nil && info.Env["SA_KEY"] == "short"
	})
	if d, err := a.Client.GetDeployment(ctx, p.Slug, false); err != nil {
		t.Fatal(err)
	} else if d, err = a.Client.WaitDeployment(ctx, p.Slug, d.Generation); err != nil || d.Status != api.StatusDeployed {
		t.Fatalf("after the change: %+v %v", d, err)
	}
	env = standinInfo(t, a, p.Slug)["env"].(map[string]any)
	if _, ok := env["SA_KEY_FILE"]; ok {
		t.Error("SA_KEY_FILE still set")
	}
	if code, _ := a.AppGet(t, p.Slug, "/_standin/file?path=/run/secrets/SA_KEY"); code != 404 {
		t.Errorf("/run/secrets/SA_KEY still there: %d", code)
	}
	if m, _ := filepath.Glob(hostCopies); len(m) != 0 {
		t.Errorf("the old file secrets stay on the host: %v", m)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// What no environment can hold is refused when it is written, with the fix
// and never the value: a NUL byte, and more than 1 MiB of environment in
// all. File secrets are exempt from both, up to their own limit.
func TestEnvironmentLimitsRefusedOnWrite(t *testing.T) {
	a := agenttest.Start(t, agenttest.Options{AllowLocalRepos: true})
	ctx := context.Background()
	p, err := a.Client.CreateProject(ctx, api.CreateProjectRequest{Name: "limits", AppType: "streamlit", Environment: "python-3.12", GitURL: "/nonexistent", Path: "app.py"})
	if err != nil {
		t.Fatal(err)
	}
	invalid := func(err error, want ...string) {
		t.Helper()
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Code != api.CodeInvalid {
			t.Fatalf("want an invalid-input error, got %v", err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
		if strings.Contains(err.Error(), "VALUE-MARK") {
			t.Errorf("error %q holds the value", err)
		}
	}
	_, err = a.Client.SetSecret(ctx, p.Slug, "NULVAL", api.SetSecretRequest{Value: "a\x00b-VALUE-MARK"})
	invalid(err, `secret "NULVAL"`, "NUL byte", "file = true")
	_, err = a.Client.SetVariable(ctx, p.Slug, "NULVAR", "a\x00b-VALUE-MARK")
	invalid(err, `variable "NULVAR"`, "NUL byte")
	_, err = a.Client.SetConnection(ctx, p.Slug, "db", api.SetConnectionRequest{Type: "postgres", Host: "db", Password: "pw\x00VALUE-MARK"})
	invalid(err, "password contains a NUL byte")
	if _, err := a.Client.SetSecret(ctx, p.Slug, "NULFILE", api.SetSecretRequest{Value: "binary\x00VALUE-MARK", File: true}); err != nil {
		t.Errorf("a file secret may hold NUL: %v", err)
	}

	// 120 KiB each: eight fit in 1 MiB of environment, the ninth does not.
	chunk := strings.Repeat("x", 120<<10-20) + "VALUE-MARK"
	var last error
	n := 0
	for ; n < 12 && last == nil; n++ {
		_, last = a.Client.SetSecret(ctx, p.Slug, fmt.Sprintf("BIG_%02d", n), api.SetSecretRequest{Value: chunk})
	}
	invalid(last, "bytes of environment", "file = true")
	if n != 9 {
		t.Errorf("refused at the %dth 120 KiB secret, want the 9th", n)
	}
	// The refused write changed nothing; as a file it fits.
	if _, err := a.Client.GetSecret(ctx, p.Slug, fmt.Sprintf("BIG_%02d", n-1)); !api.IsNotFound(err) {
		t.Errorf("the refused secret exists: %v", err)
	}
	if _, err := a.Client.SetSecret(ctx, p.Slug, fmt.Sprintf("BIG_%02d", n-1), api.SetSecretRequest{Value: chunk, File: true}); err != nil {
		t.Errorf("as a file: %v", err)
	}
	// A connection's variables count too: a 140 KB password makes a
	// <NAME>_PASSWORD (and _URL) no variable can hold.
	_, err = a.Client.SetConnection(ctx, p.Slug, "wh", api.SetConnectionRequest{Type: "postgres", Host: "db", Password: strings.Repeat("p", 140_000) + "VALUE-MARK"})
	invalid(err, "the environment variable WH_", "more than one variable can hold")
	// A write that shrinks the environment always passes (a project over the
	// limit, from an older agent, can be brought back under).
	if err := a.Client.DeleteSecret(ctx, p.Slug, "BIG_00"); err != nil {
		t.Errorf("deleting: %v", err)
	}
	if _, err := a.Client.SetSecret(ctx, p.Slug, "BIG_01", api.SetSecretRequest{Value: "small now"}); err != nil {
		t.Errorf("shrinking: %v", err)
	}
	// A file secret's own limit, 1 MiB, said as such.
	_, err = a.Client.SetSecret(ctx, p.Slug, "HUGE", api.SetSecretRequest{Value: strings.Repeat("y", 1<<20+1), File: true})
	invalid(err, `secret "HUGE"`, "a file secret holds at most 1048576")
}
