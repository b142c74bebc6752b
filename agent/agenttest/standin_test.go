package agenttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

func standinDocker(t *testing.T) *client.Client {
	t.Helper()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		t.Fatalf("docker is unreachable: %v", err)
	}
	return cli
}

func TestStandinImage(t *testing.T) {
	EnsureStandinImage(t)
	EnsureStandinImage(t) // second call: no rebuild, no error

	cli := standinDocker(t)
	img, err := cli.ImageInspect(context.Background(), StandinImage)
	if err != nil {
		t.Fatalf("inspect %s: %v", StandinImage, err)
	}
	if img.Config.Labels["io.runtimeops.standin.hash"] == "" {
		t.Errorf("image lacks the source hash label: %v", img.Config.Labels)
	}
	for _, want := range []string{"PATH=/usr/local/bin", "HOME=/root"} {
		if !slices.Contains(img.Config.Env, want) {
			t.Errorf("image env %q lacks %q", img.Config.Env, want)
		}
	}
	t.Logf("stand-in image %s: %d bytes", img.ID, img.Size)
}

// TestStandinCommands runs each name of the multi-call binary in a real
// container, as the agent and the env image build will.
func TestStandinCommands(t *testing.T) {
	EnsureStandinImage(t)
	cli := standinDocker(t)
	for _, c := range []struct {
		cmd  []string
		code int64
		out  string
	}{
		{[]string{"streamlit", "run", "/no/app.py"}, 2, "Error: Invalid value: File does not exist: /no/app.py"},
		{[]string{"pip", "--version"}, 0, "pip 24"},
		{[]string{"python", "-c", "print(1)"}, 0, "stand-in python"},
		{nil, 0, "stand-in python"}, // the image's CMD
		{[]string{"gunicorn", "--version"}, 0, "gunicorn (version 23"},
		{[]string{"airflow", "version"}, 0, "3.0.2"},
		{[]string{"airflow", "webserver"}, 2, "invalid choice: 'webserver'"},
	} {
		code, out := standinRun(t, cli, c.cmd)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%q: exit %d, output %q; want exit %d with %q", c.cmd, code, out, c.code, c.out)
		}
	}
}

func standinRun(t *testing.T, cli *client.Client, cmd []string) (int64, string) {
	t.Helper()
	return standinRunWith(t, cli, &container.Config{Image: StandinImage, Cmd: cmd}, nil)
}

// standinRunWith runs a container to its end and returns its exit status
// and output.
func standinRunWith(t *testing.T, cli *client.Client, cfg *container.Config, hc *container.HostConfig) (int64, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := standinCreate(t, cli, cfg, hc)
	waitc, errc := cli.ContainerWait(ctx, id, container.WaitConditionNextExit)
	if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatalf("start %q: %v", cfg.Cmd, err)
	}
	var code int64
	select {
	case res := <-waitc:
		code = res.StatusCode
	case err := <-errc:
		t.Fatalf("wait: %v", err)
	}
	return code, standinLogs(t, cli, id)
}

// standinCreate creates a uniquely named container, removed when the test
// ends.
func standinCreate(t *testing.T, cli *client.Client, cfg *container.Config, hc *container.HostConfig) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	name := "standin-test-" + hex.EncodeToString(b)
	created, err := cli.ContainerCreate(context.Background(), cfg, hc, nil, nil, name)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	})
	return created.ID
}

func standinLogs(t *testing.T, cli *client.Client, id string) string {
	t.Helper()
	rc, err := cli.ContainerLogs(context.Background(), id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("logs: %v", err)
	}
	defer rc.Close()
	var out bytes.Buffer
	stdcopy.StdCopy(&out, &out, rc)
	return out.String()
}
