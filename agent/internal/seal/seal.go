// Package seal encrypts the agent's secrets at rest (private deploy keys,
// later secret values) with AES-256-GCM under a key kept in its own file,
// outside the store, so a copy of the store alone reveals nothing.
//
// Rotation: stop the agent, run `runtime-agent rotate-key` (not yet shipped:
// for now back up the key file with the store; losing it loses every sealed
// value, and projects must be recreated to get new deploy keys).
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

// LoadOrCreate reads the key file at path, creating it (mode 0600, 32 random
// bytes) when it does not exist. A key file readable by group or others is
// refused: it is the one secret that protects all others.
func LoadOrCreate(path string) (*Sealer, error) {
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
