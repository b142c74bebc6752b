// Package openwebui talks to a running Open WebUI's admin API: it creates
// the agent's admin account on first start and upserts the tools and
// functions a project's repository carries. Paths follow Open WebUI's REST
// API (/api/v1/auths, /api/v1/tools, /api/v1/functions).
package openwebui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client is an admin session with one Open WebUI.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// Kinds of plugin Open WebUI stores.
const (
	Tools     = "tools"
	Functions = "functions"
)

// Plugin is one tool or function.
type Plugin struct {
	ID          string
	Name        string
	Content     string
	Description string
}

// SignIn signs in as the agent's admin, creating the account first when the
// instance has no users yet (Open WebUI makes the first user the admin).
func SignIn(ctx context.Context, base, email, password string) (*Client, error) {
	c := &Client{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	var out struct {
		Token string `json:"token"`
	}
	err := c.call(ctx, "POST", "/api/v1/auths/signin", map[string]string{"email": email, "password": password}, &out)
	if err != nil {
		serr := c.call(ctx, "POST", "/api/v1/auths/signup", map[string]string{"name": "runtime-agent", "email": email, "password": password}, &out)
		if serr != nil {
			return nil, fmt.Errorf("signing in as %s failed (%v) and creating the account failed too (%v): if someone else created the first (admin) account, give %s the admin role", email, err, serr, email)
		}
	}
	if out.Token == "" {
		return nil, fmt.Errorf("Open WebUI returned no token for %s", email)
	}
	c.token = out.Token
	return c, nil
}

// List returns the ids of the plugins of a kind.
func (c *Client) List(ctx context.Context, kind string) (map[string]bool, error) {
	var items []struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, "GET", "/api/v1/"+kind+"/", nil, &items); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, it := range items {
		out[it.ID] = true
	}
	return out, nil
}

// Upsert creates or updates a plugin; new functions are switched on.
func (c *Client) Upsert(ctx context.Context, kind string, p Plugin, exists bool) error {
	body := map[string]any{"id": p.ID, "name": p.Name, "content": p.Content, "meta": map[string]string{"description": p.Description}}
	if exists {
		return c.call(ctx, "POST", "/api/v1/"+kind+"/id/"+p.ID+"/update", body, nil)
	}
	if err := c.call(ctx, "POST", "/api/v1/"+kind+"/create", body, nil); err != nil {
		return err
	}
	if kind == Functions {
		return c.call(ctx, "POST", "/api/v1/functions/id/"+p.ID+"/toggle", nil, nil)
	}
	return nil
}

// Delete removes a plugin the agent synced before and the repository dropped.
func (c *Client) Delete(ctx context.Context, kind, id string) error {
	return c.call(ctx, "DELETE", "/api/v1/"+kind+"/id/"+id+"/delete", nil, nil)
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		// The body may echo what we sent (plugin code), never credentials:
		// only the status and Open WebUI's "detail" are reported.
		var e struct {
			Detail any `json:"detail"`
		}
		json.Unmarshal(data, &e)
		return fmt.Errorf("%s %s: HTTP %d %v", method, path, resp.StatusCode, e.Detail)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
