package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// installedFile records what "pip install" was asked to install, so tests can
// prove that an environment image carries the project's requirements. It is
// a var so in-process tests can point it elsewhere.
var installedFile = "/opt/standin/installed.txt"

// pipFailMarker in a requirements file makes "pip install" fail the way pip
// does for an unknown distribution, so tests can exercise build failures.
const pipFailMarker = "STANDIN_PIP_FAIL"

// pipValueFlags are pip install options that take a separate value; the
// value must be skipped, not read as a package name.
var pipValueFlags = map[string]bool{
	"-c": true, "--constraint": true, "-e": true, "--editable": true,
	"-t": true, "--target": true, "--platform": true, "--python-version": true,
	"--implementation": true, "--abi": true, "--root": true, "--prefix": true,
	"--src": true, "--upgrade-strategy": true, "-C": true, "--config-settings": true,
	"--global-option": true, "--no-binary": true, "--only-binary": true,
	"--progress-bar": true, "--report": true, "-i": true, "--index-url": true,
	"--extra-index-url": true, "-f": true, "--find-links": true, "--log": true,
	"--proxy": true, "--retries": true, "--timeout": true, "--exists-action": true,
	"--trusted-host": true, "--cert": true, "--client-cert": true,
	"--cache-dir": true, "--python": true,
}

func pipMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: pip <command> [options]")
		return 1
	}
	switch args[0] {
	case "--version", "-V", "version":
		fmt.Fprintln(stdout, "pip 24.3.1 from /usr/local/lib/python3.12/site-packages/pip (python 3.12) (stand-in)")
		return 0
	case "install":
		return pipInstall(args[1:], stdout, stderr)
	case "freeze", "list":
		b, err := os.ReadFile(installedFile)
		if err != nil && !os.IsNotExist(err) {
			fmt.Fprintf(stderr, "ERROR: %v\n", err)
			return 1
		}
		stdout.Write(b)
		return 0
	default:
		fmt.Fprintf(stderr, "ERROR: unknown command \"%s\" (stand-in pip knows install, freeze, list)\n", args[0])
		return 1
	}
}

// pipInstall appends every requirements file (-r) and every package named on
// the command line to installedFile. Nothing is downloaded.
func pipInstall(args []string, stdout, stderr io.Writer) int {
	var reqFiles, packages []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-r" || a == "--requirement":
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "ERROR: %s option requires 1 argument\n", a)
				return 2
			}
			i++
			reqFiles = append(reqFiles, args[i])
		case strings.HasPrefix(a, "--requirement="):
			reqFiles = append(reqFiles, strings.TrimPrefix(a, "--requirement="))
		case strings.HasPrefix(a, "-r") && !strings.HasPrefix(a, "--"):
			reqFiles = append(reqFiles, strings.TrimPrefix(a, "-r"))
		case pipValueFlags[a]:
			i++
		case strings.HasPrefix(a, "-"):
			// Boolean flag (--no-cache-dir, -q, -U ...) or --flag=value.
		default:
			packages = append(packages, a)
		}
	}
	if len(reqFiles) == 0 && len(packages) == 0 {
		fmt.Fprintln(stderr, "ERROR: You must give at least one requirement to install (see \"pip help install\")")
		return 1
	}

	var record strings.Builder
	for _, f := range reqFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "ERROR: Could not open requirements file: [Errno 2] No such file or directory: '%s'\n", f)
			return 1
		}
		content := string(b)
		for _, line := range strings.Split(content, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if strings.Contains(line, pipFailMarker) {
				fmt.Fprintf(stdout, "Collecting %s\n", line)
				fmt.Fprintf(stderr, "ERROR: Could not find a version that satisfies the requirement %s (from versions: none)\n", line)
				fmt.Fprintf(stderr, "ERROR: No matching distribution found for %s\n", line)
				return 1
			}
			fmt.Fprintf(stdout, "Collecting %s\n", line)
		}
		record.WriteString(content)
		if content != "" && !strings.HasSuffix(content, "\n") {
			record.WriteString("\n")
		}
	}
	for _, p := range packages {
		fmt.Fprintf(stdout, "Collecting %s\n", p)
		record.WriteString(p + "\n")
	}

	if err := os.MkdirAll(filepath.Dir(installedFile), 0o755); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	f, err := os.OpenFile(installedFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	if _, err := f.WriteString(record.String()); err != nil {
		f.Close()
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	if err := f.Close(); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "Successfully installed (stand-in)")
	return 0
}
