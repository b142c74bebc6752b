// Package seal encrypts the agent's secrets at rest (private deploy keys,
// later secret values) with AES-256-GCM under a key kept in its own file,
// outside the store, so a copy of the store alone reveals nothing.
//
// Rotation: stop the agent and run `runtime-agent rotate-key`: it writes a
// new key to <key file>.new, re-seals every value in one store transaction,
// then moves the new key over the old one. Interrupted at any point, running
// it again finishes the job; the agent refuses to start while <key
// file>.new exists. Back up the key file with the store: losing it loses
// every sealed value.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const keySize = 32

// Sealer seals and opens values with one key.
type Sealer struct {
	aead cipher.AEAD
}

// ErrRotationPending is returned when a key rotation was interrupted.
var ErrRotationPending = errors.New("a key rotation was interrupted: run `runtime-agent rotate-key` again to finish it")

// LoadOrCreate reads the key file at path, creating it (mode 0600, 32 random
// bytes) when it does not exist. A key file readable by group or others is
// refused: it is the one secret that protects all others.
func LoadOrCreate(path string) (*Sealer, error) {
	if _, err := os.Stat(path + ".new"); err == nil {
		return nil, ErrRotationPending
	}
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, keySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		// O_EXCL: two agents starting at once must not each write a key.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("creating key file: %w", err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	} else {
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("key file %s is readable by others (mode %v): chmod 600 it", path, st.Mode().Perm())
		}
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("key file %s holds %d bytes, want %d: restore it from backup", path, len(key), keySize)
	}
	return New(key)
}

// New builds a Sealer from a 32-byte key.
func New(key []byte) (*Sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext. The context (e.g. "project/<uid>/deploy-key") is
// authenticated, so a sealed value copied to another record does not open.
func (s *Sealer) Seal(plaintext []byte, context string) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plaintext, []byte(context)), nil
}

// Open decrypts a value sealed with the same key and context.
func (s *Sealer) Open(sealed []byte, context string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed value is too short")
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(context))
	if err != nil {
		return nil, errors.New("sealed value does not open with this key file (wrong key file, or the store was edited)")
	}
	return pt, nil
}

// Rotate re-seals with a new key. reseal is called with the old and the new
// sealer and must re-seal every stored value in one transaction (values
// that already open with the new key are left alone, so a second run after
// an interruption is safe). The new key replaces the old file only after
// reseal succeeded.
func Rotate(path string, reseal func(old, next *Sealer) error) error {
	oldKey, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading key file: %w", err)
	}
	old, err := New(oldKey)
	if err != nil {
		return err
	}
	newPath := path + ".new"
	newKey, err := os.ReadFile(newPath)
	if errors.Is(err, fs.ErrNotExist) {
		newKey = make([]byte, keySize)
		if _, err := rand.Read(newKey); err != nil {
			return err
		}
		if err := writeKey(newPath, newKey); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	next, err := New(newKey)
	if err != nil {
		return err
	}
	if err := reseal(old, next); err != nil {
		return err
	}
	return os.Rename(newPath, path)
}

func writeKey(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
