package server

import (
	"bytes"
	"errors"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/reconcile"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// Variables, secrets and connections. A write that changes what a running
// app sees records a new generation at once (so the intent survives a
// crash) but the restart waits for a quiet moment: the many writes of one
// terraform apply then restart the app once.

func (s *Server) configRoutes(route func(string, func(*http.Request) (int, any, error))) {
	route("GET /v1/projects/{slug}/variables", s.listVariables)
	route("GET /v1/projects/{slug}/variables/{key}", s.getVariable)
	route("PUT /v1/projects/{slug}/variables/{key}", s.putVariable)
	route("DELETE /v1/projects/{slug}/variables/{key}", s.deleteVariable)
	route("GET /v1/projects/{slug}/secrets", s.listSecrets)
	route("GET /v1/projects/{slug}/secrets/{key}", s.getSecret)
	route("PUT /v1/projects/{slug}/secrets/{key}", s.putSecret)
	route("DELETE /v1/projects/{slug}/secrets/{key}", s.deleteSecret)
	route("GET /v1/projects/{slug}/connections", s.listConnections)
	route("GET /v1/projects/{slug}/connections/{name}", s.getConnection)
	route("PUT /v1/projects/{slug}/connections/{name}", s.putConnection)
	route("DELETE /v1/projects/{slug}/connections/{name}", s.deleteConnection)
}

var errChildNotFound = errors.New("child not found")

// changeConfig runs fn on the project in one transaction; when fn reports a
// change and the app should be running, the generation moves and a
// coalesced restart is scheduled.
func (s *Server) changeConfig(r *http.Request, what string, fn func(p *store.Project) (changed bool, err error)) (*store.Project, error) {
	slug := r.PathValue("slug")
	restart := false
	p, err := s.Store.Update(slug, func(p *store.Project) error {
		before, err := s.Reconciler.Footprint(p)
		if err != nil {
			return err
		}
		changed, err := fn(p)
		if err != nil {
			return err
		}
		if changed {
			// What the app's environment could not hold is refused now, not
			// when the app fails to restart.
			after, err := s.Reconciler.Footprint(p)
			if err != nil {
				return err
			}
			if err := after.Grows(before, p.Slug); err != nil {
				return invalid(err)
			}
		}
		if changed && p.Desired != nil && p.Desired.State == api.StateRunning {
			p.Generation++
			restart = true
		}
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, apiErr(http.StatusNotFound, api.CodeNotFound, "project %q does not exist", slug)
	case errors.Is(err, errChildNotFound):
		return nil, apiErr(http.StatusNotFound, api.CodeNotFound, "project %q has no %s", slug, what)
	case err != nil:
		return nil, err
	}
	if restart {
		s.Reconciler.ConfigChanged(slug)
	}
	return p, nil
}

func (s *Server) child(r *http.Request, field, kind string, validate func(string) error) (string, error) {
	name := r.PathValue(field)
	if err := validate(name); err != nil {
		return "", invalid(err)
	}
	return name, nil
}

func keyRule(k string) error { return api.ValidateEnvKey("key", k) }

// --- variables

func (s *Server) listVariables(r *http.Request) (int, any, error) {
	p, err := s.load(r)
	if err != nil {
		return 0, nil, err
	}
	out := api.VariableList{Variables: []api.Variable{}}
	for _, k := range slices.Sorted(maps.Keys(p.Variables)) {
		v := p.Variables[k]
		out.Variables = append(out.Variables, api.Variable{ProjectID: p.Slug, Key: k, Value: v.Value, UpdatedAt: v.UpdatedAt})
	}
	return http.StatusOK, out, nil
}

func (s *Server) getVariable(r *http.Request) (int, any, error) {
	p, err := s.load(r)
	if err != nil {
		return 0, nil, err
	}
	key := r.PathValue("key")
	v, ok := p.Variables[key]
	if !ok {
		return 0, nil, apiErr(http.StatusNotFound, api.CodeNotFound, "project %q has no variable %q", p.Slug, key)
	}
	return http.StatusOK, api.Variable{ProjectID: p.Slug, Key: key, Value: v.Value, UpdatedAt: v.UpdatedAt}, nil
}

func (s *Server) putVariable(r *http.Request) (int, any, error) {
	key, err := s.child(r, "key", "variable", keyRule)
	if err != nil {
		return 0, nil, err
	}
	var req api.SetVariableRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := api.ValidateEnvValue("variable", key, req.Value); err != nil {
		return 0, nil, invalid(err)
	}
	var out api.Variable
	_, err = s.changeConfig(r, "variable "+key, func(p *store.Project) (bool, error) {
		if p.Variables == nil {
			p.Variables = map[string]*store.Variable{}
		}
		old, ok := p.Variables[key]
		changed := !ok || old.Value != req.Value
		if changed {
			p.Variables[key] = &store.Variable{Value: req.Value, UpdatedAt: time.Now().UTC()}
		}
		v := p.Variables[key]
		out = api.Variable{ProjectID: p.Slug, Key: key, Value: v.Value, UpdatedAt: v.UpdatedAt}
		return changed, nil
	})
	return http.StatusOK, out, err
}

func (s *Server) deleteVariable(r *http.Request) (int, any, error) {
	key := r.PathValue("key")
	_, err := s.changeConfig(r, "variable "+key, func(p *store.Project) (bool, error) {
		if _, ok := p.Variables[key]; !ok {
			return false, errChildNotFound
		}
		delete(p.Variables, key)
		return true, nil
	})
	return http.StatusNoContent, nil, err
}

// --- secrets

func secretView(slug, key string, v *store.Secret) api.Secret {
	return api.Secret{ProjectID: slug, Key: key, Version: v.Version, File: v.File, UpdatedAt: v.UpdatedAt}
}

func (s *Server) listSecrets(r *http.Request) (int, any, error) {
	p, err := s.load(r)
	if err != nil {
		return 0, nil, err
	}
	out := api.SecretList{Secrets: []api.Secret{}}
	for _, k := range slices.Sorted(maps.Keys(p.Secrets)) {
		out.Secrets = append(out.Secrets, secretView(p.Slug, k, p.Secrets[k]))
	}
	return http.StatusOK, out, nil
}

func (s *Server) getSecret(r *http.Request) (int, any, error) {
	p, err := s.load(r)
	if err != nil {
		return 0, nil, err
	}
	key := r.PathValue("key")
	v, ok := p.Secrets[key]
	if !ok {
		return 0, nil, apiErr(http.StatusNotFound, api.CodeNotFound, "project %q has no secret %q", p.Slug, key)
	}
	return http.StatusOK, secretView(p.Slug, key, v), nil
}

func (s *Server) putSecret(r *http.Request) (int, any, error) {
	key, err := s.child(r, "key", "secret", keyRule)
	if err != nil {
		return 0, nil, err
	}
	var req api.SetSecretRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := api.ValidateSecretValue(key, req.Value, req.File); err != nil {
		return 0, nil, invalid(err)
	}
	var out api.Secret
	_, err = s.changeConfig(r, "secret "+key, func(p *store.Project) (bool, error) {
		if p.Secrets == nil {
			p.Secrets = map[string]*store.Secret{}
		}
		old, ok := p.Secrets[key]
		if ok {
			// Compare with the stored value so an unchanged write (every
			// terraform apply sends write-only values again) neither bumps
			// the version nor restarts the app.
			if cur, err := s.Sealer.Open(old.Sealed, reconcile.SecretContext(p.UID, key)); err == nil && bytes.Equal(cur, []byte(req.Value)) {
				if old.File != req.File { // same value, delivered the other way
					old.File, old.UpdatedAt = req.File, time.Now().UTC()
					out = secretView(p.Slug, key, old)
					return true, nil
				}
				out = secretView(p.Slug, key, old)
				return false, nil
			}
		}
		sealed, err := s.Sealer.Seal([]byte(req.Value), reconcile.SecretContext(p.UID, key))
		if err != nil {
			return false, err
		}
		v := &store.Secret{Sealed: sealed, Version: 1, File: req.File, UpdatedAt: time.Now().UTC()}
		if ok {
			v.Version = old.Version + 1
		}
		p.Secrets[key] = v
		out = secretView(p.Slug, key, v)
		return true, nil
	})
	return http.StatusOK, out, err
}

func (s *Server) deleteSecret(r *http.Request) (int, any, error) {
	key := r.PathValue("key")
	_, err := s.changeConfig(r, "secret "+key, func(p *store.Project) (bool, error) {
		if _, ok := p.Secrets[key]; !ok {
			return false, errChildNotFound
		}
		delete(p.Secrets, key)
		return true, nil
	})
	return http.StatusNoContent, nil, err
}

// --- connections

func connView(slug, name string, c *store.Connection) api.Connection {
	return api.Connection{
		ProjectID: slug, Name: name, Type: c.Type, Host: c.Host, Port: c.Port, Login: c.Login,
		Schema: c.Schema, Extra: c.Extra, HasPassword: len(c.PasswordSealed) > 0,
		PasswordVersion: c.PasswordVersion, UpdatedAt: c.UpdatedAt,
	}
}

func (s *Server) listConnections(r *http.Request) (int, any, error) {
	p, err := s.load(r)
	if err != nil {
		return 0, nil, err
	}
	out := api.ConnectionList{Connections: []api.Connection{}}
	for _, k := range slices.Sorted(maps.Keys(p.Connections)) {
		out.Connections = append(out.Connections, connView(p.Slug, k, p.Connections[k]))
	}
	return http.StatusOK, out, nil
}

func (s *Server) getConnection(r *http.Request) (int, any, error) {
	p, err := s.load(r)
	if err != nil {
		return 0, nil, err
	}
	name := r.PathValue("name")
	c, ok := p.Connections[name]
	if !ok {
		return 0, nil, apiErr(http.StatusNotFound, api.CodeNotFound, "project %q has no connection %q", p.Slug, name)
	}
	return http.StatusOK, connView(p.Slug, name, c), nil
}

func (s *Server) putConnection(r *http.Request) (int, any, error) {
	name, err := s.child(r, "name", "connection", api.ValidateConnectionName)
	if err != nil {
		return 0, nil, err
	}
	var req api.SetConnectionRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	if err := req.Validate(); err != nil {
		return 0, nil, invalid(err)
	}
	var out api.Connection
	_, err = s.changeConfig(r, "connection "+name, func(p *store.Project) (bool, error) {
		if p.Connections == nil {
			p.Connections = map[string]*store.Connection{}
		}
		old := p.Connections[name]
		next := &store.Connection{Type: req.Type, Host: req.Host, Port: req.Port, Login: req.Login, Schema: req.Schema, Extra: req.Extra, UpdatedAt: time.Now().UTC()}
		pwChanged := true
		if old != nil {
			next.PasswordVersion = old.PasswordVersion
			if len(old.PasswordSealed) == 0 && req.Password == "" {
				pwChanged = false
			} else if cur, err := s.Sealer.Open(old.PasswordSealed, reconcile.PasswordContext(p.UID, name)); err == nil && len(old.PasswordSealed) > 0 && string(cur) == req.Password {
				pwChanged = false
				next.PasswordSealed = old.PasswordSealed
			}
		} else if req.Password == "" {
			pwChanged = false
		}
		if pwChanged {
			next.PasswordVersion++
			if req.Password != "" {
				sealed, err := s.Sealer.Seal([]byte(req.Password), reconcile.PasswordContext(p.UID, name))
				if err != nil {
					return false, err
				}
				next.PasswordSealed = sealed
			}
		}
		changed := pwChanged || old == nil || !sameConn(old, next)
		if !changed {
			next = old
		}
		p.Connections[name] = next
		out = connView(p.Slug, name, next)
		return changed, nil
	})
	return http.StatusOK, out, err
}

func sameConn(a, b *store.Connection) bool {
	if a.Type != b.Type || a.Host != b.Host || a.Port != b.Port || a.Login != b.Login || a.Schema != b.Schema || len(a.Extra) != len(b.Extra) {
		return false
	}
	for k, v := range a.Extra {
		if w, ok := b.Extra[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (s *Server) deleteConnection(r *http.Request) (int, any, error) {
	name := r.PathValue("name")
	_, err := s.changeConfig(r, "connection "+name, func(p *store.Project) (bool, error) {
		if _, ok := p.Connections[name]; !ok {
			return false, errChildNotFound
		}
		delete(p.Connections, name)
		return true, nil
	})
	return http.StatusNoContent, nil, err
}
