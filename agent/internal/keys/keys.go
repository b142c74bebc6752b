// Package keys generates the per-project SSH deploy keys.
//
// Every project gets its own ed25519 key pair so that access to one
// repository can be granted and revoked on the git host without touching any
// other project. The public half is what users register as a deploy key; the
// private half stays with the agent (the store encrypts it at rest).
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/ssh"
)

// Pair is a freshly generated deploy key.
type Pair struct {
	// PrivateOpenSSH is the private key in OpenSSH PEM form
	// ("-----BEGIN OPENSSH PRIVATE KEY-----"), unencrypted. It is secret.
	PrivateOpenSSH []byte
	// AuthorizedKey is the public key as one authorized_keys line,
	// "ssh-ed25519 AAAA... comment", without a trailing newline, because
	// that is what users paste into their git host.
	AuthorizedKey string
	// FingerprintSHA256 is "SHA256:..." exactly as `ssh-keygen -l` and the
	// git hosts' deploy-key pages print it, so users can match keys by eye.
	FingerprintSHA256 string
}

// Generate creates an ed25519 key pair. The comment (for example
// "runtime:sales") ends up in both halves; it may contain spaces but no
// control characters, since a newline would split the authorized_keys line.
func Generate(comment string) (*Pair, error) {
	for _, r := range comment {
		if unicode.IsControl(r) {
			return nil, fmt.Errorf("key comment %q contains a control character: use printable text only", comment)
		}
	}
	comment = strings.TrimSpace(comment)

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(sshPub)), "\n")
	if comment != "" {
		line += " " + comment
	}
	return &Pair{
		PrivateOpenSSH:    pem.EncodeToMemory(block),
		AuthorizedKey:     line,
		FingerprintSHA256: ssh.FingerprintSHA256(sshPub),
	}, nil
}

// Fingerprint returns the SHA256 fingerprint ("SHA256:...") of a public key
// given as an authorized_keys line, so a stored deploy key can be shown in the
// same form the git host shows it.
func Fingerprint(authorizedKey string) (string, error) {
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorizedKey))
	if err != nil {
		return "", fmt.Errorf("parse public key: %w", err)
	}
	return ssh.FingerprintSHA256(pk), nil
}
