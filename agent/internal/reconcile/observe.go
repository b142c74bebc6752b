package reconcile

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/runtime"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// Observe returns the project's deployment as it is on the host right now.
// The stored status says what the last reconcile achieved; when that was a
// running app, the container is inspected so that drift (stopped by hand,
// crashed, removed) is reported instead of the stale record.
func (r *Reconciler) Observe(ctx context.Context, p *store.Project) api.Deployment {
	d := api.Deployment{
		ProjectID:          p.Slug,
		Exists:             p.Desired != nil,
		Generation:         p.Generation,
		ObservedGeneration: p.Observed.Generation,
		Status:             p.Observed.Status,
		LastError:          p.Observed.LastError,
		DeployedCommit:     p.Observed.DeployedCommit,
		URL:                r.AppURL(p.Slug),
		ContainerID:        p.Observed.ContainerID,
		StartedAt:          p.Observed.StartedAt,
	}
	if d.Status == "" {
		d.Status = api.StatusCreated
	}
	if p.Desired != nil {
		d.DeploymentSpec = api.DeploymentSpec{State: p.Desired.State, Commit: p.Desired.Commit, Revision: p.Desired.Revision, MemoryMB: p.Desired.MemoryMB, CPUs: p.Desired.CPUs, PathPrefix: strings.Trim(p.Desired.PathPrefix, "/")}
		d.URL = r.URLFor(p)
	}
	if !d.Settled() || p.Observed.ContainerID == "" {
		return d
	}
	if d.Status == api.StatusFailed {
		// A failed deploy may have left the previous version serving.
		if c, err := r.rt.Inspect(ctx, p.Observed.ContainerID); err == nil && c.Running {
			d.Serving = true
		}
		return d
	}
	// Only a settled, deployed app can drift; anything else is in flight or
	// already reports its own state.
	if d.Status != api.StatusDeployed {
		return d
	}
	c, err := r.rt.Inspect(ctx, p.Observed.ContainerID)
	switch {
	case runtime.IsNotFound(err):
		d.Status = api.StatusFailed
		d.LastError = "the app's container was removed outside the agent; apply again to redeploy it"
	case err != nil:
		r.log.Warn("inspecting container", "project", p.Slug, "error", err)
		d.Serving = true // unknown: keep what the last reconcile saw
	case c.OOMKilled:
		d.Status = api.StatusFailed
		d.LastError = "the app was killed for using too much memory (OOM)" + r.tail(ctx, p, c.ID)
	case c.Restarting || (c.Running && c.RestartCount > 0 && time.Since(c.StartedAt) < 30*time.Second):
		d.Status = api.StatusFailed
		d.LastError = fmt.Sprintf("the app's container keeps exiting (exit code %d, %d restarts)%s", c.ExitCode, c.RestartCount, r.tail(ctx, p, c.ID))
	case !c.Running:
		// unless-stopped brings crashed containers back by itself, so a
		// container that stays down was stopped on purpose, outside the agent.
		d.Status = api.StatusStopped
		d.LastError = fmt.Sprintf("the app's container was stopped outside the agent (exit code %d); apply again to start it", c.ExitCode)
	default:
		d.Serving = true
		r.setRoute(p, c)
	}
	return d
}

// BranchHead asks the git host for the head of the project's branch. It is
// used by refreshing reads, so the provider can plan a pull when the branch
// has moved past the deployed commit.
func (r *Reconciler) BranchHead(ctx context.Context, p *store.Project) (string, error) {
	key, err := r.sealer.Open(p.PrivateKeySealed, KeyContext(p.UID))
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return r.git.RemoteHead(ctx, p.GitURL, p.Branch, key)
}

// Logs returns the last n lines of the project's newest container log.
func (r *Reconciler) Logs(ctx context.Context, p *store.Project, n int) ([]string, error) {
	id := r.ContainerID(ctx, p)
	if id == "" {
		return nil, fmt.Errorf("project %q has no container yet: deploy it first", p.Slug)
	}
	lines, err := r.rt.Logs(ctx, id, n)
	if runtime.IsNotFound(err) {
		return nil, fmt.Errorf("the app's container is gone: deploy again to get a new one")
	}
	return lines, err
}

// ContainerID returns the id of the project's current container, if any.
func (r *Reconciler) ContainerID(ctx context.Context, p *store.Project) string {
	if p.Observed.ContainerID != "" {
		return p.Observed.ContainerID
	}
	if cs := r.containers(ctx, p.UID); len(cs) > 0 {
		return cs[0].ID
	}
	return ""
}

// FollowLogs streams a container's log to w until ctx ends.
func (r *Reconciler) FollowLogs(ctx context.Context, id string, tail int, w io.Writer) error {
	return r.rt.FollowLogs(ctx, id, tail, w)
}
