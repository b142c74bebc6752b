package runtime

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/network"
	"github.com/hashicorp/go-hclog"
)

func TestProbeHTTP(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", 503) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(bytes.Repeat([]byte("x"), 200<<10)) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	if status, body, err := ProbeHTTP(ctx, srv.URL+"/ok", time.Second); err != nil || status != 200 || string(body) != "ok" {
		t.Errorf("/ok = %d %q %v", status, body, err)
	}
	if status, body, err := ProbeHTTP(ctx, srv.URL+"/down", time.Second); err != nil || status != 503 || !strings.Contains(string(body), "nope") {
		t.Errorf("/down = %d %q %v", status, body, err)
	}
	if status, _, err := ProbeHTTP(ctx, srv.URL+"/redirect", time.Second); err != nil || status != http.StatusFound {
		t.Errorf("/redirect = %d %v; want 302, not followed", status, err)
	}
	if status, body, err := ProbeHTTP(ctx, srv.URL+"/big", time.Second); err != nil || status != 200 || len(body) != 64<<10 {
		t.Errorf("/big = %d, %d bytes, %v; want 64 KiB", status, len(body), err)
	}
	start := time.Now()
	if status, _, err := ProbeHTTP(ctx, srv.URL+"/slow", 300*time.Millisecond); err == nil || status != 0 {
		t.Errorf("/slow = %d %v; want a timeout", status, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %s", d)
	}

	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if status, _, err := ProbeHTTP(ctx, "http://"+addr+"/", time.Second); err == nil || status != 0 {
		t.Errorf("closed port = %d %v", status, err)
	}
	if _, _, err := ProbeHTTP(ctx, "::bad url", time.Second); err == nil {
		t.Error("bad URL accepted")
	}
}

func TestProbeHTTPIgnoresProxyEnv(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("http_proxy", "http://127.0.0.1:1")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	if status, _, err := ProbeHTTP(context.Background(), srv.URL, time.Second); err != nil || status != 200 {
		t.Errorf("probe with proxy env = %d %v", status, err)
	}
}

func TestEnvHash(t *testing.T) {
	a := envHash("sha256:1", map[string][]byte{"requirements.txt": []byte("a\n"), "uv.lock": []byte("b")})
	b := envHash("sha256:1", map[string][]byte{"uv.lock": []byte("b"), "requirements.txt": []byte("a\n")})
	if a != b || len(a) != 16 {
		t.Errorf("hash depends on map order or has wrong length: %q %q", a, b)
	}
	for _, other := range []string{
		envHash("sha256:2", map[string][]byte{"requirements.txt": []byte("a\n"), "uv.lock": []byte("b")}),
		envHash("sha256:1", map[string][]byte{"requirements.txt": []byte("a\n"), "uv.lock": []byte("c")}),
		envHash("sha256:1", map[string][]byte{"requirements.txt": []byte("a\n")}),
		// Moving bytes between name and content must not collide.
		envHash("sha256:1", map[string][]byte{"requirements.txta": []byte("\n"), "uv.lock": []byte("b")}),
	} {
		if other == a {
			t.Errorf("distinct inputs share hash %s", a)
		}
	}
}

func TestEnvBuildContext(t *testing.T) {
	df := envDockerfile(`python:3.12-slim`, "sha256:abc", "0123456789abcdef")
	for _, want := range []string{
		"FROM sha256:abc\n",
		`LABEL io.runtimeops.managed="true" io.runtimeops.env.hash="0123456789abcdef" io.runtimeops.env.base="python:3.12-slim"`,
		"COPY deps/ /opt/runtime/deps/\n",
		`RUN ["pip", "install", "--no-cache-dir", "-r", "/opt/runtime/deps/requirements.txt"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	buf, err := envBuildContext(df, map[string][]byte{"requirements.txt": []byte("x\n"), "b.txt": nil})
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(buf)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
	}
	if got["Dockerfile"] != df || got["deps/requirements.txt"] != "x\n" || len(got) != 4 {
		t.Errorf("context = %v", got)
	}
}

func TestDockerfileQuote(t *testing.T) {
	if got := dockerfileQuote(`a"b\c`); got != `"a\"b\\c"` {
		t.Errorf("quote = %s", got)
	}
}

func TestCheckDepFiles(t *testing.T) {
	if err := checkDepFiles(map[string][]byte{"requirements.txt": nil, "pyproject.toml": nil}); err != nil {
		t.Error(err)
	}
	for _, bad := range []map[string][]byte{
		{"pyproject.toml": nil},
		{"requirements.txt": nil, "a/b": nil},
		{"requirements.txt": nil, "..": nil},
		{"requirements.txt": nil, "": nil},
	} {
		if err := checkDepFiles(bad); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}

func TestReadBuildOutput(t *testing.T) {
	stream := `{"stream":"Step 1/3 : FROM x\n"}
{"stream":" ---\u003e abc\n"}
{"stream":"Collecting a"}{"stream":"\nCollecting b\n"}
{"status":"pulling"}
{"errorDetail":{"code":1,"message":"The command '/bin/sh' returned a non-zero code: 1"},"error":"The command '/bin/sh' returned a non-zero code: 1"}
`
	var lines []string
	msg, err := readBuildOutput(strings.NewReader(stream), func(l string) { lines = append(lines, l) })
	if err != nil {
		t.Fatal(err)
	}
	if msg != "The command '/bin/sh' returned a non-zero code: 1" {
		t.Errorf("error = %q", msg)
	}
	want := []string{"Step 1/3 : FROM x", " ---> abc", "Collecting a", "Collecting b", "pulling"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines = %q, want %q", lines, want)
	}
	if _, err := readBuildOutput(strings.NewReader(`{"stream":`), func(string) {}); err == nil {
		t.Error("truncated stream accepted")
	}

	tb := &tailBuffer{max: 3}
	for _, l := range []string{"1", "2", "3", "4", "5"} {
		tb.add(l)
	}
	if s := tb.suffix(); !strings.HasSuffix(s, "\n3\n4\n5") || !strings.Contains(s, "last 3 lines") {
		t.Errorf("suffix = %q", s)
	}
}

func TestStopTimeoutSeconds(t *testing.T) {
	if stopTimeoutSeconds(0) != nil {
		t.Error("0 should keep the container's default")
	}
	if s := stopTimeoutSeconds(1500 * time.Millisecond); s == nil || *s != 2 {
		t.Errorf("1.5s -> %v, want 2", s)
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.Network != "runtime-apps" || o.LogMaxSize != "10m" || o.LogMaxFile != "3" {
		t.Errorf("defaults = %+v", o)
	}
	if o := (Options{Network: "n", LogMaxSize: "1m", LogMaxFile: "9"}).withDefaults(); o.Network != "n" || o.LogMaxSize != "1m" || o.LogMaxFile != "9" {
		t.Errorf("explicit options changed: %+v", o)
	}
}

// fakeDocker implements the calls New makes; the embedded nil interface
// panics on anything else.
type fakeDocker struct {
	dockerAPI
	pingErr    error
	inspectErr error
	createErr  error
	created    []string
}

func (f *fakeDocker) Ping(context.Context) (types.Ping, error) { return types.Ping{}, f.pingErr }
func (f *fakeDocker) NetworkInspect(context.Context, string, network.InspectOptions) (network.Inspect, error) {
	if f.inspectErr != nil {
		return network.Inspect{}, f.inspectErr
	}
	return network.Inspect{Driver: "bridge"}, nil
}
func (f *fakeDocker) NetworkCreate(_ context.Context, name string, _ network.CreateOptions) (network.CreateResponse, error) {
	f.created = append(f.created, name)
	return network.CreateResponse{}, f.createErr
}

func TestNewNetwork(t *testing.T) {
	ctx := context.Background()
	log := hclog.NewNullLogger()

	f := &fakeDocker{inspectErr: cerrdefs.ErrNotFound}
	if _, err := newWithClient(ctx, log, f, Options{}); err != nil || len(f.created) != 1 || f.created[0] != "runtime-apps" {
		t.Errorf("missing network: err=%v created=%v", err, f.created)
	}
	f = &fakeDocker{}
	if _, err := newWithClient(ctx, log, f, Options{Network: "x"}); err != nil || len(f.created) != 0 {
		t.Errorf("existing network: err=%v created=%v", err, f.created)
	}
	// Lost a creation race: the network exists now, which is fine.
	f = &fakeDocker{inspectErr: cerrdefs.ErrNotFound, createErr: cerrdefs.ErrConflict}
	if _, err := newWithClient(ctx, log, f, Options{}); err != nil {
		t.Errorf("create conflict: %v", err)
	}
	f = &fakeDocker{inspectErr: cerrdefs.ErrNotFound, createErr: errors.New("boom")}
	if _, err := newWithClient(ctx, log, f, Options{}); err == nil || !strings.Contains(err.Error(), "create network runtime-apps: boom") {
		t.Errorf("create failure: %v", err)
	}
	f = &fakeDocker{pingErr: errors.New("refused")}
	if _, err := newWithClient(ctx, log, f, Options{}); err == nil || !strings.Contains(err.Error(), "connect to docker: refused") {
		t.Errorf("ping failure: %v", err)
	}
}

func TestIsNotFound(t *testing.T) {
	if !IsNotFound(errors.Join(errors.New("ctx"), cerrdefs.ErrNotFound)) || IsNotFound(errors.New("x")) || IsNotFound(nil) {
		t.Error("IsNotFound misclassifies")
	}
	err := &imageNotFoundError{image: "python:3.12-slim"}
	if !errors.Is(err, ErrImageNotFound) || IsNotFound(err) || err.Error() != "image python:3.12-slim not found on this host: pull or build it" {
		t.Errorf("image not found error: %v", err)
	}
}

func TestImageUID(t *testing.T) {
	for user, want := range map[string]int{"": 0, "root": 0, "0": 0, "1000": 1000, "1000:1000": 1000, "50000:0": 50000, "app": -1, "app:app": -1} {
		if got := imageUID(user); got != want {
			t.Errorf("imageUID(%q) = %d, want %d", user, got, want)
		}
	}
}
