// Package server is the agent's HTTP API: versioned JSON under /v1, bearer
// token auth on everything but /healthz, bounded request bodies, and one
// error shape ({"error":{"code","message"}}) with stable codes. Handlers
// only validate and record intent in the store; the reconciler acts.
package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/keys"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/reconcile"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/seal"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// maxBody bounds request bodies. The largest legitimate one is a file
// secret of api.MaxSecretFile bytes, which JSON escaping can make up to six
// times larger.
const maxBody = 8 << 20

// Server serves the API.
type Server struct {
	Token        string
	Version      string
	Environments map[string]string
	Store        *store.Store
	Sealer       *seal.Sealer
	Reconciler   *reconcile.Reconciler
	Log          hclog.Logger
	Metrics      *Metrics
}

// Handler returns the API's http.Handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, api.Health{Status: "ok", Version: s.Version})
	})
	mux.Handle("GET /metrics", s.auth(http.HandlerFunc(s.metrics)))
	route := func(pattern string, h func(*http.Request) (int, any, error)) {
		mux.Handle(pattern, s.auth(s.wrap(h)))
	}
	route("GET /v1/environments", s.environments)
	route("GET /v1/projects", s.listProjects)
	route("POST /v1/projects", s.createProject)
	route("GET /v1/projects/{slug}", s.getProject)
	route("PATCH /v1/projects/{slug}", s.updateProject)
	route("DELETE /v1/projects/{slug}", s.deleteProject)
	route("POST /v1/projects/{slug}/check-update", s.checkUpdate)
	route("GET /v1/projects/{slug}/deploy-key", s.getDeployKey)
	route("GET /v1/projects/{slug}/deployment", s.getDeployment)
	route("PUT /v1/projects/{slug}/deployment", s.putDeployment)
	route("DELETE /v1/projects/{slug}/deployment", s.deleteDeployment)
	s.configRoutes(route)
	route("GET /v1/projects/{slug}/credentials", s.credentials)
	mux.Handle("GET /v1/projects/{slug}/build-log", s.auth(http.HandlerFunc(s.buildLog)))
	mux.Handle("GET /v1/projects/{slug}/logs", s.auth(http.HandlerFunc(s.logs)))
	mux.Handle("/", s.auth(s.wrap(func(r *http.Request) (int, any, error) {
		return 0, nil, apiErr(http.StatusNotFound, api.CodeNotFound, "no such route: %s %s", r.Method, r.URL.Path)
	})))
	return mux
}

func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.Token)) != 1 {
				writeError(w, apiErr(http.StatusUnauthorized, api.CodeUnauthorized, "missing or wrong bearer token: use the agent's token (the provider's token argument, or RUNTIME_TOKEN for the provider and the runtime-agent commands)"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// wrap turns a handler that returns (status, value, error) into JSON.
func (s *Server) wrap(h func(*http.Request) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		code, v, err := h(r)
		if err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) {
				s.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
				ae = &api.Error{Status: http.StatusInternalServerError, Code: api.CodeInternal, Message: err.Error()}
			}
			code = ae.Status
			writeError(w, ae)
		} else if v == nil {
			w.WriteHeader(code)
		} else {
			writeJSON(w, code, v)
		}
		s.Metrics.request(r.Method, code)
		s.Log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", code, "duration", time.Since(start))
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *api.Error) {
	writeJSON(w, e.Status, api.ErrorBody{Error: e})
}

func apiErr(status int, code, format string, args ...any) *api.Error {
	return &api.Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apiErr(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "request body is larger than %d bytes", maxBody)
		}
		return apiErr(http.StatusBadRequest, api.CodeInvalid, "request body is not valid JSON for this route: %v", err)
	}
	if dec.More() {
		return apiErr(http.StatusBadRequest, api.CodeInvalid, "request body holds more than one JSON value")
	}
	return nil
}

func invalid(err error) error {
	return apiErr(http.StatusBadRequest, api.CodeInvalid, "%v", err)
}

func (s *Server) load(r *http.Request) (*store.Project, error) {
	slug := r.PathValue("slug")
	p, err := s.Store.Get(slug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apiErr(http.StatusNotFound, api.CodeNotFound, "project %q does not exist", slug)
	}
	return p, err
}

func (s *Server) toAPI(p *store.Project, d *api.Deployment) api.Project {
	out := api.Project{
		ID: p.Slug, Slug: p.Slug, Name: p.Name, AppType: p.AppType, Environment: p.Environment,
		GitURL: p.GitURL, Branch: p.Branch, Path: p.Path,
		Status: d.Status, LastError: d.LastError, URL: s.Reconciler.AppURL(p.Slug),
		DeployPublicKey: p.PublicKey, FingerprintSHA256: p.Fingerprint,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	return out
}

func (s *Server) environments(r *http.Request) (int, any, error) {
	return http.StatusOK, api.Environments{Environments: s.Environments}, nil
}

func (s *Server) listProjects(r *http.Request) (int, any, error) {
	ps, err := s.Store.List()
	if err != nil {
		return 0, nil, err
	}
	out := api.ProjectList{Projects: []api.Project{}}
	for _, p := range ps {
		d := s.Reconciler.Observe(r.Context(), p)
		out.Projects = append(out.Projects, s.toAPI(p, &d))
	}
	return http.StatusOK, out, nil
}

func (s *Server) checkEnvironment(name string) error {
	if _, ok := s.Environments[name]; ok {
		return nil
	}
	return apiErr(http.StatusBadRequest, api.CodeInvalid, "environment %q is not configured on this agent: use one of %s", name, strings.Join(slices.Sorted(maps.Keys(s.Environments)), ", "))
}

func (s *Server) createProject(r *http.Request) (int, any, error) {
	var req api.CreateProjectRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := req.Validate(); err != nil {
		return 0, nil, invalid(err)
	}
	if err := s.checkEnvironment(req.Environment); err != nil {
		return 0, nil, err
	}
	uid := reconcile.NewUID()
	pair, err := keys.Generate("runtime-" + req.Slug)
	if err != nil {
		return 0, nil, err
	}
	sealed, err := s.Sealer.Seal(pair.PrivateOpenSSH, reconcile.KeyContext(uid))
	if err != nil {
		return 0, nil, err
	}
	now := time.Now().UTC()
	p := &store.Project{
		UID: uid, Slug: req.Slug, Name: req.Name, AppType: req.AppType, Environment: req.Environment,
		GitURL: req.GitURL, Branch: req.Branch, Path: req.Path,
		PublicKey: pair.AuthorizedKey, Fingerprint: pair.FingerprintSHA256, PrivateKeySealed: sealed,
		CreatedAt: now, UpdatedAt: now,
		Observed: store.Observed{Status: api.StatusCreated},
	}
	if err := s.Store.Create(p); errors.Is(err, store.ErrExists) {
		return 0, nil, apiErr(http.StatusConflict, api.CodeConflict, "a project with slug %q already exists: choose another slug, or import it (terraform import runtime_project.<name> %s)", req.Slug, req.Slug)
	} else if err != nil {
		return 0, nil, err
	}
	s.Log.Info("project created", "project", p.Slug, "app_type", p.AppType, "key_fingerprint", p.Fingerprint)
	d := s.Reconciler.Observe(r.Context(), p)
	return http.StatusCreated, s.toAPI(p, &d), nil
}

func (s *Server) getProject(r *http.Request) (int, any, error) {
	p, err := s.load(r)
	if err != nil {
		return 0, nil, err
	}
	d := s.Reconciler.Observe(r.Context(), p)
	return http.StatusOK, s.toAPI(p, &d), nil
}

// decodeUpdate reads and checks an update request and loads its project.
func (s *Server) decodeUpdate(r *http.Request) (api.UpdateProjectRequest, *store.Project, error) {
	var req api.UpdateProjectRequest
	if err := decode(r, &req); err != nil {
		return req, nil, err
	}
	if err := req.Validate(); err != nil {
		return req, nil, invalid(err)
	}
	if req.Environment != nil {
		if err := s.checkEnvironment(*req.Environment); err != nil {
			return req, nil, err
		}
	}
	p, err := s.load(r)
	return req, p, err
}

func (s *Server) updateProject(r *http.Request) (int, any, error) {
	req, p, err := s.decodeUpdate(r)
	if err != nil {
		return 0, nil, err
	}
	// The seed's rule: a project is updated only while stopped. "Running"
	// means a container of it is up, whatever the desired state says.
	if id := s.Reconciler.ContainerID(r.Context(), p); id != "" && p.Observed.Generation >= p.Generation {
		if d := s.Reconciler.Observe(r.Context(), p); d.Status == api.StatusDeployed {
			return 0, nil, apiErr(http.StatusConflict, api.CodeConflict, "project %q is running: stop it first (set the deployment's state to \"stopped\"); name, environment and path can change only while the app is stopped", p.Slug)
		}
	} else if p.Observed.Generation < p.Generation {
		return 0, nil, apiErr(http.StatusConflict, api.CodeConflict, "project %q has a deploy in progress: wait for it to finish, then stop the app before updating", p.Slug)
	}
	p, err = s.Store.Update(p.Slug, func(q *store.Project) error {
		if req.Name != nil {
			q.Name = *req.Name
		}
		if req.Environment != nil {
			q.Environment = *req.Environment
		}
		if req.Path != nil {
			q.Path = *req.Path
		}
		q.UpdatedAt = time.Now().UTC()
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	d := s.Reconciler.Observe(r.Context(), p)
	return http.StatusOK, s.toAPI(p, &d), nil
}

func (s *Server) deleteProject(r *http.Request) (int, any, error) {
	slug := r.PathValue("slug")
	p, err := s.Store.Delete(slug)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, apiErr(http.StatusNotFound, api.CodeNotFound, "project %q does not exist", slug)
	}
	if err != nil {
		return 0, nil, err
	}
	// Clean up now, within the request: when DELETE returns, the app is
	// gone and the slug can be reused at once (Terraform replacements).
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
	defer cancel()
	s.Reconciler.Forget(ctx, p.UID, p.Slug)
	s.Log.Info("project deleted", "project", slug)
	return http.StatusNoContent, nil, nil
}

func (s *Server) getDeployKey(r *http.Request) (int, any, error) {
	p, err := s.load(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.DeployKey{ProjectID: p.Slug, PublicKey: p.PublicKey, FingerprintSHA256: p.Fingerprint}, nil
}

func (s *Server) getDeployment(r *http.Request) (int, any, error) {
	p, err := s.load(r)
	if err != nil {
		return 0, nil, err
	}
	d := s.Reconciler.Observe(r.Context(), p)
	if r.URL.Query().Get("refresh") == "true" && p.Desired != nil {
		head, err := s.Reconciler.BranchHead(r.Context(), p)
		if err != nil {
			// A refresh must not fail because the git host is down; the
			// branch head is advisory.
			s.Log.Debug("branch head unavailable", "project", p.Slug, "error", err)
		}
		d.BranchHead = head
	}
	return http.StatusOK, d, nil
}

func (s *Server) putDeployment(r *http.Request) (int, any, error) {
	var spec api.DeploymentSpec
	if err := decode(r, &spec); err != nil {
		return 0, nil, err
	}
	if err := spec.Validate(); err != nil {
		return 0, nil, invalid(err)
	}
	if n := goruntime.NumCPU(); spec.CPUs > float64(n) {
		return 0, nil, apiErr(http.StatusBadRequest, api.CodeInvalid, "cpus %g is more than this host's %d CPUs: give at most %d, or leave cpus unset", spec.CPUs, n, n)
	}
	slug := r.PathValue("slug")
	if spec.PathPrefix != "" {
		cur, err := s.Store.Get(slug)
		if err == nil && !api.PrefixRouting(cur.AppType) {
			return 0, nil, apiErr(http.StatusBadRequest, api.CodeInvalid, "path_prefix: %s apps cannot be served under a path prefix (they need the root of their own host name); remove path_prefix and use the app's URL", cur.AppType)
		}
		if taken := s.prefixOwner(api.CleanPathPrefix(spec.PathPrefix), slug); taken != "" {
			return 0, nil, apiErr(http.StatusConflict, api.CodeConflict, "path_prefix %q is already used by project %q: choose another", spec.PathPrefix, taken)
		}
	}
	// Every PUT is a new generation, even with an unchanged spec: applying
	// the same configuration again is how drift gets corrected.
	p, err := s.Store.Update(slug, func(q *store.Project) error {
		q.Desired = &store.Desired{State: spec.State, Commit: spec.Commit, Revision: spec.Revision, MemoryMB: spec.MemoryMB, CPUs: spec.CPUs, Resolved: spec.TargetCommit, PathPrefix: api.CleanPathPrefix(spec.PathPrefix)}
		q.Generation++
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, apiErr(http.StatusNotFound, api.CodeNotFound, "project %q does not exist", slug)
	}
	if err != nil {
		return 0, nil, err
	}
	s.Reconciler.Enqueue(slug)
	return http.StatusOK, s.Reconciler.Observe(r.Context(), p), nil
}

func (s *Server) deleteDeployment(r *http.Request) (int, any, error) {
	slug := r.PathValue("slug")
	p, err := s.Store.Update(slug, func(q *store.Project) error {
		if q.Desired == nil {
			return store.ErrNotFound
		}
		q.Desired = nil
		q.Generation++
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, apiErr(http.StatusNotFound, api.CodeNotFound, "project %q has no deployment", slug)
	}
	if err != nil {
		return 0, nil, err
	}
	s.Reconciler.Enqueue(slug)
	return http.StatusOK, s.Reconciler.Observe(r.Context(), p), nil
}

// logs serves the app's log: JSON lines by default, or a plain-text stream
// with follow=true (what `runtime-agent logs -f` reads).
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	p, err := s.load(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	n, _ := strconv.Atoi(r.URL.Query().Get("tail"))
	if n <= 0 {
		n = 100
	}
	if r.URL.Query().Get("follow") == "true" {
		id := s.Reconciler.ContainerID(r.Context(), p)
		if id == "" {
			writeError(w, apiErr(http.StatusNotFound, api.CodeNotFound, "project %q has no container yet", p.Slug))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		s.Reconciler.FollowLogs(r.Context(), id, n, flushWriter{w})
		return
	}
	lines, err := s.Reconciler.Logs(r.Context(), p, n)
	if err != nil {
		writeError(w, apiErr(http.StatusNotFound, api.CodeNotFound, "%v", err))
		return
	}
	if lines == nil {
		lines = []string{}
	}
	writeJSON(w, http.StatusOK, api.Logs{Lines: lines})
}

type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

var _ io.Writer = flushWriter{}

func (s *Server) credentials(r *http.Request) (int, any, error) {
	p, err := s.load(r)
	if err != nil {
		return 0, nil, err
	}
	c, err := s.Reconciler.Credentials(p)
	if err != nil {
		return 0, nil, apiErr(http.StatusNotFound, api.CodeNotFound, "%v", err)
	}
	return http.StatusOK, c, nil
}

func (s *Server) checkUpdate(r *http.Request) (int, any, error) {
	req, p, err := s.decodeUpdate(r)
	if err != nil {
		return 0, nil, err
	}
	if req.Path != nil {
		if err := s.Reconciler.CheckPath(p, *req.Path); err != nil {
			return 0, nil, invalid(err)
		}
	}
	return http.StatusNoContent, nil, nil
}

// prefixOwner returns the project other than slug whose deployment uses
// prefix (or a prefix that overlaps it), or "".
func (s *Server) prefixOwner(prefix, slug string) string {
	ps, err := s.Store.List()
	if err != nil {
		return ""
	}
	for _, p := range ps {
		if p.Slug == slug || p.Desired == nil || p.Desired.PathPrefix == "" {
			continue
		}
		if strings.HasPrefix(prefix, p.Desired.PathPrefix) || strings.HasPrefix(p.Desired.PathPrefix, prefix) {
			return p.Slug
		}
	}
	return ""
}

// buildLog serves the newest image build log as plain text.
func (s *Server) buildLog(w http.ResponseWriter, r *http.Request) {
	p, err := s.load(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	b, err := s.Reconciler.BuildLog(p)
	if err != nil {
		writeError(w, apiErr(http.StatusNotFound, api.CodeNotFound, "%v", err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(b)
}

// fail writes err for handlers that do not go through wrap.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var ae *api.Error
	if !errors.As(err, &ae) {
		s.Log.Error("request failed", "error", err)
		ae = &api.Error{Status: http.StatusInternalServerError, Code: api.CodeInternal, Message: err.Error()}
	}
	writeError(w, ae)
}
