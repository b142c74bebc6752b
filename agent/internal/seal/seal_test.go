package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealRoundTripAndContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k", "secret.key")
	s, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	secret := []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nabc")
	sealed, err := s.Seal(secret, "project/a/deploy-key")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("OPENSSH")) {
		t.Fatal("sealed value contains plaintext")
	}
	got, err := s.Open(sealed, "project/a/deploy-key")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(sealed, "project/b/deploy-key"); err == nil {
		t.Fatal("value opened under another context")
	}
	// Reloading the same file gives the same key.
	s2, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open(sealed, "project/a/deploy-key"); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("reloaded Open = %q, %v", got, err)
	}
	// Another key does not open it.
	other, _ := LoadOrCreate(filepath.Join(t.TempDir(), "other.key"))
	if _, err := other.Open(sealed, "project/a/deploy-key"); err == nil {
		t.Fatal("value opened with another key")
	}
}

func TestLoadRefusesOpenPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	if _, err := LoadOrCreate(path); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadOrCreate(path); err == nil {
		t.Fatal("a world-readable key file was accepted")
	}
}

func TestRotateIsResumableAndBlocksStartWhilePending(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.key")
	s, _ := LoadOrCreate(path)
	sealed, _ := s.Seal([]byte("v"), "c")

	// An interrupted rotation (reseal failed) leaves <key>.new: the agent
	// refuses to start, and the next run reuses that key and finishes.
	boom := errors.New("crash")
	if err := Rotate(path, func(_, _ *Sealer) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Rotate = %v", err)
	}
	if _, err := LoadOrCreate(path); !errors.Is(err, ErrRotationPending) {
		t.Fatalf("start during a pending rotation = %v", err)
	}
	pending, _ := os.ReadFile(path + ".new")
	err := Rotate(path, func(old, next *Sealer) error {
		pt, err := old.Open(sealed, "c")
		if err != nil {
			return err
		}
		sealed, err = next.Seal(pt, "c")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	now, _ := os.ReadFile(path)
	if !bytes.Equal(now, pending) {
		t.Fatal("the second run did not reuse the pending key")
	}
	s2, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := s2.Open(sealed, "c"); err != nil || string(pt) != "v" {
		t.Fatalf("after rotation: %q %v", pt, err)
	}
}
