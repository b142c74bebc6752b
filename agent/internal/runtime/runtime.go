// Package runtime holds every Docker side effect of the agent: environment
// images, app containers, their logs, and the network the agent reaches them
// on. It talks to the Docker Engine API through the moby client, configured
// from the environment like the docker CLI (DOCKER_HOST, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH) and negotiating the API version, because hosts run
// engines as old as 20.10 (API 1.41).
//
// Nothing here pulls images: a base image must already be on the host.
// Everything created is labelled io.runtimeops.managed=true so the agent can
// find its own objects again after a restart.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Label keys the runtime itself sets. Callers supply the other io.runtimeops.*
// labels (project, generation, commit, config hash).
const (
	LabelManaged = "io.runtimeops.managed"
	// LabelOwner is the id of the agent that owns a container (set by the
	// caller); Create never replaces another owner's container.
	LabelOwner   = "io.runtimeops.agent"
	LabelEnvHash = "io.runtimeops.env.hash"
	LabelEnvBase = "io.runtimeops.env.base"
)

// Defaults for Options.
const (
	DefaultNetwork    = "runtime-apps"
	DefaultLogMaxSize = "10m"
	DefaultLogMaxFile = "3"
)

// Options configures a Runtime. Zero values take the defaults above.
type Options struct {
	// Network is a user-defined bridge network, created if missing. Apps
	// join it and the agent reaches them by container IP, so no ports are
	// published on the host.
	Network string
	// LogMaxSize and LogMaxFile rotate each container's json-file log;
	// unrotated logs filling the disk is a common Docker incident.
	LogMaxSize string
	LogMaxFile string
}

func (o Options) withDefaults() Options {
	if o.Network == "" {
		o.Network = DefaultNetwork
	}
	if o.LogMaxSize == "" {
		o.LogMaxSize = DefaultLogMaxSize
	}
	if o.LogMaxFile == "" {
		o.LogMaxFile = DefaultLogMaxFile
	}
	return o
}

// dockerAPI is the part of the moby client the runtime uses. Keeping it
// narrow keeps fakes small and shows at a glance which Engine API calls the
// agent makes.
type dockerAPI interface {
	Ping(ctx context.Context) (types.Ping, error)
	Close() error

	NetworkInspect(ctx context.Context, network string, options network.InspectOptions) (network.Inspect, error)
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)

	ImageInspect(ctx context.Context, image string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageList(ctx context.Context, options image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, image string, options image.RemoveOptions) ([]image.DeleteResponse, error)
	ImageBuild(ctx context.Context, buildContext io.Reader, options build.ImageBuildOptions) (build.ImageBuildResponse, error)

	ContainerCreate(ctx context.Context, config *container.Config, hostConfig *container.HostConfig, networkingConfig *network.NetworkingConfig, platform *ocispec.Platform, containerName string) (container.CreateResponse, error)
	ContainerStart(ctx context.Context, container string, options container.StartOptions) error
	ContainerStop(ctx context.Context, container string, options container.StopOptions) error
	ContainerRemove(ctx context.Context, container string, options container.RemoveOptions) error
	ContainerRename(ctx context.Context, container, newContainerName string) error
	ContainerInspect(ctx context.Context, container string) (container.InspectResponse, error)
	ContainerList(ctx context.Context, options container.ListOptions) ([]container.Summary, error)
	ContainerLogs(ctx context.Context, container string, options container.LogsOptions) (io.ReadCloser, error)
}

// Runtime runs the agent's containers on one Docker engine. It is safe for
// concurrent use.
type Runtime struct {
	log    hclog.Logger
	docker dockerAPI
	opts   Options

	// buildMu serialises image builds: one at a time per host keeps a
	// 2-core machine responsive and stops two deploys that share
	// dependencies from building the same image twice.
	buildMu sync.Mutex
}

// New connects to the Docker engine, checks that it answers, and makes sure
// the apps network exists.
func New(ctx context.Context, log hclog.Logger, opts Options) (*Runtime, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("configure docker client: %w", err)
	}
	r, err := newWithClient(ctx, log, cli, opts)
	if err != nil {
		cli.Close()
		return nil, err
	}
	return r, nil
}

func newWithClient(ctx context.Context, log hclog.Logger, docker dockerAPI, opts Options) (*Runtime, error) {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	r := &Runtime{log: log, docker: docker, opts: opts.withDefaults()}
	ping, err := docker.Ping(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to docker: %w", err)
	}
	if err := r.ensureNetwork(ctx); err != nil {
		return nil, err
	}
	r.log.Debug("connected to docker", "api_version", ping.APIVersion, "os_type", ping.OSType, "network", r.opts.Network)
	return r, nil
}

// Close releases the Docker client. Containers keep running.
func (r *Runtime) Close() error {
	return r.docker.Close()
}

// Network is the network apps run on.
func (r *Runtime) Network() string { return r.opts.Network }

// ensureNetwork creates the apps network unless it exists. Two agents (or
// two tests) may race to create it; the loser sees a conflict and uses the
// winner's network.
func (r *Runtime) ensureNetwork(ctx context.Context) error {
	name := r.opts.Network
	nw, err := r.docker.NetworkInspect(ctx, name, network.InspectOptions{})
	if err == nil {
		if nw.Driver != "bridge" {
			r.log.Warn("apps network is not a bridge network; the agent may not reach apps by IP", "network", name, "driver", nw.Driver)
		}
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect network %s: %w", name, err)
	}
	_, err = r.docker.NetworkCreate(ctx, name, network.CreateOptions{
		Driver: "bridge",
		Labels: map[string]string{LabelManaged: "true"},
	})
	switch {
	case err == nil:
		r.log.Info("created apps network", "network", name)
		return nil
	case cerrdefs.IsConflict(err) || cerrdefs.IsAlreadyExists(err):
		return nil
	default:
		return fmt.Errorf("create network %s: %w", name, err)
	}
}

// IsNotFound reports whether err means the container (or other Docker
// object) does not exist.
func IsNotFound(err error) bool {
	return cerrdefs.IsNotFound(err)
}

// ErrImageNotFound is matched (errors.Is) by the error EnsureEnvImage
// returns when the base image is not on the host. Images are never pulled:
// the operator pulls or builds them.
var ErrImageNotFound = errors.New("image not found on this host")

type imageNotFoundError struct{ image string }

func (e *imageNotFoundError) Error() string {
	return fmt.Sprintf("image %s not found on this host: pull or build it", e.image)
}

func (e *imageNotFoundError) Is(target error) bool { return target == ErrImageNotFound }

// stopTimeoutSeconds converts a stop timeout for the Engine API, which
// counts whole seconds; nil keeps the container's own StopTimeout.
func stopTimeoutSeconds(d time.Duration) *int {
	if d <= 0 {
		return nil
	}
	s := int((d + time.Second - 1) / time.Second)
	return &s
}
