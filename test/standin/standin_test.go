package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseStreamlitRun(t *testing.T) {
	env := map[string]string{"STREAMLIT_SERVER_PORT": "9000", "STREAMLIT_SERVER_BASE_URL_PATH": "from-env"}
	cfg, err := parseStreamlitRun([]string{
		"--server.headless=true", "app.py", "--server.port=8502", "--server.address", "0.0.0.0",
		"--server.baseUrlPath=/sales/", "--browser.gatherUsageStats=false",
		"--server.fileWatcherType=none", "--theme.base=dark", "extra", "--", "--x", "y",
	}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Script != "app.py" || cfg.Port != 8502 || cfg.Address != "0.0.0.0" || cfg.BasePath != "/sales" {
		t.Errorf("got script=%q port=%d address=%q base=%q", cfg.Script, cfg.Port, cfg.Address, cfg.BasePath)
	}
	if want := []string{"extra", "--x", "y"}; !reflect.DeepEqual(cfg.ScriptArgs, want) {
		t.Errorf("script args = %q, want %q", cfg.ScriptArgs, want)
	}
	for k, v := range map[string]string{"server.headless": "true", "browser.gatherUsageStats": "false", "server.fileWatcherType": "none", "theme.base": "dark"} {
		if cfg.Options[k] != v {
			t.Errorf("option %s = %q, want %q", k, cfg.Options[k], v)
		}
	}

	// Environment variables apply when no flag is given; defaults otherwise.
	cfg, err = parseStreamlitRun([]string{"app.py"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 9000 || cfg.BasePath != "/from-env" || cfg.Address != "" {
		t.Errorf("env config: port=%d base=%q address=%q", cfg.Port, cfg.BasePath, cfg.Address)
	}
	cfg, _ = parseStreamlitRun([]string{"app.py"}, func(string) string { return "" })
	if cfg.Port != 8501 || cfg.BasePath != "" {
		t.Errorf("defaults: port=%d base=%q", cfg.Port, cfg.BasePath)
	}

	if _, err := parseStreamlitRun([]string{"--server.port=nope", "a.py"}, os.Getenv); err == nil {
		t.Error("bad port accepted")
	}
	if _, err := parseStreamlitRun(nil, os.Getenv); err == nil {
		t.Error("missing script accepted")
	}
}

func TestReadSwitches(t *testing.T) {
	s := readSwitches("import streamlit\n# STANDIN_CRASH\n# STANDIN_UNHEALTHY\n# STANDIN_SLOW_START=2.5 seconds\n")
	if !s.Crash || !s.Unhealthy || s.SlowStart != 2500*time.Millisecond {
		t.Errorf("switches = %+v", s)
	}
	if s := readSwitches("print('hi')"); s != (scriptSwitches{}) {
		t.Errorf("plain script switches = %+v", s)
	}
}

func TestMissingScript(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"/usr/local/bin/streamlit", "run", "/no/such/app.py"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "Error: Invalid value: File does not exist: /no/such/app.py") {
		t.Errorf("code=%d stderr=%q", code, errb.String())
	}
}

func TestCrash(t *testing.T) {
	script := filepath.Join(t.TempDir(), "app.py")
	os.WriteFile(script, []byte("# STANDIN_CRASH\n"), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"streamlit", "run", script}, &out, &errb); code != 3 {
		t.Fatalf("code = %d", code)
	}
	if n := strings.Count(errb.String(), "\n"); n != 3 || !strings.Contains(errb.String(), "standin: crashing as asked") {
		t.Errorf("stderr (%d lines) = %q", n, errb.String())
	}
}

func TestMultiCall(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"/usr/local/bin/pip", "--version"}, 0, "pip 24"},
		{[]string{"python", "-c", "print(1)"}, 0, "stand-in python"},
		{[]string{"python3", "/app/x.py"}, 0, "stand-in python"},
		{[]string{"standin", "python", "--version"}, 0, "Python 3.12"},
		{[]string{"standin", "version"}, 0, "standin"},
		{[]string{"streamlit", "--version"}, 0, "Streamlit, version"},
		{[]string{"bash"}, 127, ""},
	} {
		var out, errb bytes.Buffer
		code := run(c.args, &out, &errb)
		if code != c.code || !strings.Contains(out.String(), c.out) {
			t.Errorf("%q: code=%d out=%q stderr=%q", c.args, code, out.String(), errb.String())
		}
	}
}

func TestPipInstall(t *testing.T) {
	dir := t.TempDir()
	old := installedFile
	installedFile = filepath.Join(dir, "opt", "standin", "installed.txt")
	t.Cleanup(func() { installedFile = old })

	req := filepath.Join(dir, "requirements.txt")
	os.WriteFile(req, []byte("pandas==2.2.3\n# comment\naltair"), 0o644)
	var out, errb bytes.Buffer
	code := run([]string{"pip", "install", "--no-cache-dir", "-q", "--index-url", "https://x/simple", "-r", req, "rich"}, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "Successfully installed (stand-in)") {
		t.Fatalf("code=%d out=%q err=%q", code, out.String(), errb.String())
	}
	got, _ := os.ReadFile(installedFile)
	if want := "pandas==2.2.3\n# comment\naltair\nrich\n"; string(got) != want {
		t.Errorf("installed = %q, want %q", got, want)
	}

	errb.Reset()
	if code := run([]string{"pip", "install", "-r", filepath.Join(dir, "missing.txt")}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "Could not open requirements file") {
		t.Errorf("missing file: code=%d err=%q", code, errb.String())
	}

	os.WriteFile(req, []byte("ok\nbroken-STANDIN_PIP_FAIL==1\n"), 0o644)
	errb.Reset()
	if code := run([]string{"pip", "install", "--requirement=" + req}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "No matching distribution found for broken-STANDIN_PIP_FAIL==1") {
		t.Errorf("fail marker: code=%d err=%q", code, errb.String())
	}
}

func newTestServer(t *testing.T, script string, base string, sw scriptSwitches) *httptest.Server {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.py")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &streamlitConfig{Script: path, Port: 8501, BasePath: base, Options: map[string]string{}}
	srv := httptest.NewServer(newStandinServer(cfg, script, sw))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRoutesUnderBasePath(t *testing.T) {
	srv := newTestServer(t, "st.title('MARKER-42')\n", "/sales", scriptSwitches{})
	for path, want := range map[string]int{
		"/sales/_stcore/health": 200, "/sales/healthz": 200, "/sales/": 200, "/sales": 200,
		"/_stcore/health": 404, "/": 404, "/sales/nope": 404,
	} {
		if code, _ := get(t, srv.URL+path); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
	if _, body := get(t, srv.URL+"/sales/"); !strings.Contains(body, "st.title('MARKER-42')") {
		t.Errorf("page lacks script: %q", body)
	}
	code, body := get(t, srv.URL+"/sales/_standin/info")
	var info standinInfo
	if code != 200 || json.Unmarshal([]byte(body), &info) != nil || !strings.Contains(info.ScriptContent, "MARKER-42") || info.PID == 0 {
		t.Errorf("info = %d %q", code, body)
	}
	if _, err := time.Parse(time.RFC3339Nano, info.StartedAt); err != nil {
		t.Errorf("started_at: %v", err)
	}
	if code, body := get(t, srv.URL+"/sales/_standin/file?path="+info.ScriptPath); code != 200 || !strings.Contains(body, "MARKER-42") {
		t.Errorf("file = %d %q", code, body)
	}
	if code, _ := get(t, srv.URL+"/sales/_standin/file?path=/no/such/file"); code != 404 {
		t.Errorf("missing file = %d", code)
	}
}

func TestUnhealthy(t *testing.T) {
	srv := newTestServer(t, "# STANDIN_UNHEALTHY\n", "", readSwitches("# STANDIN_UNHEALTHY\n"))
	if code, _ := get(t, srv.URL+"/_stcore/health"); code != 503 {
		t.Errorf("health = %d, want 503", code)
	}
}

func TestWebsocketEcho(t *testing.T) {
	srv := newTestServer(t, "x", "", scriptSwitches{})
	if code, _ := get(t, srv.URL+"/_stcore/stream"); code != 400 {
		t.Errorf("plain GET on stream = %d, want 400", code)
	}

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	keyb := make([]byte, 16)
	rand.Read(keyb)
	key := base64.StdEncoding.EncodeToString(keyb)
	io.WriteString(conn, "GET /_stcore/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit, xsrf\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != websocketAccept(key) || resp.Header.Get("Sec-WebSocket-Protocol") != "streamlit" {
		t.Fatalf("handshake: %d %v", resp.StatusCode, resp.Header)
	}

	for _, msg := range [][]byte{[]byte("hello"), bytes.Repeat([]byte("ab"), 300), bytes.Repeat([]byte("z"), 70000)} {
		writeMasked(t, conn, opText, msg)
		fin, op, payload, err := readFrame(br)
		if err != nil || !fin || op != opText || !bytes.Equal(payload, msg) {
			t.Fatalf("echo of %d bytes: fin=%v op=%d len=%d err=%v", len(msg), fin, op, len(payload), err)
		}
	}
	writeMasked(t, conn, opPing, []byte("p"))
	if _, op, payload, err := readFrame(br); err != nil || op != opPong || string(payload) != "p" {
		t.Fatalf("ping: op=%d payload=%q err=%v", op, payload, err)
	}
	writeMasked(t, conn, opClose, closePayload(1000))
	if _, op, _, err := readFrame(br); err != nil || op != opClose {
		t.Fatalf("close: op=%d err=%v", op, err)
	}
}

// writeMasked writes a client frame, which RFC 6455 requires to be masked.
func writeMasked(t *testing.T, w io.Writer, op byte, payload []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := writeFrame(&buf, true, op, payload); err != nil {
		t.Fatal(err)
	}
	frame := buf.Bytes()
	hdrLen := len(frame) - len(payload)
	mask := []byte{1, 2, 3, 4}
	out := append([]byte{}, frame[:hdrLen]...)
	out[1] |= 0x80
	out = append(out, mask...)
	for i, b := range payload {
		out = append(out, b^mask[i%4])
	}
	if _, err := w.Write(out); err != nil {
		t.Fatal(err)
	}
}
