package gitsync

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"

	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// hostKeyCheck verifies the git host's key for one connection and remembers
// why it refused it: go-git flattens some errors into strings on the way up,
// so the callback's verdict is the reliable source for ErrHostKey*.
type hostKeyCheck struct {
	mu  sync.Mutex
	err *HostKeyError
}

func (c *hostKeyCheck) fail(e *HostKeyError) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = e
	return e
}

func (c *hostKeyCheck) failure() *HostKeyError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// loadKnownHosts makes sure the known_hosts file exists and parses it. The
// lock keeps a trust-on-first-use append from being read half-written.
func (s *Syncer) loadKnownHosts() (*knownhosts.HostKeyDB, error) {
	if s.cfg.KnownHostsFile == "" {
		return nil, fmt.Errorf("no known_hosts file is configured: set known_hosts in the agent config")
	}
	s.khMu.Lock()
	defer s.khMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.cfg.KnownHostsFile), 0o700); err != nil {
		return nil, fmt.Errorf("create known_hosts directory: %w", err)
	}
	f, err := os.OpenFile(s.cfg.KnownHostsFile, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open known_hosts: %w", err)
	}
	f.Close()
	db, err := gitssh.NewKnownHostsDb(s.cfg.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts %s: %w", s.cfg.KnownHostsFile, err)
	}
	return db, nil
}

// hostKeyCallback checks the server's key against db. Unknown hosts are
// refused, or with TrustOnFirstUse recorded and accepted; a key that differs
// from a recorded one is always refused (never InsecureIgnoreHostKey).
func (s *Syncer) hostKeyCallback(db *knownhosts.HostKeyDB, check *hostKeyCheck) ssh.HostKeyCallback {
	verify := db.HostKeyCallback()
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := verify(hostname, remote, key)
		switch {
		case err == nil:
			return nil
		case knownhosts.IsHostKeyChanged(err):
			return check.fail(s.hostKeyError(hostname, key, true))
		case knownhosts.IsHostUnknown(err):
			if !s.cfg.TrustOnFirstUse {
				return check.fail(s.hostKeyError(hostname, key, false))
			}
			return s.trustOnFirstUse(hostname, key, check)
		default:
			return fmt.Errorf("verify host key of %s: %w", hostname, err)
		}
	}
}

// trustOnFirstUse records key for hostname in known_hosts. It re-reads the
// file under the lock first, so that two concurrent first connections to
// the same host add one entry, and a key recorded in the meantime still wins.
func (s *Syncer) trustOnFirstUse(hostname string, key ssh.PublicKey, check *hostKeyCheck) error {
	s.khMu.Lock()
	defer s.khMu.Unlock()
	db, err := gitssh.NewKnownHostsDb(s.cfg.KnownHostsFile)
	if err != nil {
		return fmt.Errorf("read known_hosts %s: %w", s.cfg.KnownHostsFile, err)
	}
	err = db.HostKeyCallback()(hostname, &net.TCPAddr{}, key)
	switch {
	case err == nil:
		return nil
	case knownhosts.IsHostKeyChanged(err):
		return check.fail(s.hostKeyError(hostname, key, true))
	case !knownhosts.IsHostUnknown(err):
		return fmt.Errorf("verify host key of %s: %w", hostname, err)
	}

	f, err := os.OpenFile(s.cfg.KnownHostsFile, os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("record host key of %s: %w", hostname, err)
	}
	defer f.Close()
	line := knownhosts.Line([]string{hostname}, key) + "\n"
	// Keep the new entry on its own line if the file was edited by hand
	// and lacks a final newline.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil || err == io.EOF {
			if last[0] != '\n' {
				line = "\n" + line
			}
		}
	}
	if _, err := f.WriteString(line); err != nil {
		return fmt.Errorf("record host key of %s: %w", hostname, err)
	}
	s.log.Warn("trusted git host key on first use",
		"host", hostname, "key_type", key.Type(), "fingerprint", ssh.FingerprintSHA256(key),
		"known_hosts", s.cfg.KnownHostsFile)
	return nil
}

func (s *Syncer) hostKeyError(hostname string, key ssh.PublicKey, mismatch bool) *HostKeyError {
	return &HostKeyError{
		Host:           hostname,
		KnownHostsFile: s.cfg.KnownHostsFile,
		Fingerprint:    ssh.FingerprintSHA256(key),
		Mismatch:       mismatch,
	}
}
