package agenttest

// A real OpenSSH server on loopback serving bare git repositories: the stand-in
// for GitHub/GitLab in tests of the agent's git code. It is a real sshd rather
// than an in-process Go SSH server so that the tests exercise the same key
// exchange, host-key types and auth failures the agent meets in production.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SSHDPath is where the OpenSSH server binary is expected (Debian's
// openssh-server package).
const SSHDPath = "/usr/sbin/sshd"

// GitServer is a running sshd on 127.0.0.1 that serves bare repositories
// created with NewRepo, for the user the tests run as.
type GitServer struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Addr is "127.0.0.1:<port>".
	Addr string
	// User is the login name in repository URLs (the current user).
	User string
	// KnownHostsFile is a known_hosts file that trusts this server with all
	// its host key types (ed25519, ecdsa, rsa); point the agent's config at it.
	KnownHostsFile string
	// KnownHostsLine is the server's ed25519 key as one known_hosts line
	// ("[127.0.0.1]:<port> ssh-ed25519 AAAA..."). A known_hosts holding only
	// this line is the case where clients must pick the host key algorithm
	// from known_hosts.
	KnownHostsLine string
	// KnownHostsLines holds one line per host key type.
	KnownHostsLines []string
	// Dir is the server's private temporary directory (config, host keys,
	// authorized_keys, repositories, log).
	Dir string
	// AuthorizedKeysFile is the server's authorized_keys, for tests that
	// register a deploy key from terraform (a local-exec) rather than Go.
	AuthorizedKeysFile string

	authorizedKeys string
	logFile        string
	mu             sync.Mutex // guards authorized_keys
}

// StartGitServer starts `sshd -D` with its own config, host keys and
// authorized_keys in a temporary directory, waits until it accepts
// connections and stops it when the test ends. It fails the test, never skips
// it, when sshd is missing: git-over-SSH is core behaviour of the agent.
func StartGitServer(t testing.TB) *GitServer {
	t.Helper()
	if _, err := os.Stat(SSHDPath); err != nil {
		t.Fatalf("agenttest: %s not found (%v): install it with `apt-get install openssh-server`", SSHDPath, err)
	}
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatalf("agenttest: ssh-keygen not found: install it with `apt-get install openssh-client`")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("agenttest: git not found: install it with `apt-get install git` (sshd runs git-upload-pack)")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("agenttest: current user: %v", err)
	}
	// sshd's privilege separation needs this directory; it is normally
	// created by the init system.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("agenttest: create /run/sshd (sshd needs it; run tests as root): %v", err)
	}

	dir := t.TempDir()
	g := &GitServer{
		User:               u.Username,
		Dir:                dir,
		authorizedKeys:     filepath.Join(dir, "authorized_keys"),
		AuthorizedKeysFile: filepath.Join(dir, "authorized_keys"),
		logFile:            filepath.Join(dir, "sshd.log"),
		KnownHostsFile:     filepath.Join(dir, "known_hosts"),
	}
	if err := os.WriteFile(g.authorizedKeys, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	// Own host keys, like `ssh-keygen -A` but into dir. RSA is kept short:
	// these keys only live for one test.
	type hostKey struct{ typ, bits string }
	var hostKeyFiles []string
	for _, k := range []hostKey{{"ed25519", ""}, {"ecdsa", "256"}, {"rsa", "2048"}} {
		f := filepath.Join(dir, "ssh_host_"+k.typ+"_key")
		args := []string{"-q", "-t", k.typ, "-N", "", "-C", "agenttest", "-f", f}
		if k.bits != "" {
			args = append(args, "-b", k.bits)
		}
		if out, err := exec.Command(keygen, args...).CombinedOutput(); err != nil {
			t.Fatalf("agenttest: ssh-keygen -t %s: %v\n%s", k.typ, err, out)
		}
		hostKeyFiles = append(hostKeyFiles, f)
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("agenttest: find a free port: %v", err)
		}
		if lastErr = g.start(t, port, hostKeyFiles); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("agenttest: start sshd: %v", lastErr)
	}

	// known_hosts for the agent: every host key type of this server.
	var lines []string
	for _, f := range hostKeyFiles {
		pub, err := os.ReadFile(f + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		fields := strings.Fields(string(pub))
		line := fmt.Sprintf("[127.0.0.1]:%d %s %s", g.Port, fields[0], fields[1])
		lines = append(lines, line)
		if fields[0] == "ssh-ed25519" {
			g.KnownHostsLine = line
		}
	}
	g.KnownHostsLines = lines
	if err := os.WriteFile(g.KnownHostsFile, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return g
}

// start runs sshd on port and waits until it listens. It returns an error
// (rather than failing) so that a port taken in the meantime can be retried.
func (g *GitServer) start(t testing.TB, port int, hostKeyFiles []string) error {
	t.Helper()
	cfg := filepath.Join(g.Dir, "sshd_config")
	var b strings.Builder
	fmt.Fprintf(&b, "Port %d\nListenAddress 127.0.0.1\n", port)
	for _, f := range hostKeyFiles {
		fmt.Fprintf(&b, "HostKey %s\n", f)
	}
	fmt.Fprintf(&b, `PidFile %s
AuthorizedKeysFile %s
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
PrintMotd no
UseDNS no
MaxStartups 100
MaxSessions 100
LogLevel VERBOSE
`, filepath.Join(g.Dir, "sshd.pid"), g.authorizedKeys)
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return err
	}
	// Check the config first: a bad config makes `sshd -D` exit at once with a
	// message that is clearer than a connection timeout.
	if out, err := exec.Command(SSHDPath, "-t", "-f", cfg).CombinedOutput(); err != nil {
		return fmt.Errorf("sshd -t rejected the config: %v\n%s", err, out)
	}

	cmd := exec.Command(SSHDPath, "-D", "-f", cfg, "-E", g.logFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// Its own process group, so that stopping it also ends the per-connection
	// children sshd forks.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", SSHDPath, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("sshd exited: %v\n%s%s", err, stderr.String(), g.Log())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("sshd does not listen on %s after 10s:\n%s", addr, g.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}

	g.Port = port
	g.Addr = addr
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agenttest: sshd log (%s):\n%s", g.logFile, g.Log())
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	return nil
}

// Log returns what sshd has logged so far; useful when an auth test fails.
func (g *GitServer) Log() string {
	b, _ := os.ReadFile(g.logFile)
	return string(b)
}

// Authorize adds a public key (an authorized_keys line) to the server. This
// stands in for registering a project's deploy key with the git host; sshd
// reads the file on every login, so it takes effect at once.
func (g *GitServer) Authorize(authorizedKey string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f, err := os.OpenFile(g.authorizedKeys, os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		panic(fmt.Sprintf("agenttest: open authorized_keys: %v", err))
	}
	defer f.Close()
	if _, err := f.WriteString(strings.TrimSpace(authorizedKey) + "\n"); err != nil {
		panic(fmt.Sprintf("agenttest: write authorized_keys: %v", err))
	}
}

// Revoke removes a public key added with Authorize (matched by key type and
// key data; the comment does not matter).
func (g *GitServer) Revoke(authorizedKey string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	want := keyID(authorizedKey)
	b, err := os.ReadFile(g.authorizedKeys)
	if err != nil {
		panic(fmt.Sprintf("agenttest: read authorized_keys: %v", err))
	}
	var keep []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" || keyID(line) == want {
			continue
		}
		keep = append(keep, line)
	}
	out := strings.Join(keep, "\n")
	if out != "" {
		out += "\n"
	}
	if err := os.WriteFile(g.authorizedKeys, []byte(out), 0o600); err != nil {
		panic(fmt.Sprintf("agenttest: write authorized_keys: %v", err))
	}
}

func keyID(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return line
	}
	return f[0] + " " + f[1]
}

// Repo is a bare repository served by a GitServer, plus a private working
// clone used to make commits.
type Repo struct {
	Name string
	// Dir is the bare repository's absolute path (also usable as a local
	// path or file:// URL).
	Dir string
	// URL is ssh://<user>@127.0.0.1:<port><Dir>.
	URL string

	work string
	mu   sync.Mutex
}

// NewRepo creates the bare repository <name>.git with a first commit on
// "main" holding files (see Commit for the keys' syntax).
func (g *GitServer) NewRepo(t testing.TB, name string, files map[string]string) *Repo {
	t.Helper()
	root := filepath.Join(g.Dir, "repos")
	r := &Repo{
		Name: name,
		Dir:  filepath.Join(root, name+".git"),
		work: filepath.Join(g.Dir, "work", name),
	}
	r.URL = fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", g.User, g.Port, r.Dir)
	if _, err := os.Stat(r.Dir); err == nil {
		t.Fatalf("agenttest: repository %q already exists", name)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	runGit(t, "", "init", "-q", "--bare", "-b", "main", r.Dir)
	if err := os.MkdirAll(r.work, 0o755); err != nil {
		t.Fatal(err)
	}
	runGit(t, r.work, "init", "-q", "-b", "main")
	runGit(t, r.work, "remote", "add", "origin", r.Dir)
	r.Commit(t, "main", files, "initial commit")
	return r
}

// Commit changes files on branch and pushes the commit into the bare
// repository, returning the new head. A new branch starts from main.
//
// Keys of files are paths relative to the repository root, with prefixes:
//
//	"path"          write content as a regular file (0644)
//	"exec:path"     write content as an executable file (0755)
//	"symlink:path"  make path a symlink whose target is content
//	"-path"         delete path (content is ignored)
//
// An empty files map makes an empty commit.
func (r *Repo) Commit(t testing.TB, branch string, files map[string]string, msg string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()

	switch {
	case gitOK(r.Dir, "rev-parse", "--verify", "-q", "refs/heads/"+branch):
		runGit(t, r.work, "fetch", "-q", "origin")
		runGit(t, r.work, "checkout", "-q", "-f", "-B", branch, "origin/"+branch)
	case gitOK(r.Dir, "rev-parse", "--verify", "-q", "refs/heads/main"):
		runGit(t, r.work, "fetch", "-q", "origin")
		runGit(t, r.work, "checkout", "-q", "-f", "-B", branch, "origin/main")
	default: // empty repository: the first commit
		runGit(t, r.work, "symbolic-ref", "HEAD", "refs/heads/"+branch)
	}
	runGit(t, r.work, "clean", "-q", "-f", "-d")

	for key, content := range files {
		var err error
		switch {
		case strings.HasPrefix(key, "-"):
			err = os.RemoveAll(r.path(t, key[1:]))
		case strings.HasPrefix(key, "exec:"):
			err = writeFile(r.path(t, key[len("exec:"):]), content, 0o755)
		case strings.HasPrefix(key, "symlink:"):
			p := r.path(t, key[len("symlink:"):])
			if err = prepare(p); err == nil {
				err = os.Symlink(content, p)
			}
		default:
			err = writeFile(r.path(t, key), content, 0o644)
		}
		if err != nil {
			t.Fatalf("agenttest: commit %q: %v", key, err)
		}
	}
	runGit(t, r.work, "add", "-A")
	runGit(t, r.work, "commit", "-q", "--allow-empty", "--no-verify", "-m", msg)
	runGit(t, r.work, "push", "-q", "origin", "HEAD:refs/heads/"+branch)
	return runGit(t, r.work, "rev-parse", "HEAD")
}

// SetBranch moves branch in the bare repository to sha, as a force-push
// would (sha must be a commit already in the repository).
func (r *Repo) SetBranch(t testing.TB, branch, sha string) {
	t.Helper()
	runGit(t, r.Dir, "update-ref", "refs/heads/"+branch, sha)
}

// Head returns the commit branch points at in the bare repository.
func (r *Repo) Head(t testing.TB, branch string) string {
	t.Helper()
	return runGit(t, r.Dir, "rev-parse", "--verify", "refs/heads/"+branch+"^{commit}")
}

func (r *Repo) path(t testing.TB, rel string) string {
	t.Helper()
	clean := filepath.Clean(filepath.FromSlash(rel))
	first := strings.Split(clean, string(filepath.Separator))[0]
	if rel == "" || filepath.IsAbs(clean) || first == ".." || first == "." || first == ".git" {
		t.Fatalf("agenttest: bad path %q in files: use a relative path inside the repository", rel)
	}
	return filepath.Join(r.work, clean)
}

func prepare(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return err
	}
	return nil
}

func writeFile(p, content string, mode os.FileMode) error {
	if err := prepare(p); err != nil {
		return err
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

// gitEnv lets git commit without any global configuration and keeps the
// developer's own configuration (signing, hooks, templates) out of tests.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"GIT_AUTHOR_NAME=Runtime Test", "GIT_AUTHOR_EMAIL=test@runtime.invalid",
		"GIT_COMMITTER_NAME=Runtime Test", "GIT_COMMITTER_EMAIL=test@runtime.invalid",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
	)
}

func gitCmd(dir string, args ...string) *exec.Cmd {
	full := append([]string{"-c", "safe.directory=*", "-c", "init.defaultBranch=main",
		"-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	return cmd
}

func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := gitCmd(dir, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("agenttest: git %s (in %s): %v\n%s%s", strings.Join(args, " "), dir, err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

func gitOK(dir string, args ...string) bool {
	return gitCmd(dir, args...).Run() == nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
