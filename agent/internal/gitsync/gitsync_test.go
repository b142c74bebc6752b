package gitsync_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/runtimeops/terraform-provider-runtime/agent/agenttest"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/gitsync"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/keys"
)

// tLog sends hclog output to the test log.
type tLog struct{ t testing.TB }

func (w tLog) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func logger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: "gitsync", Level: hclog.Debug, Output: tLog{t}})
}

// env is one git server with an authorized deploy key and a repository.
type env struct {
	srv  *agenttest.GitServer
	key  *keys.Pair
	repo *agenttest.Repo
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := agenttest.StartGitServer(t)
	key, err := keys.Generate("runtime:test")
	if err != nil {
		t.Fatal(err)
	}
	srv.Authorize(key.AuthorizedKey)
	repo := srv.NewRepo(t, "app", map[string]string{
		"src/app.py":          "print('hello')\n",
		"requirements.txt":    "streamlit==1.40\n",
		"exec:bin/run.sh":     "#!/bin/sh\necho run\n",
		"data/deep/x.csv":     "a,b\n1,2\n",
		"symlink:app.py":      "src/app.py",
		"symlink:data/up":     "../src",
		"symlink:abs":         "/etc/passwd",
		"symlink:escape":      "../outside",
		"symlink:data/sneaky": "../data/../../etc",
		"symlink:via":         "data/up/../../..",
	})
	return &env{srv: srv, key: key, repo: repo}
}

// knownHosts writes a known_hosts file with the given lines.
func knownHosts(t *testing.T, lines ...string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "known_hosts")
	content := strings.Join(lines, "\n")
	if content != "" {
		content += "\n"
	}
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestSyncOverSSH(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Only the server's ed25519 key: the client must restrict the host key
	// algorithms to what known_hosts holds, or verification fails.
	s := gitsync.New(gitsync.Config{KnownHostsFile: knownHosts(t, e.srv.KnownHostsLine)}, logger(t))
	dir := filepath.Join(t.TempDir(), "clones", "app")
	first := e.repo.Head(t, "main")

	head, err := s.Sync(ctx(t), dir, e.repo.URL, "main", e.key.PrivateOpenSSH)
	if err != nil {
		t.Fatalf("first Sync: %v\n%s", err, e.srv.Log())
	}
	if head != first {
		t.Fatalf("Sync head = %s, want %s", head, first)
	}
	assertNoTemp(t, filepath.Dir(dir))

	// The remote moves; RemoteHead sees it before any fetch, Sync fetches it.
	second := e.repo.Commit(t, "main", map[string]string{"src/app.py": "print('v2')\n", "-requirements.txt": ""}, "v2")
	rh, err := s.RemoteHead(ctx(t), e.repo.URL, "main", e.key.PrivateOpenSSH)
	if err != nil || rh != second {
		t.Fatalf("RemoteHead = %s, %v; want %s", rh, err, second)
	}
	head, err = s.Sync(ctx(t), dir, e.repo.URL, "main", e.key.PrivateOpenSSH)
	if err != nil || head != second {
		t.Fatalf("second Sync = %s, %v; want %s", head, err, second)
	}
	// Up to date is success too.
	if head, err = s.Sync(ctx(t), dir, e.repo.URL, "main", e.key.PrivateOpenSSH); err != nil || head != second {
		t.Fatalf("third Sync = %s, %v; want %s", head, err, second)
	}

	// Resolve: abbreviated and full SHAs; never names.
	for _, rev := range []string{first[:7], first[:12], strings.ToUpper(first[:9]), first} {
		if got, err := s.Resolve(dir, rev); err != nil || got != first {
			t.Errorf("Resolve(%q) = %s, %v; want %s", rev, got, err, first)
		}
	}
	if _, err := s.Resolve(dir, "main"); err == nil {
		t.Error("Resolve accepted a branch name")
	}
	if _, err := s.Resolve(dir, "0000000000000000000000000000000000000001"); !errors.Is(err, gitsync.ErrCommitNotFound) {
		t.Errorf("Resolve(unknown) = %v, want ErrCommitNotFound", err)
	}

	// HasFile and ReadFile at both commits.
	for _, c := range []struct {
		commit, path string
		want         bool
	}{
		{first, "src/app.py", true},
		{first, "/src/app.py", true},
		{first, "bin/run.sh", true},
		{first, "requirements.txt", true},
		{second, "requirements.txt", false},
		{first, "src", false},
		{first, "app.py", false}, // a symlink, not a regular file
		{first, "nope.py", false},
		{first, "src/app.py/x", false},
		{first[:8], "src/app.py", true},
	} {
		got, err := s.HasFile(dir, c.commit, c.path)
		if err != nil || got != c.want {
			t.Errorf("HasFile(%s, %q) = %v, %v; want %v", c.commit[:7], c.path, got, err, c.want)
		}
	}
	if _, err := s.HasFile(dir, first, "../etc/passwd"); err == nil {
		t.Error("HasFile accepted a path leaving the repository")
	}
	if b, err := s.ReadFile(dir, second, "src/app.py"); err != nil || string(b) != "print('v2')\n" {
		t.Errorf("ReadFile(second) = %q, %v", b, err)
	}
	if b, err := s.ReadFile(dir, first, "/requirements.txt"); err != nil || string(b) != "streamlit==1.40\n" {
		t.Errorf("ReadFile(first, requirements.txt) = %q, %v", b, err)
	}
	if _, err := s.ReadFile(dir, second, "requirements.txt"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(missing) = %v, want os.ErrNotExist", err)
	}

	// A force-push back to the first commit: the forced refspec follows it.
	e.repo.SetBranch(t, "main", first)
	if head, err = s.Sync(ctx(t), dir, e.repo.URL, "main", e.key.PrivateOpenSSH); err != nil || head != first {
		t.Fatalf("Sync after force-push = %s, %v; want %s", head, err, first)
	}
	// The commit the force-push dropped stays resolvable (pinned releases).
	if got, err := s.Resolve(dir, second[:10]); err != nil || got != second {
		t.Fatalf("Resolve(dropped commit) = %s, %v", got, err)
	}

	// Another branch into another directory.
	dev := e.repo.Commit(t, "dev", map[string]string{"dev.txt": "dev\n"}, "dev")
	devDir := filepath.Join(t.TempDir(), "dev")
	if head, err = s.Sync(ctx(t), devDir, e.repo.URL, "dev", e.key.PrivateOpenSSH); err != nil || head != dev {
		t.Fatalf("Sync dev = %s, %v; want %s", head, err, dev)
	}
	if ok, _ := s.HasFile(devDir, dev, "dev.txt"); !ok {
		t.Error("dev.txt missing on dev")
	}
	// Single-branch: main's dropped commit was never fetched into the dev clone.
	if _, err := s.Resolve(devDir, second); !errors.Is(err, gitsync.ErrCommitNotFound) {
		t.Errorf("dev clone has main-only commit: %v", err)
	}
}

// TestExport is not parallel: it changes the process umask.
func TestExport(t *testing.T) {
	e := newEnv(t)
	s := gitsync.New(gitsync.Config{KnownHostsFile: e.srv.KnownHostsFile}, logger(t))
	dir := filepath.Join(t.TempDir(), "clone")
	head, err := s.Sync(ctx(t), dir, e.repo.URL, "main", e.key.PrivateOpenSSH)
	if err != nil {
		t.Fatal(err)
	}

	// A restrictive umask must not make releases unreadable for containers.
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	releases := filepath.Join(t.TempDir(), "releases")
	dest := filepath.Join(releases, head)
	if err := s.Export(dir, head[:7], dest); err != nil {
		t.Fatal(err)
	}
	syscall.Umask(old)

	wantFiles := map[string]struct {
		content string
		mode    os.FileMode
	}{
		"src/app.py":       {"print('hello')\n", 0o644},
		"requirements.txt": {"streamlit==1.40\n", 0o644},
		"bin/run.sh":       {"#!/bin/sh\necho run\n", 0o755},
		"data/deep/x.csv":  {"a,b\n1,2\n", 0o644},
	}
	for p, w := range wantFiles {
		fi, err := os.Lstat(filepath.Join(dest, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if fi.Mode() != w.mode {
			t.Errorf("%s mode = %v, want %v", p, fi.Mode(), w.mode)
		}
		if b, _ := os.ReadFile(filepath.Join(dest, p)); string(b) != w.content {
			t.Errorf("%s = %q, want %q", p, b, w.content)
		}
	}
	for _, d := range []string{".", "src", "bin", "data", "data/deep"} {
		fi, err := os.Stat(filepath.Join(dest, d))
		if err != nil || fi.Mode() != os.ModeDir|0o755 {
			t.Errorf("dir %s: %v, %v; want drwxr-xr-x", d, fi.Mode(), err)
		}
	}
	// Symlinks that stay inside are kept; the others are not created.
	for link, target := range map[string]string{"app.py": "src/app.py", "data/up": "../src"} {
		if got, err := os.Readlink(filepath.Join(dest, link)); err != nil || got != target {
			t.Errorf("symlink %s -> %q, %v; want %q", link, got, err, target)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dest, "app.py")); err != nil || string(b) != "print('hello')\n" {
		t.Errorf("app.py through the symlink = %q, %v", b, err)
	}
	for _, link := range []string{"abs", "escape", "data/sneaky", "via"} {
		if _, err := os.Lstat(filepath.Join(dest, link)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("unsafe symlink %s was created (%v)", link, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, ".git")); err == nil {
		t.Error("release contains .git")
	}
	assertNoTemp(t, releases)

	// Releases are immutable: a second Export leaves dest untouched.
	marker := filepath.Join(dest, "marker")
	if err := os.WriteFile(marker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Export(dir, head, dest); err != nil {
		t.Fatalf("second Export: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatal("second Export replaced the release directory")
	}
	assertNoTemp(t, releases)

	if err := s.Export(dir, "0000000000000000000000000000000000000001", filepath.Join(releases, "x")); !errors.Is(err, gitsync.ErrCommitNotFound) {
		t.Fatalf("Export(unknown commit) = %v", err)
	}
	assertNoTemp(t, releases)
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary directory left behind: %s", filepath.Join(dir, e.Name()))
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	url := e.repo.URL
	key := e.key.PrivateOpenSSH
	port := fmt.Sprint(e.srv.Port)

	t.Run("unauthorized key", func(t *testing.T) {
		other, err := keys.Generate("other")
		if err != nil {
			t.Fatal(err)
		}
		s := gitsync.New(gitsync.Config{KnownHostsFile: e.srv.KnownHostsFile}, logger(t))
		dir := filepath.Join(t.TempDir(), "c")
		_, err = s.Sync(ctx(t), dir, url, "main", other.PrivateOpenSSH)
		if !errors.Is(err, gitsync.ErrAuth) {
			t.Fatalf("Sync with unregistered key = %v, want ErrAuth", err)
		}
		var ae *gitsync.AuthError
		if !errors.As(err, &ae) || ae.Fingerprint != other.FingerprintSHA256 || ae.User != e.srv.User {
			t.Fatalf("AuthError = %+v", ae)
		}
		msg := err.Error()
		for _, want := range []string{"deploy key", "register", other.FingerprintSHA256, e.srv.Addr} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q: %s", want, msg)
			}
		}
		assertNoSecret(t, err, other.PrivateOpenSSH)
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("failed clone left %s behind", dir)
		}
		assertNoTemp(t, filepath.Dir(dir))
		if _, err := s.RemoteHead(ctx(t), url, "main", other.PrivateOpenSSH); !errors.Is(err, gitsync.ErrAuth) {
			t.Errorf("RemoteHead with unregistered key = %v, want ErrAuth", err)
		}
	})

	t.Run("revoked key", func(t *testing.T) {
		k, err := keys.Generate("revoked")
		if err != nil {
			t.Fatal(err)
		}
		e.srv.Authorize(k.AuthorizedKey)
		s := gitsync.New(gitsync.Config{KnownHostsFile: e.srv.KnownHostsFile}, logger(t))
		dir := filepath.Join(t.TempDir(), "c")
		if _, err := s.Sync(ctx(t), dir, url, "main", k.PrivateOpenSSH); err != nil {
			t.Fatal(err)
		}
		e.srv.Revoke(k.AuthorizedKey)
		if _, err := s.Sync(ctx(t), dir, url, "main", k.PrivateOpenSSH); !errors.Is(err, gitsync.ErrAuth) {
			t.Fatalf("fetch with revoked key = %v, want ErrAuth", err)
		}
	})

	t.Run("unknown host", func(t *testing.T) {
		kh := filepath.Join(t.TempDir(), "sub", "known_hosts") // does not exist yet
		s := gitsync.New(gitsync.Config{KnownHostsFile: kh}, logger(t))
		_, err := s.Sync(ctx(t), filepath.Join(t.TempDir(), "c"), url, "main", key)
		if !errors.Is(err, gitsync.ErrHostKeyUnknown) {
			t.Fatalf("Sync with empty known_hosts = %v, want ErrHostKeyUnknown", err)
		}
		want := fmt.Sprintf("host key of 127.0.0.1:%s is not in known_hosts %s: add it (ssh-keyscan -p %s 127.0.0.1 >> %s) or enable trust_on_first_use", port, kh, port, kh)
		if err.Error() != want {
			t.Errorf("message:\n got %s\nwant %s", err, want)
		}
		if b, err := os.ReadFile(kh); err != nil || len(b) != 0 {
			t.Errorf("known_hosts should have been created empty: %q, %v", b, err)
		}
		if _, err := s.RemoteHead(ctx(t), url, "main", key); !errors.Is(err, gitsync.ErrHostKeyUnknown) {
			t.Errorf("RemoteHead = %v, want ErrHostKeyUnknown", err)
		}
		// Another host's entry does not help.
		kh2 := knownHosts(t, strings.Replace(e.srv.KnownHostsLine, "]:"+port, "]:1", 1))
		s = gitsync.New(gitsync.Config{KnownHostsFile: kh2}, logger(t))
		if _, err := s.RemoteHead(ctx(t), url, "main", key); !errors.Is(err, gitsync.ErrHostKeyUnknown) {
			t.Errorf("RemoteHead with another port's key = %v, want ErrHostKeyUnknown", err)
		}
	})

	t.Run("trust on first use", func(t *testing.T) {
		// A hand-edited file without a final newline: the entry still
		// goes on its own line.
		kh := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(kh, []byte("# managed by the agent"), 0o644); err != nil {
			t.Fatal(err)
		}
		s := gitsync.New(gitsync.Config{KnownHostsFile: kh, TrustOnFirstUse: true}, logger(t))
		head, err := s.Sync(ctx(t), filepath.Join(t.TempDir(), "c"), url, "main", key)
		if err != nil || head != e.repo.Head(t, "main") {
			t.Fatalf("Sync with trust on first use = %s, %v", head, err)
		}
		b, _ := os.ReadFile(kh)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 2 || lines[0] != "# managed by the agent" {
			t.Fatalf("known_hosts after first use:\n%s", b)
		}
		if !contains(e.srv.KnownHostsLines, lines[1]) {
			t.Fatalf("recorded %q, not one of the server's keys %q", lines[1], e.srv.KnownHostsLines)
		}
		// From now on the host is known: strict mode accepts it, and a
		// second trusting connection adds nothing.
		strict := gitsync.New(gitsync.Config{KnownHostsFile: kh}, logger(t))
		if _, err := strict.RemoteHead(ctx(t), url, "main", key); err != nil {
			t.Fatalf("strict RemoteHead after first use: %v", err)
		}
		if _, err := s.RemoteHead(ctx(t), url, "main", key); err != nil {
			t.Fatal(err)
		}
		if b2, _ := os.ReadFile(kh); !bytes.Equal(b, b2) {
			t.Fatalf("known_hosts changed on second use:\n%s", b2)
		}
	})

	t.Run("host key mismatch", func(t *testing.T) {
		impostor, err := keys.Generate("")
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("[127.0.0.1]:%s %s", port, impostor.AuthorizedKey)
		kh := knownHosts(t, line)
		// Trust on first use never overrides a recorded key.
		for _, tofu := range []bool{false, true} {
			s := gitsync.New(gitsync.Config{KnownHostsFile: kh, TrustOnFirstUse: tofu}, logger(t))
			_, err := s.Sync(ctx(t), filepath.Join(t.TempDir(), "c"), url, "main", key)
			if !errors.Is(err, gitsync.ErrHostKeyMismatch) || errors.Is(err, gitsync.ErrHostKeyUnknown) {
				t.Fatalf("tofu=%v: Sync with wrong host key = %v, want ErrHostKeyMismatch", tofu, err)
			}
			if !strings.Contains(err.Error(), "does not match") || !strings.Contains(err.Error(), kh) {
				t.Errorf("message: %v", err)
			}
		}
		if b, _ := os.ReadFile(kh); string(b) != line+"\n" {
			t.Errorf("known_hosts was modified:\n%s", b)
		}
	})

	t.Run("branch not found", func(t *testing.T) {
		s := gitsync.New(gitsync.Config{KnownHostsFile: e.srv.KnownHostsFile}, logger(t))
		dir := filepath.Join(t.TempDir(), "c")
		_, err := s.Sync(ctx(t), dir, url, "release-9", key)
		if !errors.Is(err, gitsync.ErrBranchNotFound) || !strings.Contains(err.Error(), `"release-9"`) {
			t.Fatalf("clone of missing branch = %v, want ErrBranchNotFound naming it", err)
		}
		assertNoTemp(t, filepath.Dir(dir))
		if _, err := s.RemoteHead(ctx(t), url, "release-9", key); !errors.Is(err, gitsync.ErrBranchNotFound) {
			t.Fatalf("RemoteHead of missing branch = %v", err)
		}
		// Fetch of a missing branch into an existing clone.
		if _, err := s.Sync(ctx(t), dir, url, "main", key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sync(ctx(t), dir, url, "release-9", key); !errors.Is(err, gitsync.ErrBranchNotFound) {
			t.Fatalf("fetch of missing branch = %v, want ErrBranchNotFound", err)
		}
		if _, err := s.Sync(ctx(t), dir, url, "bad..name", key); err == nil {
			t.Fatal("invalid branch name accepted")
		}
	})

	t.Run("repository not found", func(t *testing.T) {
		s := gitsync.New(gitsync.Config{KnownHostsFile: e.srv.KnownHostsFile}, logger(t))
		missing := strings.Replace(url, "app.git", "nope.git", 1)
		if _, err := s.Sync(ctx(t), filepath.Join(t.TempDir(), "c"), missing, "main", key); !errors.Is(err, gitsync.ErrRepoNotFound) {
			t.Fatalf("Sync of missing repo = %v, want ErrRepoNotFound", err)
		}
		if _, err := s.RemoteHead(ctx(t), missing, "main", key); !errors.Is(err, gitsync.ErrRepoNotFound) {
			t.Fatalf("RemoteHead of missing repo = %v, want ErrRepoNotFound", err)
		}
		// An empty repository (created but never pushed to).
		emptyDir := filepath.Join(filepath.Dir(e.repo.Dir), "empty.git")
		if out, err := exec.Command("git", "init", "-q", "--bare", emptyDir).CombinedOutput(); err != nil {
			t.Fatalf("git init: %v\n%s", err, out)
		}
		empty := strings.Replace(url, "app.git", "empty.git", 1)
		_, err := s.Sync(ctx(t), filepath.Join(t.TempDir(), "c"), empty, "main", key)
		if !errors.Is(err, gitsync.ErrRepoNotFound) || !strings.Contains(err.Error(), "empty") {
			t.Fatalf("Sync of empty repo = %v, want ErrRepoNotFound saying empty", err)
		}
		if _, err := s.RemoteHead(ctx(t), empty, "main", key); !errors.Is(err, gitsync.ErrRepoNotFound) {
			t.Fatalf("RemoteHead of empty repo = %v, want ErrRepoNotFound", err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		s := gitsync.New(gitsync.Config{KnownHostsFile: e.srv.KnownHostsFile}, logger(t))
		if _, err := s.Sync(ctx(t), t.TempDir()+"/c", url, "main", nil); err == nil || !strings.Contains(err.Error(), "deploy key") {
			t.Errorf("Sync without key = %v", err)
		}
		garbage := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n")
		_, err := s.Sync(ctx(t), t.TempDir()+"/c", url, "main", garbage)
		if err == nil {
			t.Fatal("Sync with garbage key succeeded")
		}
		assertNoSecret(t, err, garbage)
		// A directory that is not a clone is not overwritten.
		notClone := t.TempDir()
		if err := os.WriteFile(filepath.Join(notClone, "precious"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sync(ctx(t), notClone, url, "main", key); err == nil {
			t.Fatal("Sync into a non-empty non-clone directory succeeded")
		}
		// An existing empty directory is fine.
		if _, err := s.Sync(ctx(t), t.TempDir(), url, "main", key); err != nil {
			t.Fatalf("Sync into an empty directory: %v", err)
		}
	})

	t.Run("local repositories", func(t *testing.T) {
		want := e.repo.Head(t, "main")
		for _, u := range []string{"file://" + e.repo.Dir, e.repo.Dir} {
			s := gitsync.New(gitsync.Config{KnownHostsFile: e.srv.KnownHostsFile}, logger(t))
			_, err := s.Sync(ctx(t), filepath.Join(t.TempDir(), "c"), u, "main", nil)
			if !errors.Is(err, gitsync.ErrLocalNotAllowed) || !strings.Contains(err.Error(), "allow_local_repos") {
				t.Fatalf("Sync(%s) without AllowLocal = %v, want ErrLocalNotAllowed", u, err)
			}
			if _, err := s.RemoteHead(ctx(t), u, "main", nil); !errors.Is(err, gitsync.ErrLocalNotAllowed) {
				t.Fatalf("RemoteHead(%s) without AllowLocal = %v", u, err)
			}

			s = gitsync.New(gitsync.Config{AllowLocal: true}, logger(t))
			dir := filepath.Join(t.TempDir(), "c")
			head, err := s.Sync(ctx(t), dir, u, "main", nil)
			if err != nil || head != want {
				t.Fatalf("Sync(%s) with AllowLocal = %s, %v; want %s", u, head, err, want)
			}
			next := e.repo.Commit(t, "main", map[string]string{"local.txt": u}, "local")
			if rh, err := s.RemoteHead(ctx(t), u, "main", nil); err != nil || rh != next {
				t.Fatalf("RemoteHead(%s) = %s, %v; want %s", u, rh, err, next)
			}
			if head, err = s.Sync(ctx(t), dir, u, "main", nil); err != nil || head != next {
				t.Fatalf("fetch (%s) = %s, %v; want %s", u, head, err, next)
			}
			want = next
			if _, err := s.Sync(ctx(t), filepath.Join(t.TempDir(), "c"), u+"-missing", "main", nil); !errors.Is(err, gitsync.ErrRepoNotFound) {
				t.Fatalf("Sync of missing local repo = %v, want ErrRepoNotFound", err)
			}
		}
		// A non-bare local repository (with a working tree) works too.
		work := t.TempDir()
		if out, err := exec.Command("git", "clone", "-q", e.repo.Dir, work).CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v\n%s", err, out)
		}
		s := gitsync.New(gitsync.Config{AllowLocal: true}, logger(t))
		if head, err := s.Sync(ctx(t), filepath.Join(t.TempDir(), "c"), work, "main", nil); err != nil || head != want {
			t.Fatalf("Sync of a working-tree repo = %s, %v; want %s", head, err, want)
		}
	})
}

// TestConcurrentSync clones several repositories at once with trust on first
// use on a fresh known_hosts: each host key is recorded once.
func TestConcurrentSync(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	s := gitsync.New(gitsync.Config{KnownHostsFile: kh, TrustOnFirstUse: true}, logger(t))
	repos := []*agenttest.Repo{e.repo}
	for i := 0; i < 3; i++ {
		repos = append(repos, e.srv.NewRepo(t, fmt.Sprintf("r%d", i), map[string]string{"n.txt": fmt.Sprint(i)}))
	}
	base := t.TempDir()
	var wg sync.WaitGroup
	errs := make([]error, len(repos))
	heads := make([]string, len(repos))
	for i, r := range repos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			heads[i], errs[i] = s.Sync(ctx(t), filepath.Join(base, r.Name), r.URL, "main", e.key.PrivateOpenSSH)
		}()
	}
	wg.Wait()
	for i, r := range repos {
		if errs[i] != nil || heads[i] != r.Head(t, "main") {
			t.Errorf("%s: %s, %v", r.Name, heads[i], errs[i])
		}
	}
	b, _ := os.ReadFile(kh)
	if n := strings.Count(string(b), "\n"); n != 1 {
		t.Errorf("known_hosts has %d entries after concurrent first use, want 1:\n%s", n, b)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// assertNoSecret checks that an error shows no private key material.
func assertNoSecret(t *testing.T, err error, private []byte) {
	t.Helper()
	msg := fmt.Sprintf("%v %+v", err, err)
	if strings.Contains(msg, "PRIVATE KEY") {
		t.Errorf("error shows private key material: %s", msg)
	}
	for _, line := range strings.Split(string(private), "\n") {
		if len(line) > 8 && !strings.HasPrefix(line, "-----") && strings.Contains(msg, line) {
			t.Errorf("error shows private key material: %s", msg)
		}
	}
}
