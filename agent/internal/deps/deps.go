// Package deps finds a project's Python dependencies in its repository and
// turns them into one requirements list for the environment image, so the
// image is built once per distinct set and nothing is installed when a
// container starts.
//
// Search: from the entrypoint's folder up to the repository root; the first
// folder with any of these wins, in this order:
//
//	uv.lock (+ pyproject.toml)  exact pins of every locked package
//	requirements.txt            as written
//	pyproject.toml              [project].dependencies
package deps

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// Reader reads a file from the repository (path relative to its root); a
// missing file is an error wrapping fs.ErrNotExist.
type Reader func(name string) ([]byte, error)

// Find returns the requirements for the folder start (repository-relative)
// and a description of where they came from. nil means no dependency files.
func Find(read Reader, start string) ([]byte, string, error) {
	dir := path.Clean(start)
	for {
		at := func(name string) string {
			if dir == "." || dir == "/" {
				return name
			}
			return path.Join(dir, name)
		}
		if lock, err := read(at("uv.lock")); err == nil {
			req, err := fromUVLock(lock, readOptional(read, at("pyproject.toml")))
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", at("uv.lock"), err)
			}
			return req, at("uv.lock"), nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
		if req, err := read(at("requirements.txt")); err == nil {
			return req, at("requirements.txt"), nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
		if pp, err := read(at("pyproject.toml")); err == nil {
			req, err := fromPyproject(pp)
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", at("pyproject.toml"), err)
			}
			return req, at("pyproject.toml"), nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
		if dir == "." || dir == "/" || dir == "" {
			return nil, "", nil
		}
		dir = path.Dir(dir)
	}
}

func readOptional(read Reader, name string) []byte {
	b, _ := read(name)
	return b
}

type pyproject struct {
	Project struct {
		Name         string   `toml:"name"`
		Dependencies []string `toml:"dependencies"`
	} `toml:"project"`
}

func fromPyproject(b []byte) ([]byte, error) {
	var pp pyproject
	if _, err := toml.Decode(string(b), &pp); err != nil {
		return nil, fmt.Errorf("not valid TOML: %w", err)
	}
	return []byte(strings.Join(pp.Project.Dependencies, "\n") + "\n"), nil
}

type uvLock struct {
	Package []struct {
		Name    string `toml:"name"`
		Version string `toml:"version"`
		Source  struct {
			Registry string `toml:"registry"`
			Editable string `toml:"editable"`
			Virtual  string `toml:"virtual"`
		} `toml:"source"`
	} `toml:"package"`
}

// fromUVLock pins every registry package of the lock file. The project
// itself (editable or virtual source) is not a dependency.
func fromUVLock(lock, pyprojectBytes []byte) ([]byte, error) {
	var l uvLock
	if _, err := toml.Decode(string(lock), &l); err != nil {
		return nil, fmt.Errorf("not valid TOML: %w", err)
	}
	self := ""
	if pyprojectBytes != nil {
		var pp pyproject
		if _, err := toml.Decode(string(pyprojectBytes), &pp); err == nil {
			self = Normalize(pp.Project.Name)
		}
	}
	var lines []string
	for _, p := range l.Package {
		if p.Source.Registry == "" || Normalize(p.Name) == self || p.Version == "" {
			continue
		}
		lines = append(lines, p.Name+"=="+p.Version)
	}
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\n") + "\n"), nil
}

var (
	nameRE = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)`)
	sepRE  = regexp.MustCompile(`[-_.]+`)
)

// Normalize is PEP 503 name normalisation.
func Normalize(name string) string {
	return strings.ToLower(sepRE.ReplaceAllString(name, "-"))
}

// Ensure appends each of extra that req does not already name; extra is
// what an app type's runtime needs (gunicorn for Dash).
func Ensure(req []byte, extra []string) []byte {
	if len(extra) == 0 {
		return req
	}
	have := map[string]bool{}
	for _, line := range strings.Split(string(req), "\n") {
		if m := nameRE.FindStringSubmatch(line); m != nil && !strings.HasPrefix(strings.TrimSpace(line), "-") {
			have[Normalize(m[1])] = true
		}
	}
	out := string(req)
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	for _, e := range extra {
		if !have[Normalize(e)] {
			out += e + "\n"
		}
	}
	if out == "" {
		return nil
	}
	return []byte(out)
}
