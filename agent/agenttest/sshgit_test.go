package agenttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runtimeops/terraform-provider-runtime/agent/internal/keys"
)

// sshGit runs the git CLI against the server with OpenSSH as a strict client:
// only keyFile is offered and only the server's known_hosts is trusted.
func sshGit(t *testing.T, g *GitServer, keyFile, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := gitCmd(dir, args...)
	cmd.Env = append(cmd.Env, "GIT_SSH_COMMAND=ssh -F /dev/null -i "+keyFile+
		" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="+g.KnownHostsFile)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestGitServer(t *testing.T) {
	t.Parallel()
	g := StartGitServer(t)
	if g.Port == 0 || g.Addr == "" {
		t.Fatalf("no port: %+v", g)
	}
	if len(g.KnownHostsLines) != 3 || !strings.Contains(g.KnownHostsLine, " ssh-ed25519 ") {
		t.Fatalf("known_hosts lines: %q / %q", g.KnownHostsLines, g.KnownHostsLine)
	}

	pair, err := keys.Generate("agenttest")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(keyFile, pair.PrivateOpenSSH, 0o600); err != nil {
		t.Fatal(err)
	}

	r := g.NewRepo(t, "app", map[string]string{"src/app.py": "print('v1')\n", "README.md": "hi\n"})
	if !strings.HasPrefix(r.URL, "ssh://") || !strings.HasSuffix(r.URL, r.Dir) {
		t.Fatalf("URL = %q", r.URL)
	}
	first := r.Head(t, "main")

	// Not authorized yet: the server refuses the key.
	if out, err := sshGit(t, g, keyFile, "", "ls-remote", r.URL); err == nil || !strings.Contains(out, "Permission denied") {
		t.Fatalf("ls-remote with an unregistered key: err=%v\n%s", err, out)
	}

	g.Authorize(pair.AuthorizedKey)
	clone := filepath.Join(t.TempDir(), "clone")
	if out, err := sshGit(t, g, keyFile, "", "clone", "-q", r.URL, clone); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(clone, "src/app.py")); err != nil || string(b) != "print('v1')\n" {
		t.Fatalf("cloned src/app.py = %q, %v", b, err)
	}

	// A new branch starts from main; prefixes make executables, symlinks and
	// deletions.
	dev := r.Commit(t, "dev", map[string]string{
		"exec:bin/run.sh":   "#!/bin/sh\n",
		"symlink:app.py":    "src/app.py",
		"-README.md":        "",
		"src/app.py":        "print('v2')\n",
		"data/nested/x.txt": "x",
	}, "dev work")
	if dev == first || r.Head(t, "dev") != dev || r.Head(t, "main") != first {
		t.Fatalf("heads: main %s dev %s (first %s)", r.Head(t, "main"), r.Head(t, "dev"), first)
	}
	out, err := sshGit(t, g, keyFile, r.Dir, "ls-tree", "-r", dev)
	if err != nil {
		t.Fatalf("ls-tree: %v\n%s", err, out)
	}
	for _, want := range []string{"100755 blob", "bin/run.sh", "120000 blob", "app.py", "data/nested/x.txt"} {
		if !strings.Contains(out, want) {
			t.Errorf("dev tree lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "README.md") {
		t.Errorf("README.md was not deleted:\n%s", out)
	}
	if out, err := sshGit(t, g, keyFile, "", "ls-remote", r.URL, "refs/heads/dev"); err != nil || !strings.HasPrefix(out, dev) {
		t.Fatalf("ls-remote dev: %v\n%s", err, out)
	}

	// Commits on main after a branch exist continue main.
	second := r.Commit(t, "main", map[string]string{"src/app.py": "print('v3')\n"}, "v3")
	if parent := runGit(t, r.Dir, "rev-parse", second+"^"); parent != first {
		t.Fatalf("main's new commit has parent %s, want %s", parent, first)
	}
	r.SetBranch(t, "main", first)
	if r.Head(t, "main") != first {
		t.Fatal("SetBranch did not move main")
	}

	g.Revoke(pair.AuthorizedKey)
	if out, err := sshGit(t, g, keyFile, "", "ls-remote", r.URL); err == nil {
		t.Fatalf("ls-remote after Revoke succeeded:\n%s", out)
	}
}

func TestStartGitServerTwice(t *testing.T) {
	t.Parallel()
	// Servers are independent (own port, own host keys).
	a, b := StartGitServer(t), StartGitServer(t)
	if a.Port == b.Port || a.KnownHostsLine[strings.Index(a.KnownHostsLine, " "):] == b.KnownHostsLine[strings.Index(b.KnownHostsLine, " "):] {
		t.Fatal("two servers share a port or a host key")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal(err)
	}
}
