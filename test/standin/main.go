// Command standin stands in for the images the agent runs: python:3.12-slim
// with streamlit, gunicorn (Dash) and airflow installed, and
// ghcr.io/open-webui/open-webui.
//
// There is no image registry on the machines this project is built and
// tested on, so no real image can be pulled. The agent's tests and the
// offline demo run this program instead, packed by test/standin/Dockerfile
// into the local image runtime-standin/python:3.12-slim and by
// test/standin/Dockerfile.open-webui into runtime-standin/open-webui:v0.6.5
// (scripts/standin-image.sh builds both). It imitates exactly the parts of
// streamlit, gunicorn + Dash, airflow, Open WebUI, pip and python that the
// agent relies on, and adds a few /_standin/ endpoints so tests can see what
// the container was given.
//
// It is one static binary called under several names (multi-call by
// argv[0]): streamlit, gunicorn, airflow, open-webui, pip, python and
// standin. "standin <name> args..." runs a personality explicitly.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// version is what "standin version" prints; bump it when behaviour changes.
const version = "standin 1.1.0"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run dispatches on the program name so one binary serves every command the
// agent invokes inside the image. It returns the process exit status.
func run(args []string, stdout, stderr io.Writer) int {
	name := filepath.Base(args[0])
	rest := args[1:]
	if name == "standin" {
		if len(rest) == 0 {
			fmt.Fprintln(stderr, "usage: standin streamlit|gunicorn|airflow|open-webui|pip|python|version [args...]")
			return 2
		}
		name, rest = filepath.Base(rest[0]), rest[1:]
	}
	switch {
	case name == "streamlit":
		return streamlitMain(rest, stdout, stderr)
	case name == "gunicorn":
		return gunicornMain(rest, stdout, stderr)
	case name == "airflow":
		return airflowMain(rest, stdout, stderr)
	case name == "open-webui":
		return openWebUIMain(rest, stdout, stderr)
	case name == "pip" || strings.HasPrefix(name, "pip3"):
		return pipMain(rest, stdout, stderr)
	case name == "python" || strings.HasPrefix(name, "python3"):
		return pythonMain(rest, stdout, stderr)
	case name == "version" || name == "--version":
		fmt.Fprintln(stdout, version)
		return 0
	default:
		fmt.Fprintf(stderr, "standin: unknown command %q\n", name)
		return 127
	}
}

// pythonMain is just enough python for image sanity checks: it never runs
// any Python code.
func pythonMain(args []string, stdout, _ io.Writer) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-V") {
		fmt.Fprintln(stdout, "Python 3.12.7")
		return 0
	}
	fmt.Fprintln(stdout, "stand-in python")
	return 0
}
