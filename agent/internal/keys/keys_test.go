package keys

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestGenerate(t *testing.T) {
	p, err := Generate("runtime:sales dashboard")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(p.PrivateOpenSSH, []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n")) {
		t.Fatalf("private key is not OpenSSH PEM:\n%s", p.PrivateOpenSSH)
	}
	if !strings.HasPrefix(p.AuthorizedKey, "ssh-ed25519 AAAA") {
		t.Fatalf("authorized key = %q", p.AuthorizedKey)
	}
	if !strings.HasSuffix(p.AuthorizedKey, " runtime:sales dashboard") || strings.ContainsAny(p.AuthorizedKey, "\r\n") {
		t.Fatalf("authorized key must be one line ending with the comment: %q", p.AuthorizedKey)
	}
	if !strings.HasPrefix(p.FingerprintSHA256, "SHA256:") {
		t.Fatalf("fingerprint = %q", p.FingerprintSHA256)
	}

	// The private half parses back and belongs to the public half.
	signer, err := ssh.ParsePrivateKey(p.PrivateOpenSSH)
	if err != nil {
		t.Fatalf("private key does not parse: %v", err)
	}
	if got := ssh.FingerprintSHA256(signer.PublicKey()); got != p.FingerprintSHA256 {
		t.Fatalf("private key fingerprint %s, want %s", got, p.FingerprintSHA256)
	}
	fp, err := Fingerprint(p.AuthorizedKey)
	if err != nil || fp != p.FingerprintSHA256 {
		t.Fatalf("Fingerprint = %q, %v; want %q", fp, err, p.FingerprintSHA256)
	}

	// OpenSSH agrees on the fingerprint and can read the private key.
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Fatalf("ssh-keygen not found (apt-get install openssh-client): %v", err)
	}
	dir := t.TempDir()
	pubFile := filepath.Join(dir, "id.pub")
	privFile := filepath.Join(dir, "id")
	if err := os.WriteFile(pubFile, []byte(p.AuthorizedKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(privFile, p.PrivateOpenSSH, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(keygen, "-l", "-E", "sha256", "-f", pubFile).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -l: %v\n%s", err, out)
	}
	// "256 SHA256:xxxx comment (ED25519)"
	if f := strings.Fields(string(out)); len(f) < 2 || f[1] != p.FingerprintSHA256 {
		t.Fatalf("ssh-keygen says %q, we say %s", out, p.FingerprintSHA256)
	}
	out, err = exec.Command(keygen, "-y", "-f", privFile).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -y cannot read the private key: %v\n%s", err, out)
	}
	if got, want := strings.Fields(string(out))[1], strings.Fields(p.AuthorizedKey)[1]; got != want {
		t.Fatalf("ssh-keygen -y public key %s, want %s", got, want)
	}
}

func TestGenerateUnique(t *testing.T) {
	a, err := Generate("")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate("")
	if err != nil {
		t.Fatal(err)
	}
	if a.FingerprintSHA256 == b.FingerprintSHA256 {
		t.Fatal("two generated keys are equal")
	}
	if strings.Count(a.AuthorizedKey, " ") != 1 {
		t.Fatalf("key without comment should have no trailing comment: %q", a.AuthorizedKey)
	}
}

func TestGenerateRejectsNewlineInComment(t *testing.T) {
	if _, err := Generate("a\nssh-ed25519 AAAA evil"); err == nil {
		t.Fatal("comment with a newline was accepted")
	}
}

func TestFingerprintInvalid(t *testing.T) {
	if _, err := Fingerprint("not a key"); err == nil {
		t.Fatal("Fingerprint accepted garbage")
	}
}
