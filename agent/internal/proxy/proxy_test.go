package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestProxyRoutesByHostAndKeepsPath(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "host="+r.Host+" path="+r.URL.Path)
	}))
	defer app.Close()
	p := New("apps.test", hclog.NewNullLogger())
	p.Set("sales", Route{UID: "u1", Addr: strings.TrimPrefix(app.URL, "http://")})
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
	if code, _ := get("other.apps.test", "/"); code != http.StatusBadGateway {
		t.Fatalf("unknown slug = %d", code)
	}
	if code, _ := get("example.com", "/"); code != http.StatusNotFound {
		t.Fatalf("foreign host = %d", code)
	}
	// A route set by another incarnation is not removed by an old one.
	p.Unset("sales", "old-uid", "")
	if _, ok := p.Lookup("sales"); !ok {
		t.Fatal("route removed by a stale uid")
	}
	p.Unset("sales", "u1", "stopped by request")
	if code, body := get("sales.apps.test", "/"); code != http.StatusBadGateway || !strings.Contains(body, "stopped by request") {
		t.Fatalf("stopped app = %d %q", code, body)
	}
}
