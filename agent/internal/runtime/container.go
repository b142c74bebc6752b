package runtime

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"sort"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
)

// ContainerSpec describes an app container.
type ContainerSpec struct {
	Name       string   // Docker container name, e.g. "runtime-<slug>"
	Image      string   // image reference or ID; never pulled
	Cmd        []string // exec form: no shell in between
	Env        []string // KEY=VALUE, passed through the API as-is (no shell, no quoting)
	WorkingDir string
	Mounts     []Mount
	// Labels are the caller's io.runtimeops.* labels (project, generation,
	// commit, config hash); the runtime adds io.runtimeops.managed=true.
	Labels map[string]string
	// MemoryMB and CPUs limit the container; 0 means unlimited. The memory
	// limit includes swap, so it is a real ceiling.
	MemoryMB int64
	CPUs     float64
	// StopTimeout is how long, in seconds, Docker waits after SIGTERM
	// before SIGKILL; 0 keeps Docker's default (10 s).
	StopTimeout int
}

// Mount is a bind mount of a host path, or a named volume when Volume is
// set.
type Mount struct {
	Source   string
	Target   string
	ReadOnly bool
	Volume   bool // Source is a named volume
}

// Container is what the agent needs to know about a container.
type Container struct {
	ID     string
	Name   string // without Docker's leading "/"
	Image  string // as given at create (the reference, not the image ID)
	Labels map[string]string
	// Running is true only while the app's process is up. Docker also
	// reports Running during restart back-off; here Restarting is set then
	// and Running is false.
	Running    bool
	Restarting bool
	OOMKilled  bool
	ExitCode   int    // of the last exit
	Status     string // Docker's state: created, running, paused, restarting, removing, exited, dead
	IP         string // on the apps network; empty when not attached or not running
	StartedAt  time.Time
	FinishedAt time.Time
	// RestartCount counts restarts by the restart policy since the
	// container was last started by hand (Create or Start).
	RestartCount int
}

// Create creates and starts a container for spec, replacing any container
// the agent manages under the same name. Containers restart unless stopped
// (so apps come back after a host reboot even before the agent does), run
// under an init process (signals reach the app, zombies are reaped), rotate
// their logs, and join the apps network without publishing ports.
//
// A container with that name that the agent does not manage is left alone
// and Create fails: the name may belong to something else on the host.
func (r *Runtime) Create(ctx context.Context, spec ContainerSpec) (string, error) {
	if spec.Image == "" {
		return "", fmt.Errorf("create container %s: no image", spec.Name)
	}
	if spec.Name != "" {
		if err := r.removeByName(ctx, spec.Name, spec.Labels); err != nil {
			return "", err
		}
	}

	labels := make(map[string]string, len(spec.Labels)+1)
	maps.Copy(labels, spec.Labels)
	labels[LabelManaged] = "true"

	cfg := &container.Config{
		Image:      spec.Image,
		Cmd:        spec.Cmd,
		Env:        spec.Env,
		WorkingDir: spec.WorkingDir,
		Labels:     labels,
	}
	if spec.StopTimeout > 0 {
		t := spec.StopTimeout
		cfg.StopTimeout = &t
	}

	useInit := true
	hc := &container.HostConfig{
		NetworkMode:   container.NetworkMode(r.opts.Network),
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		Init:          &useInit,
		LogConfig: container.LogConfig{
			Type:   "json-file",
			Config: map[string]string{"max-size": r.opts.LogMaxSize, "max-file": r.opts.LogMaxFile},
		},
	}
	for _, m := range spec.Mounts {
		mt := mount.TypeBind
		if m.Volume {
			mt = mount.TypeVolume
		}
		hc.Mounts = append(hc.Mounts, mount.Mount{Type: mt, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	if spec.MemoryMB > 0 {
		hc.Memory = spec.MemoryMB << 20
		hc.MemorySwap = hc.Memory
	}
	if spec.CPUs > 0 {
		hc.NanoCPUs = int64(spec.CPUs * 1e9)
	}
	nc := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{r.opts.Network: {}}}

	created, err := r.docker.ContainerCreate(ctx, cfg, hc, nc, nil, spec.Name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			if ok, ierr := r.imageExists(ctx, spec.Image); ierr == nil && !ok {
				return "", fmt.Errorf("create container %s: %w", spec.Name, &imageNotFoundError{image: spec.Image})
			}
		}
		return "", fmt.Errorf("create container %s: %w", spec.Name, err)
	}
	log := r.log.With("container", spec.Name, "id", shortID(created.ID))
	for _, w := range created.Warnings {
		log.Warn("docker warning on create", "warning", w)
	}
	if err := r.docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		// A container that cannot start (bad mount, missing binary at the
		// runtime level) would only confuse the next reconcile: remove it
		// and report Docker's reason.
		if rerr := r.docker.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); rerr != nil && !cerrdefs.IsNotFound(rerr) {
			log.Warn("could not remove container that failed to start", "error", rerr)
		}
		return "", fmt.Errorf("start container %s: %w", spec.Name, err)
	}
	log.Info("started container", "image", spec.Image)
	return created.ID, nil
}

// removeByName removes the managed container called name, if any. It lists
// by exact name rather than passing the name to Remove, because Docker
// resolves an unknown name as an ID prefix and could hit another container.
func (r *Runtime) removeByName(ctx context.Context, name string, labels map[string]string) error {
	list, err := r.docker.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("name", "^/"+regexp.QuoteMeta(name)+"$")),
	})
	if err != nil {
		return fmt.Errorf("look for existing container %s: %w", name, err)
	}
	for _, c := range list {
		if !hasName(c.Names, name) {
			continue
		}
		if c.Labels[LabelManaged] != "true" {
			return fmt.Errorf("create container %s: the name is taken by container %s, which the agent does not manage; rename or remove it", name, shortID(c.ID))
		}
		// Another runtime-agent on the same engine (another data directory)
		// owns it: never take over its apps.
		if owner, mine := c.Labels[LabelOwner], labels[LabelOwner]; owner != "" && mine != "" && owner != mine {
			return fmt.Errorf("create container %s: the name is taken by container %s of another runtime-agent using this Docker engine; give this project another slug, or run one agent per engine", name, shortID(c.ID))
		}
		r.log.Info("replacing container", "container", name, "id", shortID(c.ID))
		if err := r.Remove(ctx, c.ID); err != nil {
			return err
		}
	}
	return nil
}

func hasName(names []string, name string) bool {
	for _, n := range names {
		if strings.TrimPrefix(n, "/") == name {
			return true
		}
	}
	return false
}

// Start starts a stopped container. Starting a running one is a no-op.
func (r *Runtime) Start(ctx context.Context, id string) error {
	if err := r.docker.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	r.log.Info("started container", "id", shortID(id))
	return nil
}

// Stop sends SIGTERM and, after timeout (0: the container's own stop
// timeout), SIGKILL. A container stopped this way stays stopped: the
// unless-stopped policy does not bring it back, even after a reboot.
// Stopping a stopped container is not an error; a missing one is.
func (r *Runtime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	if err := r.docker.ContainerStop(ctx, id, container.StopOptions{Timeout: stopTimeoutSeconds(timeout)}); err != nil {
		return fmt.Errorf("stop container %s: %w", id, err)
	}
	r.log.Info("stopped container", "id", shortID(id))
	return nil
}

// Remove kills and removes a container with its anonymous volumes (named
// volumes, which hold app data, stay). A missing container is not an error.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	err := r.docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	switch {
	case err == nil:
		r.log.Info("removed container", "id", shortID(id))
		return nil
	case cerrdefs.IsNotFound(err):
		return nil
	case cerrdefs.IsConflict(err):
		// Removal already in progress elsewhere: wait for it to finish.
		return r.waitGone(ctx, id, err)
	default:
		return fmt.Errorf("remove container %s: %w", id, err)
	}
}

func (r *Runtime) waitGone(ctx context.Context, id string, cause error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		_, err := r.docker.ContainerInspect(ctx, id)
		if cerrdefs.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove container %s: %w", id, cause)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Inspect reads a container's state. A missing container yields an error
// for which IsNotFound is true.
func (r *Runtime) Inspect(ctx context.Context, id string) (*Container, error) {
	resp, err := r.docker.ContainerInspect(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", id, err)
	}
	return r.fromInspect(resp), nil
}

func (r *Runtime) fromInspect(resp container.InspectResponse) *Container {
	c := &Container{}
	if resp.ContainerJSONBase != nil {
		c.ID = resp.ID
		c.Name = strings.TrimPrefix(resp.Name, "/")
		c.RestartCount = resp.RestartCount
		if s := resp.State; s != nil {
			c.Restarting = s.Restarting
			c.Running = s.Running && !s.Restarting
			c.OOMKilled = s.OOMKilled
			c.ExitCode = s.ExitCode
			c.Status = string(s.Status)
			c.StartedAt = parseDockerTime(s.StartedAt)
			c.FinishedAt = parseDockerTime(s.FinishedAt)
		}
	}
	if resp.Config != nil {
		c.Image = resp.Config.Image
		c.Labels = resp.Config.Labels
	}
	if resp.NetworkSettings != nil {
		if ep := resp.NetworkSettings.Networks[r.opts.Network]; ep != nil {
			c.IP = ep.IPAddress
		}
	}
	return c
}

// parseDockerTime reads Docker's RFC 3339 times; Docker writes
// 0001-01-01T00:00:00Z for "never", which is the zero time.
func parseDockerTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// List returns every managed container, stopped ones included, that has all
// the given labels, sorted by name. The agent adopts containers by label
// after a restart; names are only for humans.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]Container, error) {
	args := filters.NewArgs(filters.Arg("label", LabelManaged+"=true"))
	for k, v := range labels {
		args.Add("label", k+"="+v)
	}
	list, err := r.docker.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]Container, 0, len(list))
	for _, s := range list {
		// The list omits exit codes, restart counts and times: inspect
		// each. A container removed in between is simply gone.
		resp, err := r.docker.ContainerInspect(ctx, s.ID)
		if cerrdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("inspect container %s: %w", shortID(s.ID), err)
		}
		out = append(out, *r.fromInspect(resp))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Rename gives a container a new name. The agent runs a replacement under a
// temporary name while the old version still serves, then gives it the
// stable name users know (runtime-<slug>).
func (r *Runtime) Rename(ctx context.Context, id, name string) error {
	if err := r.docker.ContainerRename(ctx, id, name); err != nil {
		return fmt.Errorf("rename container %s to %s: %w", shortID(id), name, err)
	}
	return nil
}
