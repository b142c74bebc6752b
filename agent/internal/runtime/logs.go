package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Logs returns the last tail lines (all when tail <= 0) of a container's
// stdout and stderr, merged in the order Docker recorded them. Deploy
// errors quote them so users see why an app failed.
func (r *Runtime) Logs(ctx context.Context, id string, tail int) ([]string, error) {
	tty, err := r.isTTY(ctx, id)
	if err != nil {
		return nil, err
	}
	rc, err := r.docker.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Tail:       tailArg(tail),
	})
	if err != nil {
		return nil, fmt.Errorf("read logs of container %s: %w", id, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	if err := copyLogs(&buf, rc, tty); err != nil {
		return nil, fmt.Errorf("read logs of container %s: %w", id, err)
	}
	text := strings.TrimRight(buf.String(), "\n")
	if text == "" {
		return []string{}, nil
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	if tail > 0 && len(lines) > tail {
		lines = lines[len(lines)-tail:]
	}
	return lines, nil
}

// FollowLogs writes the last tail lines (all when tail <= 0) of a
// container's output to w, then follows new output until the container
// stops (nil) or ctx ends (ctx.Err()).
func (r *Runtime) FollowLogs(ctx context.Context, id string, tail int, w io.Writer) error {
	tty, err := r.isTTY(ctx, id)
	if err != nil {
		return err
	}
	rc, err := r.docker.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Follow:     true,
		Tail:       tailArg(tail),
	})
	if err != nil {
		return fmt.Errorf("follow logs of container %s: %w", id, err)
	}
	defer rc.Close()
	// Closing the stream is what unblocks a read when ctx ends.
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	err = copyLogs(w, rc, tty)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("follow logs of container %s: %w", id, err)
	}
	return nil
}

// isTTY tells whether the container's output is a raw stream: Docker
// multiplexes stdout and stderr only for containers without a TTY. The
// agent never allocates one, but may adopt containers it did not create.
func (r *Runtime) isTTY(ctx context.Context, id string) (bool, error) {
	resp, err := r.docker.ContainerInspect(ctx, id)
	if err != nil {
		return false, fmt.Errorf("inspect container %s: %w", id, err)
	}
	return resp.Config != nil && resp.Config.Tty, nil
}

func copyLogs(w io.Writer, rc io.Reader, tty bool) error {
	var err error
	if tty {
		_, err = io.Copy(w, rc)
	} else {
		_, err = stdcopy.StdCopy(w, w, rc)
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func tailArg(n int) string {
	if n <= 0 {
		return "all"
	}
	return strconv.Itoa(n)
}
