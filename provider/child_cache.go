package provider

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// childCache batches refreshes of variables, secrets and connections: a
// plan over 200 variables of one project reads them with one list request
// instead of 200. Entries live for one refresh (a couple of seconds) and are
// dropped whenever this provider writes to the project, so a read never
// returns something older than this process's own writes.
type childCache struct {
	mu      sync.Mutex
	entries map[string]*childEntry // kind + "/" + slug
}

const childCacheTTL = 2 * time.Second

type childEntry struct {
	ready chan struct{}
	at    time.Time
	err   error
	vars  map[string]api.Variable
	secs  map[string]api.Secret
	conns map[string]api.Connection
}

func (c *childCache) get(ctx context.Context, client *api.Client, kind, slug string) *childEntry {
	key := kind + "/" + slug
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]*childEntry{}
	}
	e, ok := c.entries[key]
	if ok && (time.Since(e.at) < childCacheTTL || e.at.IsZero()) {
		c.mu.Unlock()
		<-e.ready
		return e
	}
	e = &childEntry{ready: make(chan struct{})}
	c.entries[key] = e
	c.mu.Unlock()

	switch kind {
	case "variables":
		l, err := client.ListVariables(ctx, slug)
		e.err, e.vars = err, map[string]api.Variable{}
		for _, v := range l {
			e.vars[v.Key] = v
		}
	case "secrets":
		l, err := client.ListSecrets(ctx, slug)
		e.err, e.secs = err, map[string]api.Secret{}
		for _, v := range l {
			e.secs[v.Key] = v
		}
	case "connections":
		l, err := client.ListConnections(ctx, slug)
		e.err, e.conns = err, map[string]api.Connection{}
		for _, v := range l {
			e.conns[v.Name] = v
		}
	}
	c.mu.Lock()
	e.at = time.Now()
	if e.err != nil && !api.IsNotFound(e.err) {
		delete(c.entries, key) // do not remember transient failures
	}
	c.mu.Unlock()
	close(e.ready)
	return e
}

// forget drops what is cached for a project after this provider wrote to it.
func (c *childCache) forget(slug string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, kind := range []string{"variables", "secrets", "connections"} {
		delete(c.entries, kind+"/"+slug)
	}
}

func childNotFound(what, slug, key string) error {
	return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: "project " + slug + " has no " + what + " " + key}
}

// find looks key up in one kind of a project's cached list.
func find[T any](e *childEntry, items map[string]T, what, slug, key string) (*T, error) {
	if e.err != nil {
		return nil, e.err
	}
	v, ok := items[key]
	if !ok {
		return nil, childNotFound(what, slug, key)
	}
	return &v, nil
}

func (c *childCache) variable(ctx context.Context, client *api.Client, slug, key string) (*api.Variable, error) {
	e := c.get(ctx, client, "variables", slug)
	return find(e, e.vars, "variable", slug, key)
}

func (c *childCache) secret(ctx context.Context, client *api.Client, slug, key string) (*api.Secret, error) {
	e := c.get(ctx, client, "secrets", slug)
	return find(e, e.secs, "secret", slug, key)
}

func (c *childCache) connection(ctx context.Context, client *api.Client, slug, name string) (*api.Connection, error) {
	e := c.get(ctx, client, "connections", slug)
	return find(e, e.conns, "connection", slug, name)
}
