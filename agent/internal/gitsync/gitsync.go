// Package gitsync holds every git side effect of the agent: cloning and
// fetching project repositories with the project's deploy key, answering
// questions about commits, and exporting a commit into a release directory.
//
// It uses go-git only, so the agent needs no git binary and behaves the same
// on every host. Each project has one bare, full, single-branch clone that is
// updated by fetch (never pull: pull breaks on force-pushes and detached
// heads); releases are exported from its objects, not from a working tree.
package gitsync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// dialTimeout bounds the TCP connect to a git host, so that an unreachable
// host fails a deploy instead of hanging it.
const dialTimeout = 30 * time.Second

// staleAfter is how old a leftover temporary clone or export (from a crash)
// must be before it is removed; younger ones may belong to a running call.
const staleAfter = time.Hour

func init() {
	// The agent's git access is configured by the agent's own config alone:
	// the service user's ~/.ssh/config must not redirect hosts or ports (it
	// would also break the host-key algorithm selection, which is computed
	// for the host:port in the URL).
	gitssh.DefaultSSHConfig = nil
	// Serve file:// and path URLs in-process instead of go-git's default of
	// running the git-upload-pack binary: no git binary is needed, and git's
	// "dubious ownership" (safe.directory) check cannot fail a local clone
	// whose owner differs from the agent's user.
	client.InstallProtocol("file", server.NewServer(localLoader{}))
}

// localLoader opens local repositories (bare, or with a .git directory) for
// the in-process file transport.
type localLoader struct{}

func (localLoader) Load(ep *transport.Endpoint) (storer.Storer, error) {
	r, err := git.PlainOpenWithOptions(ep.Path, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, transport.ErrRepositoryNotFound
	}
	return r.Storer, nil
}

// Config says which repositories the agent may reach and how it trusts hosts.
type Config struct {
	KnownHostsFile  string // agent's known_hosts; created if missing
	TrustOnFirstUse bool   // when true, an unknown host's key is appended to KnownHostsFile and trusted; when false unknown hosts are refused
	AllowLocal      bool   // file:// URLs and absolute paths allowed only when true
}

// Syncer performs the agent's git operations. It is safe for concurrent use
// on different clone directories; calls on the same directory must be
// serialised by the caller.
type Syncer struct {
	cfg  Config
	log  hclog.Logger
	khMu sync.Mutex // guards reads and appends of cfg.KnownHostsFile
}

// New returns a Syncer. A nil logger discards logs.
func New(cfg Config, log hclog.Logger) *Syncer {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Syncer{cfg: cfg, log: log}
}

// remote is a resolved repository URL: how to reach it and with what.
type remote struct {
	url     string // as given; passed to go-git
	display string // for messages and logs (passwords redacted)
	kind    api.GitURLKind
	auth    transport.AuthMethod // nil for https and local
	host    string               // host:port, for ssh
	user    string               // ssh user
	keyFP   string               // deploy key fingerprint, for ssh
	check   *hostKeyCheck        // host key verdict, for ssh
}

// sshAuth is go-git's public key auth with a connect timeout added.
type sshAuth struct{ *gitssh.PublicKeys }

func (a sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	cfg, err := a.PublicKeys.ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = dialTimeout
	return cfg, nil
}

// remoteFor checks url against the config and prepares auth and host-key
// verification for one operation.
func (s *Syncer) remoteFor(rawURL string, privateKey []byte) (*remote, error) {
	kind, err := api.ParseGitURL(rawURL)
	if err != nil {
		return nil, err
	}
	r := &remote{url: rawURL, display: api.RedactURL(rawURL), kind: kind}
	switch kind {
	case api.GitLocal:
		if !s.cfg.AllowLocal {
			return nil, &Error{Kind: ErrLocalNotAllowed, Msg: fmt.Sprintf(
				"git_url %q is a local repository, which this agent does not allow: "+
					"set allow_local_repos = true in the agent config (meant for development and tests)", r.display)}
		}
		return r, nil
	case api.GitHTTPS:
		// Public repositories only: private ones are reached over SSH with
		// the project's deploy key.
		return r, nil
	case api.GitSSH:
	default:
		return nil, fmt.Errorf("git_url %q: unsupported kind %d", r.display, kind)
	}

	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, fmt.Errorf("git_url %q: %w", r.display, err)
	}
	r.user = ep.User
	if r.user == "" {
		r.user = "git"
	}
	port := ep.Port
	if port <= 0 {
		port = gitssh.DefaultPort
	}
	// The same host:port go-git dials and hands to the host key callback.
	r.host = net.JoinHostPort(ep.Host, strconv.Itoa(port))

	if len(privateKey) == 0 {
		return nil, fmt.Errorf("no deploy key was given for %s: ssh repositories are cloned with the project's deploy key", r.display)
	}
	// go-git ignores the URL's user once auth is set, so it is set here.
	pk, err := gitssh.NewPublicKeys(r.user, privateKey, "")
	if err != nil {
		// The parse error never contains key material.
		return nil, fmt.Errorf("the project's deploy key cannot be read: %w", err)
	}
	r.keyFP = ssh.FingerprintSHA256(pk.Signer.PublicKey())

	db, err := s.loadKnownHosts()
	if err != nil {
		return nil, err
	}
	r.check = &hostKeyCheck{}
	pk.HostKeyCallback = s.hostKeyCallback(db, r.check)
	// Offer only the key types known_hosts has for this host; otherwise
	// the server may present, say, its ECDSA key while known_hosts holds
	// its ed25519 one, and verification fails as a mismatch.
	pk.HostKeyAlgorithms = db.HostKeyAlgorithms(r.host)
	r.auth = sshAuth{pk}
	return r, nil
}

// classify turns go-git and SSH errors into the package's typed errors with
// messages a user can act on; anything else is wrapped with the operation.
func (s *Syncer) classify(op string, r *remote, branch string, err error) error {
	if err == nil {
		return nil
	}
	if r.check != nil {
		if hk := r.check.failure(); hk != nil {
			return hk
		}
	}
	var nomatch git.NoMatchingRefSpecError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s %s: %w", op, r.display, err)
	case r.kind == api.GitSSH && strings.Contains(err.Error(), "ssh: unable to authenticate"),
		r.kind == api.GitSSH && errors.Is(err, transport.ErrAuthenticationRequired),
		r.kind == api.GitSSH && errors.Is(err, transport.ErrAuthorizationFailed):
		return &AuthError{Host: r.host, User: r.user, Fingerprint: r.keyFP, Err: err}
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return &Error{Kind: ErrAuth, Err: err, Msg: fmt.Sprintf(
			"%s requires credentials: https is for public repositories; use the repository's ssh URL "+
				"(git@host:org/repo.git) and register the project's deploy key", r.display)}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		msg := fmt.Sprintf("repository %s not found: check git_url", r.display)
		if r.kind == api.GitSSH {
			msg += "; git hosts also answer \"not found\" when the deploy key has no access to the repository, " +
				"so check that the project's deploy key (" + r.keyFP + ") is registered with it"
		}
		return &Error{Kind: ErrRepoNotFound, Err: err, Msg: msg}
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &Error{Kind: ErrRepoNotFound, Err: err, Msg: fmt.Sprintf(
			"repository %s is empty: push a first commit to branch %q", r.display, branch)}
	case errors.As(err, &nomatch), errors.Is(err, plumbing.ErrReferenceNotFound):
		return branchNotFound(r, branch, err)
	}
	return fmt.Errorf("%s %s: %w", op, r.display, err)
}

func branchNotFound(r *remote, branch string, cause error) error {
	return &Error{Kind: ErrBranchNotFound, Err: cause, Msg: fmt.Sprintf(
		"branch %q not found in %s: push it, or set branch to an existing branch", branch, r.display)}
}

func branchRefs(branch string) (head, tracking plumbing.ReferenceName, spec config.RefSpec) {
	head = plumbing.NewBranchReferenceName(branch)
	tracking = plumbing.NewRemoteReferenceName("origin", branch)
	spec = config.RefSpec("+" + head.String() + ":" + tracking.String())
	return head, tracking, spec
}

// Sync makes dir hold a full single-branch clone of url@branch (clone on
// first use — into a temp dir then rename —, fetch with a forced refspec
// afterwards; never Pull) and returns the SHA of the branch head.
//
// The clone is bare: releases are exported from objects, so a working tree
// would only double the disk use. Commits that a force-push removed from
// the branch stay in the clone, so pinned releases remain exportable.
func (s *Syncer) Sync(ctx context.Context, dir, url, branch string, privateKey []byte) (string, error) {
	if err := api.ValidateBranch(branch); err != nil {
		return "", err
	}
	r, err := s.remoteFor(url, privateKey)
	if err != nil {
		return "", err
	}
	repo, err := git.PlainOpen(dir)
	switch {
	case err == nil:
		return s.fetch(ctx, repo, dir, r, branch)
	case errors.Is(err, git.ErrRepositoryNotExists):
		return s.clone(ctx, dir, r, branch)
	default:
		return "", fmt.Errorf("open clone %s: %w", dir, err)
	}
}

func (s *Syncer) clone(ctx context.Context, dir string, r *remote, branch string) (string, error) {
	// A directory that exists but is no clone is left alone unless empty:
	// it was not made by Sync, and removing it could destroy someone's data.
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return "", fmt.Errorf("clone directory %s exists but is not a git repository: remove it so the agent can clone again", dir)
	}
	parent, base := filepath.Split(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("create clone parent directory: %w", err)
	}
	s.removeStale(filepath.Join(parent, base+".tmp-"))
	tmp, err := os.MkdirTemp(parent, base+".tmp-")
	if err != nil {
		return "", fmt.Errorf("create temporary clone directory: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(tmp)
		}
	}()

	head, tracking, _ := branchRefs(branch)
	start := time.Now()
	s.log.Info("cloning repository", "url", r.display, "branch", branch, "dir", dir)
	repo, err := git.PlainCloneContext(ctx, tmp, true, &git.CloneOptions{
		URL:           r.url,
		Auth:          r.auth,
		RemoteName:    "origin",
		ReferenceName: head,
		SingleBranch:  true,
		Tags:          git.NoTags,
	})
	if err != nil {
		return "", s.classify("clone", r, branch, err)
	}
	sha, err := branchHead(repo, tracking, head)
	if err != nil {
		return "", fmt.Errorf("clone %s: %w", r.display, err)
	}
	// An empty directory left by the caller (MkdirAll) would make the
	// rename fail; it was checked to be empty above.
	_ = os.Remove(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("move clone into place: %w", err)
	}
	done = true
	s.log.Info("cloned repository", "url", r.display, "branch", branch, "head", sha, "duration", time.Since(start).Round(time.Millisecond))
	return sha, nil
}

func (s *Syncer) fetch(ctx context.Context, repo *git.Repository, dir string, r *remote, branch string) (string, error) {
	head, tracking, spec := branchRefs(branch)
	s.log.Debug("fetching repository", "url", r.display, "branch", branch, "dir", dir)
	err := repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RemoteURL:  r.url,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       r.auth,
		Tags:       git.NoTags,
		Force:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return "", s.classify("fetch", r, branch, err)
	}
	ref, err := repo.Reference(tracking, true)
	if err != nil {
		return "", fmt.Errorf("fetch %s: read %s: %w", r.display, tracking, err)
	}
	// Keep the local branch equal to the remote one, so that a person
	// inspecting the clone with git sees what the agent sees.
	old, _ := repo.Reference(head, true)
	if old == nil || old.Hash() != ref.Hash() {
		if err := repo.Storer.SetReference(plumbing.NewHashReference(head, ref.Hash())); err != nil {
			return "", fmt.Errorf("update %s in %s: %w", head, dir, err)
		}
		s.log.Info("branch moved", "url", r.display, "branch", branch, "head", ref.Hash().String())
	}
	return ref.Hash().String(), nil
}

func branchHead(repo *git.Repository, names ...plumbing.ReferenceName) (string, error) {
	var err error
	for _, n := range names {
		var ref *plumbing.Reference
		if ref, err = repo.Reference(n, true); err == nil {
			return ref.Hash().String(), nil
		}
	}
	return "", fmt.Errorf("branch head missing after clone: %w", err)
}

// RemoteHead asks the remote for the branch head without fetching objects
// (ls-remote). It is how drift ("the branch moved past deployed_commit") is
// detected cheaply.
func (s *Syncer) RemoteHead(ctx context.Context, url, branch string, privateKey []byte) (string, error) {
	if err := api.ValidateBranch(branch); err != nil {
		return "", err
	}
	r, err := s.remoteFor(url, privateKey)
	if err != nil {
		return "", err
	}
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.url}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: r.auth})
	if err != nil {
		return "", s.classify("list references of", r, branch, err)
	}
	head := plumbing.NewBranchReferenceName(branch)
	for _, ref := range refs {
		if ref.Name() == head && ref.Type() == plumbing.HashReference {
			return ref.Hash().String(), nil
		}
	}
	if len(refs) == 0 {
		return "", &Error{Kind: ErrRepoNotFound, Err: transport.ErrEmptyRemoteRepository, Msg: fmt.Sprintf(
			"repository %s is empty: push a first commit to branch %q", r.display, branch)}
	}
	return "", branchNotFound(r, branch, plumbing.ErrReferenceNotFound)
}

// removeStale deletes leftovers of interrupted clones or exports (prefix*)
// that are old enough not to belong to a call in progress.
func (s *Syncer) removeStale(prefix string) {
	matches, _ := filepath.Glob(globEscape(prefix) + "*")
	for _, m := range matches {
		st, err := os.Lstat(m)
		if err != nil || time.Since(st.ModTime()) < staleAfter {
			continue
		}
		if err := os.RemoveAll(m); err != nil {
			s.log.Warn("cannot remove leftover temporary directory", "path", m, "error", err)
			continue
		}
		s.log.Info("removed leftover temporary directory", "path", m)
	}
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteRune('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
