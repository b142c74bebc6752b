package api

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The rules below run on both sides: the provider at plan time (so bad input
// fails before anything is touched) and the agent on every request (so other
// clients get the same answers). Each error names the field and the fix.

var slugRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidateSlug checks a slug: it becomes a DNS label (<slug>.<apps domain>),
// a container name and a directory name.
func ValidateSlug(s string) error {
	if !slugRE.MatchString(s) {
		return fmt.Errorf("slug %q is not valid: use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit (for example %q)", s, Slugify(s))
	}
	return nil
}

// Slugify derives a slug from a project name: accents are dropped
// ("Ünïcode" → "unicode"), then lowercase ASCII letters and digits are kept
// and every other run of characters becomes one dash.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFD.String(strings.ToLower(name)) {
		if unicode.Is(unicode.Mn, r) {
			continue // a combining accent of the letter before
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	s := b.String()
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// ValidateName checks a project's display name.
func ValidateName(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("name must not be empty")
	}
	if len(s) > 100 {
		return fmt.Errorf("name is %d characters long; use at most 100", len(s))
	}
	if Slugify(s) == "" {
		return fmt.Errorf("name %q has no letters or digits to derive a slug from: add some, or set slug explicitly", s)
	}
	return nil
}

// ValidateAppType checks an app type.
func ValidateAppType(s string) error {
	for _, t := range AppTypes {
		if s == t {
			return nil
		}
	}
	return fmt.Errorf("app_type %q is not supported: use one of %s", s, strings.Join(AppTypes, ", "))
}

var envNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidateEnvironmentName checks the syntax of an environment name. Whether
// the agent knows it is a separate question (GET /v1/environments).
func ValidateEnvironmentName(s string) error {
	if !envNameRE.MatchString(s) {
		return fmt.Errorf("environment %q is not valid: use a name from the agent's environments block, such as \"python-3.12\"", s)
	}
	return nil
}

var (
	scpLikeRE  = regexp.MustCompile(`^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):([^/\\][^\\]*|/[^/\\][^\\]*)$`)
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)
)

// GitURLKind tells how the agent reaches a repository.
type GitURLKind int

const (
	GitSSH   GitURLKind = iota // ssh://… or scp-style user@host:path, with the deploy key
	GitHTTPS                   // https://…, public repositories
	GitLocal                   // file://… or an absolute path; only when the agent allows it
)

// ParseGitURL validates a repository URL and tells its kind. Accepted forms:
// "git@host:org/repo.git", "ssh://git@host:2222/org/repo.git",
// "https://host/org/repo.git", and "file:///path" or "/path" (local
// repositories, refused unless the agent sets allow_local_repos).
func ParseGitURL(s string) (GitURLKind, error) {
	fix := `use "git@host:org/repo.git", "ssh://git@host:port/org/repo.git" or "https://host/org/repo.git"`
	if s == "" {
		return 0, fmt.Errorf("git_url must not be empty: %s", fix)
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return 0, fmt.Errorf("git_url %q contains whitespace: %s", s, fix)
	}
	if strings.HasPrefix(s, "/") {
		return GitLocal, nil
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return 0, fmt.Errorf("git_url %q is not a valid URL (%v): %s", s, err, fix)
		}
		switch u.Scheme {
		case "ssh":
			if u.Hostname() == "" || !hostnameRE.MatchString(u.Hostname()) && !strings.Contains(u.Host, "[") {
				return 0, fmt.Errorf("git_url %q has no valid host: %s", s, fix)
			}
			if p := u.Port(); p != "" && !isPort(p) {
				return 0, fmt.Errorf("git_url %q has an invalid port %q", s, p)
			}
			if strings.Trim(u.Path, "/") == "" {
				return 0, fmt.Errorf("git_url %q has no repository path: %s", s, fix)
			}
			return GitSSH, nil
		case "https":
			if u.Hostname() == "" || strings.Trim(u.Path, "/") == "" {
				return 0, fmt.Errorf("git_url %q needs a host and a repository path: %s", s, fix)
			}
			if u.User != nil {
				return 0, fmt.Errorf("git_url %q embeds credentials: remove them; private repositories are cloned over SSH with the project's deploy key", RedactURL(s))
			}
			return GitHTTPS, nil
		case "file":
			if u.Path == "" {
				return 0, fmt.Errorf("git_url %q has no path", s)
			}
			return GitLocal, nil
		default:
			return 0, fmt.Errorf("git_url scheme %q is not supported: %s", u.Scheme, fix)
		}
	}
	if m := scpLikeRE.FindStringSubmatch(s); m != nil && hostnameRE.MatchString(m[1]) {
		return GitSSH, nil
	}
	return 0, fmt.Errorf("git_url %q is not a repository URL: %s", s, fix)
}

func isPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535
}

// RedactURL hides any password in a URL so it can be shown in errors.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// ValidateBranch checks a branch name with git's ref-format rules.
func ValidateBranch(s string) error {
	bad := func(why string) error {
		return fmt.Errorf("branch %q is not a valid git branch name: %s", s, why)
	}
	switch {
	case s == "":
		return fmt.Errorf("branch must not be empty: use the branch to deploy, such as \"main\"")
	case s == "@":
		return bad(`"@" alone is not allowed`)
	case strings.HasPrefix(s, "-"):
		return bad("it must not start with a dash")
	case strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/"):
		return bad("it must not start or end with a slash")
	case strings.HasSuffix(s, "."):
		return bad("it must not end with a dot")
	case strings.Contains(s, ".."):
		return bad(`it must not contain ".."`)
	case strings.Contains(s, "//"):
		return bad(`it must not contain "//"`)
	case strings.Contains(s, "@{"):
		return bad(`it must not contain "@{"`)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r) {
			return bad(fmt.Sprintf("it must not contain %q", r))
		}
	}
	for _, part := range strings.Split(s, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return bad(`no component may start with "." or end with ".lock"`)
		}
	}
	return nil
}

// ValidatePath checks the entrypoint path inside the repository. A leading
// "/" is accepted and means the repository root; "/" alone is the root
// itself (a folder: Open WebUI's plugins, Airflow's DAGs).
func ValidatePath(s string) error {
	if s == "" {
		return fmt.Errorf("path must name the app's entrypoint inside the repository, such as \"src/app.py\" (or a folder, for airflow and openwebui)")
	}
	if strings.ContainsRune(s, '\\') || strings.ContainsRune(s, 0) {
		return fmt.Errorf("path %q must use forward slashes", s)
	}
	for _, part := range strings.Split(strings.TrimPrefix(s, "/"), "/") {
		if part == ".." {
			return fmt.Errorf("path %q leaves the repository: remove the \"..\" segments and give the path from the repository root", s)
		}
	}
	return nil
}

// CleanPath returns the entrypoint path relative to the repository root, as
// the agent uses it. The API keeps the path exactly as the user wrote it.
func CleanPath(s string) string {
	return strings.TrimPrefix(path.Clean("/"+s), "/")
}

var commitRE = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

var prefixRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$`)

// ValidatePathPrefix checks a path prefix ("sales", "team/sales"; slashes
// around it are accepted).
func ValidatePathPrefix(s string) error {
	if !prefixRE.MatchString(strings.Trim(s, "/")) {
		return fmt.Errorf("path_prefix %q is not valid: use lowercase letters, digits and dashes in one or more segments separated by \"/\", such as \"team/sales\"", s)
	}
	return nil
}

// CleanPathPrefix returns the prefix as the base path apps are told:
// "/team/sales/" (or "" for none).
func CleanPathPrefix(s string) string {
	s = strings.Trim(s, "/")
	if s == "" {
		return ""
	}
	return "/" + s + "/"
}

// PrefixRouting says whether an app type can be served under a path prefix:
// Open WebUI's frontend calls /api and /ws at the root and has no base-path
// setting; a web app's Dockerfile is not told one.
func PrefixRouting(appType string) bool {
	return appType == AppStreamlit || appType == AppDash || appType == AppAirflow
}

// ValidateCommit checks a commit pin.
func ValidateCommit(s string) error {
	if !commitRE.MatchString(s) {
		return fmt.Errorf("commit %q is not a commit SHA: give 7 to 40 lowercase hex digits, or leave commit unset to follow the branch", s)
	}
	return nil
}

// ValidateState checks a desired deployment state.
func ValidateState(s string) error {
	if s != StateRunning && s != StateStopped {
		return fmt.Errorf("state %q is not valid: use %q or %q", s, StateRunning, StateStopped)
	}
	return nil
}

// Validate checks a create request and fills in defaults (slug, branch).
func (r *CreateProjectRequest) Validate() error {
	if err := ValidateName(r.Name); err != nil {
		return err
	}
	if r.Slug == "" {
		r.Slug = Slugify(r.Name)
	}
	if r.Branch == "" {
		r.Branch = "main"
	}
	for _, err := range []error{
		ValidateSlug(r.Slug), ValidateAppType(r.AppType), ValidateEnvironmentName(r.Environment),
		ValidateBranch(r.Branch), ValidatePath(r.Path),
	} {
		if err != nil {
			return err
		}
	}
	_, err := ParseGitURL(r.GitURL)
	return err
}

// Validate checks an update request.
func (r *UpdateProjectRequest) Validate() error {
	if r.Name != nil {
		if err := ValidateName(*r.Name); err != nil {
			return err
		}
	}
	if r.Environment != nil {
		if err := ValidateEnvironmentName(*r.Environment); err != nil {
			return err
		}
	}
	if r.Path != nil {
		return ValidatePath(*r.Path)
	}
	return nil
}

// Validate checks a deployment spec.
func (s *DeploymentSpec) Validate() error {
	if err := ValidateState(s.State); err != nil {
		return err
	}
	if s.MemoryMB != 0 && (s.MemoryMB < 16 || s.MemoryMB > 1<<20) {
		return fmt.Errorf("memory_mb %d is out of range: give at least 16 (MiB), or leave it unset for no limit", s.MemoryMB)
	}
	if s.CPUs < 0 || s.CPUs > 1024 {
		return fmt.Errorf("cpus %g is out of range: give a positive number such as 0.5, or leave it unset for no limit", s.CPUs)
	}
	if s.PathPrefix != "" {
		if err := ValidatePathPrefix(s.PathPrefix); err != nil {
			return err
		}
	}
	if s.TargetCommit != "" {
		if err := ValidateCommit(s.TargetCommit); err != nil {
			return err
		}
	}
	if s.Commit != "" {
		return ValidateCommit(s.Commit)
	}
	return nil
}
