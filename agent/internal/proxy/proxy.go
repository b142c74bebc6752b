// Package proxy is the agent's reverse proxy for apps: it serves each running
// app at http://<slug>.<apps domain> and forwards to the app's container on
// the Docker network. Websocket upgrades pass through (Streamlit needs them);
// the request path is forwarded unchanged.
package proxy

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Route is where one app is served from.
type Route struct {
	UID         string // project incarnation that set the route
	ContainerID string // the container serving it
	Port        string // its port inside the container
	// Prefix ("/team/sales/"), when set, also serves the app at
	// http://<domain>/team/sales/ — forwarded unchanged, since the app was
	// told this base path.
	Prefix string
}

// Resolver returns the current address of a running container, or false
// when it is not running (stopped by hand, crashed, removed).
type Resolver func(ctx context.Context, containerID string) (ip string, running bool)

// resolveTTL bounds how long a container's address is trusted without
// asking Docker again. Docker hands a stopped container's IP to the next
// container started on the network, so a route must never outlive the
// container it was made for.
const resolveTTL = time.Second

type resolved struct {
	ip      string
	running bool
	at      time.Time
}

// Proxy routes requests by Host header.
type Proxy struct {
	domain  string
	log     hclog.Logger
	resolve Resolver

	// transport dials containers on the local Docker network: they answer
	// at once or not at all, so a short connect timeout turns a vanished
	// container into a quick error page instead of a hung request.
	transport *http.Transport

	mu     sync.RWMutex
	routes map[string]Route // slug → route
	down   map[string]string
	cache  map[string]resolved // container id → address
}

// New returns a proxy for <slug>.<domain>.
func New(domain string, resolve Resolver, log hclog.Logger) *Proxy {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext
	return &Proxy{domain: strings.ToLower(strings.TrimSuffix(domain, ".")), log: log, resolve: resolve, transport: t,
		routes: map[string]Route{}, down: map[string]string{}, cache: map[string]resolved{}}
}

// addr returns where to send a request for route r right now.
func (p *Proxy) addr(ctx context.Context, r Route) (string, bool) {
	p.mu.RLock()
	c, ok := p.cache[r.ContainerID]
	p.mu.RUnlock()
	if !ok || time.Since(c.at) > resolveTTL {
		ip, running := p.resolve(ctx, r.ContainerID)
		c = resolved{ip: ip, running: running && ip != "", at: time.Now()}
		p.mu.Lock()
		p.cache[r.ContainerID] = c
		p.mu.Unlock()
	}
	if !c.running {
		return "", false
	}
	return net.JoinHostPort(c.ip, r.Port), true
}

// Set points slug at addr.
func (p *Proxy) Set(slug string, r Route) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes[slug] = r
	delete(p.down, slug)
}

// Unset removes slug's route if it still belongs to uid (empty uid: any),
// remembering why the app is down for the error page.
func (p *Proxy) Unset(slug, uid, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.routes[slug]; ok && (uid == "" || r.UID == uid) {
		delete(p.routes, slug)
		delete(p.cache, r.ContainerID)
	}
	if why != "" {
		p.down[slug] = why
	} else {
		delete(p.down, slug)
	}
}

// Lookup returns slug's route.
func (p *Proxy) Lookup(slug string) (Route, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	r, ok := p.routes[slug]
	return r, ok
}

// isDomain reports whether host is the apps domain itself.
func (p *Proxy) isDomain(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(host, ".")) == p.domain
}

// slugOf extracts the slug from a Host header.
func (p *Proxy) slugOf(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	suffix := "." + p.domain
	if !strings.HasSuffix(host, suffix) {
		return ""
	}
	slug := strings.TrimSuffix(host, suffix)
	if strings.Contains(slug, ".") {
		return ""
	}
	return slug
}

// byPrefix finds the app whose path prefix starts path (longest first).
func (p *Proxy) byPrefix(path string) (string, string) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	best, bestSlug := "", ""
	for slug, r := range p.routes {
		if r.Prefix == "" || len(r.Prefix) <= len(best) {
			continue
		}
		if strings.HasPrefix(path, r.Prefix) || path == strings.TrimSuffix(r.Prefix, "/") {
			best, bestSlug = r.Prefix, slug
		}
	}
	return bestSlug, best
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	slug := p.slugOf(r.Host)
	if slug == "" && p.isDomain(r.Host) {
		var prefix string
		if slug, prefix = p.byPrefix(r.URL.Path); slug != "" && r.URL.Path == strings.TrimSuffix(prefix, "/") {
			http.Redirect(w, r, prefix, http.StatusPermanentRedirect)
			return
		}
	}
	if slug == "" {
		page(w, http.StatusNotFound, "No app here", fmt.Sprintf("Apps are served at http://&lt;slug&gt;.%s; %q is not such a name.", html.EscapeString(p.domain), r.Host))
		return
	}
	route, ok := p.Lookup(slug)
	if !ok {
		p.mu.RLock()
		why := p.down[slug]
		p.mu.RUnlock()
		code := http.StatusServiceUnavailable // the app exists but is not running
		if why == "" {
			why, code = "No running app has this name.", http.StatusNotFound
		}
		page(w, code, "App "+slug+" is not running", why)
		return
	}
	addr, running := p.addr(r.Context(), route)
	if !running {
		page(w, http.StatusServiceUnavailable, "App "+slug+" is not running", "Its container is not running; the next terraform apply starts it again.")
		return
	}
	p.log.Trace("forwarding", "slug", slug, "addr", addr)
	target := &url.URL{Scheme: "http", Host: addr}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // apps build absolute URLs from Host
			pr.SetXForwarded()
		},
		Transport: p.transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.log.Debug("app unreachable", "slug", slug, "error", err)
			// Ask Docker again on the next request: the container may be gone.
			p.mu.Lock()
			delete(p.cache, route.ContainerID)
			p.mu.Unlock()
			page(w, http.StatusBadGateway, "App "+slug+" is not answering", "The app's container did not answer; it may be starting or restarting.")
		},
	}
	rp.ServeHTTP(w, r)
}

func page(w http.ResponseWriter, code int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintf(w, "<!doctype html><title>%s</title><h1>%s</h1><p>%s</p>\n", html.EscapeString(title), html.EscapeString(title), msg)
}
