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
