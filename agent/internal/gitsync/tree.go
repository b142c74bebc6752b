package gitsync

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// maxReadFile bounds ReadFile: it is meant for small files such as
// requirements.txt, and a huge blob must not exhaust the agent's memory.
const maxReadFile = 32 << 20

// maxSymlinkTarget bounds a symlink blob; longer targets are not valid paths.
const maxSymlinkTarget = 4096

func open(dir string) (*git.Repository, error) {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("open clone %s: %w", dir, err)
	}
	return repo, nil
}

// Resolve turns a full or abbreviated commit SHA into the full SHA, if that
// commit is in the clone at dir. Only SHAs are accepted (not branch or tag
// names), so a pinned commit can never silently follow a ref.
func (s *Syncer) Resolve(dir, rev string) (string, error) {
	repo, err := open(dir)
	if err != nil {
		return "", err
	}
	c, err := resolveCommit(repo, rev)
	if err != nil {
		return "", err
	}
	return c.Hash.String(), nil
}

func resolveCommit(repo *git.Repository, rev string) (*object.Commit, error) {
	rev = strings.ToLower(strings.TrimSpace(rev))
	if err := api.ValidateCommit(rev); err != nil {
		return nil, err
	}
	notFound := func(cause error) error {
		return &Error{Kind: ErrCommitNotFound, Err: cause, Msg: fmt.Sprintf(
			"commit %s is not in the repository clone: check the SHA, and that the commit is on the project's branch "+
				"(only that branch is fetched)", rev)}
	}
	if len(rev) == 2*len(plumbing.ZeroHash) {
		c, err := repo.CommitObject(plumbing.NewHash(rev))
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, notFound(err)
		}
		return c, err
	}

	// Abbreviated: find every object with the prefix and keep the commits,
	// so that an ambiguous prefix is an error rather than a guess.
	type prefixer interface {
		HashesWithPrefix(prefix []byte) ([]plumbing.Hash, error)
	}
	pf, ok := repo.Storer.(prefixer)
	if !ok {
		return nil, fmt.Errorf("resolve %s: the clone's storage cannot look up abbreviated SHAs", rev)
	}
	even, err := hex.DecodeString(rev[:len(rev)&^1])
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", rev, err)
	}
	hashes, err := pf.HashesWithPrefix(even)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", rev, err)
	}
	var found []*object.Commit
	for _, h := range hashes {
		if !strings.HasPrefix(h.String(), rev) {
			continue
		}
		if c, err := repo.CommitObject(h); err == nil {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return nil, notFound(plumbing.ErrObjectNotFound)
	case 1:
		return found[0], nil
	default:
		return nil, fmt.Errorf("commit %s is ambiguous (%d commits start with it): give more digits of the SHA", rev, len(found))
	}
}

// cleanRepoPath turns a user path ("src/app.py", "/src/app.py") into a
// path relative to the repository root, refusing anything that leaves it.
func cleanRepoPath(p string) (string, error) {
	c := path.Clean("/" + strings.TrimLeft(p, "/"))
	c = strings.TrimPrefix(c, "/")
	if c == "" || c == "." || strings.Contains(p, "\x00") {
		return "", fmt.Errorf("path %q does not name a file in the repository", p)
	}
	for _, part := range strings.Split(strings.TrimLeft(p, "/"), "/") {
		if part == ".." {
			return "", fmt.Errorf("path %q leaves the repository: use a path relative to the repository root", p)
		}
	}
	return c, nil
}

// entryAt returns the tree entry at p in commit, or nil when there is none.
func entryAt(repo *git.Repository, commit, p string) (*object.Commit, *object.TreeEntry, string, error) {
	c, err := resolveCommit(repo, commit)
	if err != nil {
		return nil, nil, "", err
	}
	rel, err := cleanRepoPath(p)
	if err != nil {
		return nil, nil, "", err
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, nil, "", fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}
	e, err := findEntry(repo, tree, rel)
	if err != nil {
		return nil, nil, "", fmt.Errorf("look up %s in %s: %w", rel, c.Hash, err)
	}
	return c, e, rel, nil
}

// findEntry walks rel one component at a time, so that a path through a
// file ("app.py/x") is simply absent rather than an object-type error.
func findEntry(repo *git.Repository, tree *object.Tree, rel string) (*object.TreeEntry, error) {
	parts := strings.Split(rel, "/")
	for i, part := range parts {
		e, err := tree.FindEntry(part)
		if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if i == len(parts)-1 {
			return e, nil
		}
		if e.Mode != filemode.Dir {
			return nil, nil
		}
		if tree, err = repo.TreeObject(e.Hash); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func isRegular(m filemode.FileMode) bool {
	return m == filemode.Regular || m == filemode.Executable || m == filemode.Deprecated
}

// HasFile reports whether path (relative to repo root; a leading "/" is
// accepted) is a regular file in commit. Deploys check the entrypoint with
// it before starting anything. Symlinks and directories report false.
func (s *Syncer) HasFile(dir, commit, path string) (bool, error) {
	repo, err := open(dir)
	if err != nil {
		return false, err
	}
	_, e, _, err := entryAt(repo, commit, path)
	if err != nil {
		return false, err
	}
	return e != nil && isRegular(e.Mode), nil
}

// ReadFile returns a file's content at commit (used for requirements.txt
// etc.); the error wraps os.ErrNotExist when there is no file at path.
func (s *Syncer) ReadFile(dir, commit, path string) ([]byte, error) {
	repo, err := open(dir)
	if err != nil {
		return nil, err
	}
	c, e, rel, err := entryAt(repo, commit, path)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, fmt.Errorf("%s does not exist at commit %s: %w", rel, c.Hash.String()[:12], os.ErrNotExist)
	}
	if !isRegular(e.Mode) {
		return nil, fmt.Errorf("%s at commit %s is not a regular file (mode %s)", rel, c.Hash.String()[:12], e.Mode)
	}
	blob, err := repo.BlobObject(e.Hash)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", rel, c.Hash.String()[:12], err)
	}
	if blob.Size > maxReadFile {
		return nil, fmt.Errorf("%s at commit %s is %d bytes, more than the %d the agent reads", rel, c.Hash.String()[:12], blob.Size, maxReadFile)
	}
	rd, err := blob.Reader()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	return b, nil
}

// Export writes the tree of commit into dest, atomically: it is written to
// dest+".tmp-*" and renamed. If dest already exists nothing happens, because
// release directories are immutable (a running container mounts them).
//
// Files get 0644 (0755 when executable) and directories 0755 whatever the
// umask: containers run as other uids and must read the release. Symlinks
// are recreated only when their target is relative and stays inside the
// tree; others are skipped, so a repository cannot make the release point
// at host files. Submodules are skipped (they are not fetched).
func (s *Syncer) Export(dir, commit, dest string) error {
	if _, err := os.Lstat(dest); err == nil {
		s.log.Debug("release already exported", "dest", dest)
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("check release directory: %w", err)
	}
	repo, err := open(dir)
	if err != nil {
		return err
	}
	c, err := resolveCommit(repo, commit)
	if err != nil {
		return err
	}
	tree, err := c.Tree()
	if err != nil {
		return fmt.Errorf("read tree of %s: %w", c.Hash, err)
	}

	dest = filepath.Clean(dest)
	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create release parent directory: %w", err)
	}
	s.removeStale(dest + ".tmp-")
	tmp, err := os.MkdirTemp(parent, filepath.Base(dest)+".tmp-")
	if err != nil {
		return fmt.Errorf("create temporary release directory: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("chmod release directory: %w", err)
	}

	stats, err := s.writeTree(repo, tree, tmp)
	if err != nil {
		return fmt.Errorf("export %s: %w", c.Hash.String()[:12], err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		if _, statErr := os.Lstat(dest); statErr == nil {
			// Exported concurrently by someone else: same content.
			return nil
		}
		return fmt.Errorf("move release into place: %w", err)
	}
	done = true
	s.log.Info("exported release", "commit", c.Hash.String(), "dest", dest,
		"files", stats.files, "symlinks", stats.links, "skipped", stats.skipped)
	return nil
}

type exportStats struct{ files, links, skipped int }

type pendingLink struct{ name, target string }

func (s *Syncer) writeTree(repo *git.Repository, tree *object.Tree, root string) (exportStats, error) {
	var st exportStats
	var links []pendingLink
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, fmt.Errorf("walk tree: %w", err)
		}
		if !safeEntryName(name) {
			// git itself refuses such trees (fsck); never write them.
			s.log.Warn("skipping unsafe path in repository tree", "path", name)
			st.skipped++
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		switch {
		case e.Mode == filemode.Dir:
			if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return st, err
			}
			if err := os.Chmod(p, 0o755); err != nil {
				return st, err
			}
		case isRegular(e.Mode):
			mode := os.FileMode(0o644)
			if e.Mode == filemode.Executable {
				mode = 0o755
			}
			if err := writeBlob(repo, e.Hash, p, mode); err != nil {
				return st, fmt.Errorf("write %s: %w", name, err)
			}
			st.files++
		case e.Mode == filemode.Symlink:
			target, err := readBlob(repo, e.Hash, maxSymlinkTarget)
			if err != nil {
				return st, fmt.Errorf("read symlink %s: %w", name, err)
			}
			links = append(links, pendingLink{name: name, target: string(target)})
		default: // submodules
			s.log.Debug("skipping submodule", "path", name)
			st.skipped++
		}
	}
	// Symlinks last: no file above was written through a link made from
	// repository content.
	for _, l := range links {
		target, ok := safeLinkTarget(l.name, l.target)
		if !ok {
			s.log.Warn("skipping symlink that points outside the repository", "path", l.name, "target", l.target)
			st.skipped++
			continue
		}
		p := filepath.Join(root, filepath.FromSlash(l.name))
		if err := os.Symlink(target, p); err != nil {
			return st, fmt.Errorf("create symlink %s: %w", l.name, err)
		}
		st.links++
	}
	return st, nil
}

// safeEntryName accepts slash-separated tree paths whose components are
// ordinary names (no "", ".", "..", ".git").
func safeEntryName(name string) bool {
	if name == "" || strings.ContainsRune(name, '\x00') {
		return false
	}
	for _, part := range strings.Split(name, "/") {
		switch strings.ToLower(part) {
		case "", ".", "..", ".git":
			return false
		}
	}
	return true
}

// safeLinkTarget decides whether a symlink at name (slash-separated, relative
// to the tree root) with the given target resolves inside the tree, and
// returns the target to write. Only relative targets whose ".." components
// all come first are accepted, with no more ".." than the link's depth: the
// link's ancestors are real directories of the export, so those steps are
// exact; after them the target only descends, and any symlink it descends
// through is itself checked the same way, so resolution cannot leave the
// tree. (A lexical Clean is not enough: "a/../.." through a symlink "a" is
// not "..".)
func safeLinkTarget(name, target string) (string, bool) {
	if target == "" || strings.HasPrefix(target, "/") || strings.ContainsRune(target, '\x00') {
		return "", false
	}
	depth := strings.Count(name, "/") // directories above the link
	var parts []string
	ups := 0
	descended := false
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
			continue
		case "..":
			if descended {
				return "", false
			}
			ups++
			if ups > depth {
				return "", false
			}
		default:
			descended = true
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "", false // points at its own directory: useless, and a loop
	}
	return strings.Join(parts, "/"), true
}

func readBlob(repo *git.Repository, h plumbing.Hash, limit int64) ([]byte, error) {
	blob, err := repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	if blob.Size > limit {
		return nil, fmt.Errorf("blob %s is larger than %d bytes", h, limit)
	}
	rd, err := blob.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return io.ReadAll(rd)
}

func writeBlob(repo *git.Repository, h plumbing.Hash, p string, mode os.FileMode) (err error) {
	blob, err := repo.BlobObject(h)
	if err != nil {
		return err
	}
	rd, err := blob.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	// O_EXCL: a malformed tree listing a path twice fails instead of
	// overwriting, and nothing is ever written through a symlink (O_EXCL
	// refuses an existing link, even a dangling one).
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(f, rd); err != nil {
		return err
	}
	return f.Chmod(mode)
}

// HasDir reports whether path is a directory in commit. "", "." and "/"
// name the repository root.
func (s *Syncer) HasDir(dir, commit, path string) (bool, error) {
	repo, err := open(dir)
	if err != nil {
		return false, err
	}
	if strings.Trim(path, "/.") == "" {
		_, err := resolveCommit(repo, commit)
		return err == nil, err
	}
	_, e, _, err := entryAt(repo, commit, path)
	if err != nil {
		return false, err
	}
	return e != nil && e.Mode == filemode.Dir, nil
}
