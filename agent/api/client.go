package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	Endpoint  string        // e.g. https://apps-host:7788
	Token     string        // bearer token
	CACertPEM string        // optional extra CA for the agent's TLS certificate
	Timeout   time.Duration // per request; default 30s
	RetryMax  int           // retries on connection errors and 5xx/429; 0 means the default (4), negative means none
	UserAgent string
	// Logger receives one debug line per request (method, URL, status); never bodies.
	Logger retryablehttp.LeveledLogger
}

// Client talks to one runtime-agent.
type Client struct {
	base  *url.URL
	token string
	ua    string
	http  *retryablehttp.Client
}

// NewClient builds a client. It does not contact the agent.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("endpoint is empty: set it to the agent's address, such as https://apps-host:7788")
	}
	base, err := url.Parse(strings.TrimRight(cfg.Endpoint, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL: use the agent's address, such as https://apps-host:7788", cfg.Endpoint)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	switch {
	case cfg.RetryMax == 0:
		cfg.RetryMax = 4
	case cfg.RetryMax < 0:
		cfg.RetryMax = 0
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "runtime-agent-client"
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CACertPEM != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(cfg.CACertPEM)) {
			return nil, errors.New("ca_cert_pem holds no PEM certificate")
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Transport: transport, Timeout: cfg.Timeout}
	rc.RetryMax = cfg.RetryMax
	rc.RetryWaitMin = 200 * time.Millisecond
	rc.RetryWaitMax = 3 * time.Second
	rc.Logger = cfg.Logger
	if l := cfg.Logger; l != nil {
		// One line per answer: method, URL and status, never bodies (they
		// can carry secret values on their way in).
		rc.ResponseLogHook = func(_ retryablehttp.Logger, resp *http.Response) {
			l.Debug("agent answered", "method", resp.Request.Method, "url", resp.Request.URL.Redacted(), "status", resp.StatusCode)
		}
	}
	// Turn the final failure into the agent's own error instead of
	// retryablehttp's "giving up after N attempts" wrapper.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &Client{base: base, token: cfg.Token, ua: cfg.UserAgent, http: rc}, nil
}

// do sends a request and decodes a JSON answer into out (when non-nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	data, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decoding the agent's answer to %s %s: %w", method, path, err)
		}
	}
	return nil
}

// send sends a request and returns the answer's body, or the agent's error.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) ([]byte, error) {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach runtime-agent at %s: %w", c.base.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the agent's answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		var eb ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error != nil && eb.Error.Code != "" {
			eb.Error.Status = resp.StatusCode
			return nil, eb.Error
		}
		return nil, &Error{Status: resp.StatusCode, Code: codeForStatus(resp.StatusCode),
			Message: fmt.Sprintf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))}
	}
	return data, nil
}

func codeForStatus(s int) string {
	switch s {
	case http.StatusBadRequest:
		return CodeInvalid
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodeTooLarge
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	return CodeInternal
}

func projectPath(slug string, rest ...string) string {
	p := "/v1/projects/" + url.PathEscape(slug)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// Health calls /healthz.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	return &h, c.do(ctx, http.MethodGet, "/healthz", nil, nil, &h)
}

// Environments lists the environments the agent knows.
func (c *Client) Environments(ctx context.Context) (map[string]string, error) {
	var e Environments
	err := c.do(ctx, http.MethodGet, "/v1/environments", nil, nil, &e)
	return e.Environments, err
}

// ListProjects lists every project.
func (c *Client) ListProjects(ctx context.Context) ([]Project, error) {
	var l ProjectList
	err := c.do(ctx, http.MethodGet, "/v1/projects", nil, nil, &l)
	return l.Projects, err
}

// CreateProject creates a project and its deploy key.
func (c *Client) CreateProject(ctx context.Context, req CreateProjectRequest) (*Project, error) {
	var p Project
	return &p, c.do(ctx, http.MethodPost, "/v1/projects", nil, req, &p)
}

// GetProject reads a project by slug.
func (c *Client) GetProject(ctx context.Context, slug string) (*Project, error) {
	var p Project
	return &p, c.do(ctx, http.MethodGet, projectPath(slug), nil, nil, &p)
}

// UpdateProject changes name, environment or path of a stopped project.
func (c *Client) UpdateProject(ctx context.Context, slug string, req UpdateProjectRequest) (*Project, error) {
	var p Project
	return &p, c.do(ctx, http.MethodPatch, projectPath(slug), nil, req, &p)
}

// DeleteProject deletes a project, its app and its data.
func (c *Client) DeleteProject(ctx context.Context, slug string) error {
	return c.do(ctx, http.MethodDelete, projectPath(slug), nil, nil, nil)
}

// GetDeployKey reads the public half of the project's deploy key.
func (c *Client) GetDeployKey(ctx context.Context, slug string) (*DeployKey, error) {
	var k DeployKey
	return &k, c.do(ctx, http.MethodGet, projectPath(slug, "deploy-key"), nil, nil, &k)
}

// GetDeployment reads the desired and observed state of the project's app.
// With refresh, the agent also asks the git host for the branch head.
func (c *Client) GetDeployment(ctx context.Context, slug string, refresh bool) (*Deployment, error) {
	var q url.Values
	if refresh {
		q = url.Values{"refresh": {"true"}}
	}
	var d Deployment
	return &d, c.do(ctx, http.MethodGet, projectPath(slug, "deployment"), q, nil, &d)
}

// PutDeployment records a desired state; the agent acts on it in the
// background. Use WaitDeployment to wait for the result.
func (c *Client) PutDeployment(ctx context.Context, slug string, spec DeploymentSpec) (*Deployment, error) {
	var d Deployment
	return &d, c.do(ctx, http.MethodPut, projectPath(slug, "deployment"), nil, spec, &d)
}

// DeleteDeployment records that the app should be stopped and removed (the
// project stays). Wait for the returned generation with WaitDeployment.
func (c *Client) DeleteDeployment(ctx context.Context, slug string) (*Deployment, error) {
	var d Deployment
	return &d, c.do(ctx, http.MethodDelete, projectPath(slug, "deployment"), nil, nil, &d)
}

// Logs returns the last n lines of the app's log.
func (c *Client) Logs(ctx context.Context, slug string, n int) ([]string, error) {
	var l Logs
	err := c.do(ctx, http.MethodGet, projectPath(slug, "logs"), url.Values{"tail": {strconv.Itoa(n)}}, nil, &l)
	return l.Lines, err
}

// WaitDeployment polls until the agent has acted on generation gen (or a
// newer one), or ctx ends. It returns the last deployment read.
func (c *Client) WaitDeployment(ctx context.Context, slug string, gen int64) (*Deployment, error) {
	// Poll quickly at first (most changes settle within a second or two),
	// then back off to spare the agent during long deploys.
	delay := 100 * time.Millisecond
	for {
		d, err := c.GetDeployment(ctx, slug, false)
		if err != nil {
			return nil, err
		}
		if d.ObservedGeneration >= gen {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, fmt.Errorf("timed out waiting for the agent to finish deploying %q (still %s; the agent keeps working on it, and the next apply picks up where it is): %w", slug, d.Status, ctx.Err())
		case <-time.After(delay):
		}
		if delay < time.Second {
			delay += delay / 4
		}
	}
}

// SetVariable creates or replaces a variable.
func (c *Client) SetVariable(ctx context.Context, slug, key, value string) (*Variable, error) {
	var v Variable
	return &v, c.do(ctx, http.MethodPut, projectPath(slug, "variables", url.PathEscape(key)), nil, SetVariableRequest{Value: value}, &v)
}

// GetVariable reads a variable.
func (c *Client) GetVariable(ctx context.Context, slug, key string) (*Variable, error) {
	var v Variable
	return &v, c.do(ctx, http.MethodGet, projectPath(slug, "variables", url.PathEscape(key)), nil, nil, &v)
}

// DeleteVariable deletes a variable.
func (c *Client) DeleteVariable(ctx context.Context, slug, key string) error {
	return c.do(ctx, http.MethodDelete, projectPath(slug, "variables", url.PathEscape(key)), nil, nil, nil)
}

// SetSecret creates or replaces a secret. The value is never returned.
func (c *Client) SetSecret(ctx context.Context, slug, key string, req SetSecretRequest) (*Secret, error) {
	var s Secret
	return &s, c.do(ctx, http.MethodPut, projectPath(slug, "secrets", url.PathEscape(key)), nil, req, &s)
}

// GetSecret reads a secret's metadata (never its value).
func (c *Client) GetSecret(ctx context.Context, slug, key string) (*Secret, error) {
	var s Secret
	return &s, c.do(ctx, http.MethodGet, projectPath(slug, "secrets", url.PathEscape(key)), nil, nil, &s)
}

// DeleteSecret deletes a secret.
func (c *Client) DeleteSecret(ctx context.Context, slug, key string) error {
	return c.do(ctx, http.MethodDelete, projectPath(slug, "secrets", url.PathEscape(key)), nil, nil, nil)
}

// SetConnection creates or replaces a connection.
func (c *Client) SetConnection(ctx context.Context, slug, name string, req SetConnectionRequest) (*Connection, error) {
	var out Connection
	return &out, c.do(ctx, http.MethodPut, projectPath(slug, "connections", url.PathEscape(name)), nil, req, &out)
}

// GetConnection reads a connection (never its password).
func (c *Client) GetConnection(ctx context.Context, slug, name string) (*Connection, error) {
	var out Connection
	return &out, c.do(ctx, http.MethodGet, projectPath(slug, "connections", url.PathEscape(name)), nil, nil, &out)
}

// DeleteConnection deletes a connection.
func (c *Client) DeleteConnection(ctx context.Context, slug, name string) error {
	return c.do(ctx, http.MethodDelete, projectPath(slug, "connections", url.PathEscape(name)), nil, nil, nil)
}

// ListVariables, ListSecrets and ListConnections list a project's configuration.
func (c *Client) ListVariables(ctx context.Context, slug string) ([]Variable, error) {
	var l VariableList
	err := c.do(ctx, http.MethodGet, projectPath(slug, "variables"), nil, nil, &l)
	return l.Variables, err
}

func (c *Client) ListSecrets(ctx context.Context, slug string) ([]Secret, error) {
	var l SecretList
	err := c.do(ctx, http.MethodGet, projectPath(slug, "secrets"), nil, nil, &l)
	return l.Secrets, err
}

func (c *Client) ListConnections(ctx context.Context, slug string) ([]Connection, error) {
	var l ConnectionList
	err := c.do(ctx, http.MethodGet, projectPath(slug, "connections"), nil, nil, &l)
	return l.Connections, err
}

// Credentials returns the app's generated admin login (Airflow, Open WebUI).
func (c *Client) Credentials(ctx context.Context, slug string) (*Credentials, error) {
	var out Credentials
	return &out, c.do(ctx, http.MethodGet, projectPath(slug, "credentials"), nil, nil, &out)
}

// CheckProjectUpdate asks whether an update would deploy: the environment is
// known and the new path exists in the deployed commit. Nothing changes. The
// provider calls it before stopping a running app for an update, so a bad
// path does not take a working app down.
func (c *Client) CheckProjectUpdate(ctx context.Context, slug string, req UpdateProjectRequest) error {
	return c.do(ctx, http.MethodPost, projectPath(slug, "check-update"), nil, req, nil)
}

// BuildLog returns the output of the project's newest image build.
func (c *Client) BuildLog(ctx context.Context, slug string) (string, error) {
	data, err := c.send(ctx, http.MethodGet, projectPath(slug, "build-log"), nil, nil)
	return string(data), err
}
