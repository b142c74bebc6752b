package agenttest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// StandinImage is the local image that stands in for python:3.12-slim with
// streamlit, gunicorn (Dash) and airflow installed. There is no image
// registry on the machines the tests run on, so nothing can be pulled;
// scripts/standin-image.sh builds this image from test/standin instead.
const StandinImage = "runtime-standin/python:3.12-slim"

// StandinOpenWebUIImage stands in for ghcr.io/open-webui/open-webui:v0.6.5:
// its default command serves Open WebUI's health, auth and tools/functions
// admin routes on $PORT (8080) with state in /app/backend/data, and records
// the admin API calls at GET /_standin/calls. Built by the same script.
const StandinOpenWebUIImage = "runtime-standin/open-webui:v0.6.5"

// The build runs at most once per test process: the script is quick when
// the image is current, but every test that needs the image calls this.
var (
	standinOnce sync.Once
	standinOut  []byte
	standinErr  error
)

// EnsureStandinImage builds StandinImage and StandinOpenWebUIImage if they
// are missing or out of date with their sources, once per test process, and fails the test with the
// script's output when that is impossible. Docker must be reachable: a test
// that needs the image never skips.
func EnsureStandinImage(t testing.TB) {
	t.Helper()
	standinOnce.Do(func() {
		root, err := standinRepoRoot()
		if err != nil {
			standinErr = err
			return
		}
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "standin-image.sh"))
		cmd.Dir = root
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		standinErr = cmd.Run()
		standinOut = out.Bytes()
	})
	if standinErr != nil {
		t.Fatalf("build the stand-in images %s and %s: %v\n%s", StandinImage, StandinOpenWebUIImage, standinErr, standinOut)
	}
}

// standinRepoRoot finds the module root from the test's working directory
// (go test runs tests in their package directory).
func standinRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/runtimeops/terraform-provider-runtime") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod of github.com/runtimeops/terraform-provider-runtime above the working directory")
		}
		dir = parent
	}
}
