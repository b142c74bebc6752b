package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestProxyRoutesByHostAndKeepsPath(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "host="+r.Host+" path="+r.URL.Path)
	}))
	defer app.Close()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(app.URL, "http://"))
	running := true
	p := New("apps.test", func(_ context.Context, id string) (string, bool) {
		if id != "c1" {
			t.Errorf("resolved container %q", id)
		}
		return host, running
	}, hclog.NewNullLogger())
	p.Set("sales", Route{UID: "u1", ContainerID: "c1", Port: port})
	front := httptest.NewServer(p)
	defer front.Close()

	get := func(host, path string) (int, string) {
		req, _ := http.NewRequest("GET", front.URL+path, nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("sales.apps.test:8080", "/a/b"); code != 200 || body != "host=sales.apps.test:8080 path=/a/b" {
		t.Fatalf("routed request = %d %q", code, body)
	}
	if code, _ := get("other.apps.test", "/"); code != http.StatusNotFound {
		t.Fatalf("unknown slug = %d", code)
	}
	if code, _ := get("example.com", "/"); code != http.StatusNotFound {
		t.Fatalf("foreign host = %d", code)
	}
	// A container stopped behind the agent's back is not served: its IP may
	// belong to another app by now.
	running = false
	time.Sleep(resolveTTL + 100*time.Millisecond)
	if code, body := get("sales.apps.test", "/"); code != http.StatusServiceUnavailable || !strings.Contains(body, "not running") {
		t.Fatalf("stopped container = %d %q", code, body)
	}
	running = true
	time.Sleep(resolveTTL + 100*time.Millisecond)

	// A route set by another incarnation is not removed by an old one.
	p.Unset("sales", "old-uid", "")
	if _, ok := p.Lookup("sales"); !ok {
		t.Fatal("route removed by a stale uid")
	}
	p.Unset("sales", "u1", "stopped by request")
	if code, body := get("sales.apps.test", "/"); code != http.StatusServiceUnavailable || !strings.Contains(body, "stopped by request") {
		t.Fatalf("stopped app = %d %q", code, body)
	}
}

func TestProxyRoutesByPathPrefixOnTheDomain(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "path="+r.URL.Path)
	}))
	defer app.Close()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(app.URL, "http://"))
	p := New("apps.test", func(context.Context, string) (string, bool) { return host, true }, hclog.NewNullLogger())
	p.Set("sales", Route{UID: "u1", ContainerID: "c1", Port: port, Prefix: "/team/sales/"})
	p.Set("team", Route{UID: "u2", ContainerID: "c2", Port: port, Prefix: "/team/"})
	front := httptest.NewServer(p)
	defer front.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string, string) {
		req, _ := http.NewRequest("GET", front.URL+path, nil)
		req.Host = "apps.test:8080"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("Location")
	}
	if code, body, _ := get("/team/sales/_stcore/health"); code != 200 || body != "path=/team/sales/_stcore/health" {
		t.Fatalf("prefixed request = %d %q (the path must reach the app unchanged)", code, body)
	}
	if _, _, loc := get("/team/sales"); loc != "/team/sales/" {
		t.Fatalf("no trailing slash: redirect to %q", loc)
	}
	if code, _, _ := get("/other/"); code != http.StatusNotFound {
		t.Fatalf("unknown prefix = %d", code)
	}
}
