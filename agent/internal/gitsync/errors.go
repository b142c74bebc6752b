package gitsync

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Sentinel errors, for errors.Is. The errors gitsync returns carry a longer
// message that says what to do; these only name the kind, so that callers
// (the reconciler, the API) can map them to states and error codes.
var (
	// ErrAuth: the git host refused the project's deploy key.
	ErrAuth = errors.New("the deploy key is not accepted by the git host")
	// ErrHostKeyUnknown: the git host's SSH key is not in the agent's
	// known_hosts and trust-on-first-use is off.
	ErrHostKeyUnknown = errors.New("git host key is not in known_hosts")
	// ErrHostKeyMismatch: known_hosts holds a different key for the git host.
	ErrHostKeyMismatch = errors.New("git host key does not match known_hosts")
	// ErrBranchNotFound: the repository has no such branch.
	ErrBranchNotFound = errors.New("branch not found")
	// ErrRepoNotFound: no repository at the URL, or it has no commits.
	ErrRepoNotFound = errors.New("repository not found")
	// ErrCommitNotFound: a commit SHA is not in the clone.
	ErrCommitNotFound = errors.New("commit not found")
	// ErrLocalNotAllowed: a file:// or path URL while allow_local_repos is off.
	ErrLocalNotAllowed = errors.New("local repositories are not allowed")
)

// Error is a failure of one of the kinds above, with a message for the user.
// errors.Is(err, Kind) holds, and so does errors.Is on the underlying cause.
type Error struct {
	Kind error  // one of the Err* sentinels
	Msg  string // complete, actionable message
	Err  error  // underlying cause, if any (not part of Msg)
}

func (e *Error) Error() string        { return e.Msg }
func (e *Error) Is(target error) bool { return target == e.Kind }
func (e *Error) Unwrap() error        { return e.Err }

// AuthError is returned when the git host does not accept the deploy key.
// It matches ErrAuth. Fingerprint lets the caller point the user at the
// exact key to register (it is also in the message).
type AuthError struct {
	Host        string // host:port
	User        string // SSH user the key was offered for
	Fingerprint string // SHA256 fingerprint of the deploy key offered
	Err         error  // underlying SSH error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("permission denied: the git host %s does not accept the deploy key %s (ssh user %q): "+
		"register the project's deploy key with the repository (read access is enough) and retry",
		e.Host, e.Fingerprint, e.User)
}
func (e *AuthError) Is(target error) bool { return target == ErrAuth }
func (e *AuthError) Unwrap() error        { return e.Err }

// HostKeyError is returned when the git host's SSH key cannot be verified
// against known_hosts. It matches ErrHostKeyMismatch when Mismatch is set,
// ErrHostKeyUnknown otherwise.
type HostKeyError struct {
	Host           string // host:port as dialled
	KnownHostsFile string
	Fingerprint    string // SHA256 fingerprint of the key the server presented
	Mismatch       bool
}

func (e *HostKeyError) Error() string {
	host, port, err := net.SplitHostPort(e.Host)
	if err != nil {
		host, port = e.Host, "22"
	}
	host = strings.Trim(host, "[]")
	scan := "ssh-keyscan " + host
	entry := host
	if port != "22" {
		scan = "ssh-keyscan -p " + port + " " + host
		entry = "[" + host + "]:" + port
	}
	if e.Mismatch {
		return fmt.Sprintf("host key of %s (%s) does not match the key recorded in known_hosts %s: "+
			"the server's key changed or the connection is being intercepted; if the change is expected, "+
			"replace the entry (ssh-keygen -R '%s' -f %s, then %s >> %s)",
			e.Host, e.Fingerprint, e.KnownHostsFile, entry, e.KnownHostsFile, scan, e.KnownHostsFile)
	}
	return fmt.Sprintf("host key of %s is not in known_hosts %s: add it (%s >> %s) or enable trust_on_first_use",
		e.Host, e.KnownHostsFile, scan, e.KnownHostsFile)
}

func (e *HostKeyError) Is(target error) bool {
	if e.Mismatch {
		return target == ErrHostKeyMismatch
	}
	return target == ErrHostKeyUnknown
}
