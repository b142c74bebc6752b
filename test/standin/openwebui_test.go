package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type owuiClient struct {
	t   *testing.T
	url string
}

// do sends a JSON request and decodes the JSON answer.
func (c owuiClient) do(method, path, token string, body any) (int, any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		c.t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

func field(v any, k string) any {
	m, _ := v.(map[string]any)
	return m[k]
}

func newOWUI(t *testing.T, dataDir, key string, pip bool) (owuiClient, *openWebUIServer) {
	t.Helper()
	s, err := newOpenWebUIServer(&openWebUIConfig{Port: 8080, DataDir: dataDir, SecretKey: key, PipInstall: pip, EnableSignup: true}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return owuiClient{t, srv.URL}, s
}

const toolSrc = `"""
title: Weather
requirements: requests, pytz
"""

class Tools:
    def now(self) -> str:
        return "now"
`

const pipeSrc = `"""
title: Echo pipe
"""

class Pipe:
    def pipe(self, body):
        return body
`

func TestOpenWebUIAdminAPI(t *testing.T) {
	data := t.TempDir()
	c, _ := newOWUI(t, data, "secret-1", false)

	if code, body := c.do("GET", "/health", "", nil); code != 200 || field(body, "status") != true {
		t.Fatalf("health: %d %v", code, body)
	}
	if code, body := c.do("GET", "/api/v1/tools/", "", nil); code != 403 || field(body, "detail") != "Not authenticated" {
		t.Errorf("anonymous tools: %d %v", code, body)
	}
	if code, body := c.do("GET", "/api/v1/tools/", "garbage", nil); code != 401 {
		t.Errorf("garbage token: %d %v", code, body)
	}

	code, admin := c.do("POST", "/api/v1/auths/signup", "", map[string]string{"name": "Admin", "email": "Admin@Example.com", "password": "pw-1"})
	if code != 200 || field(admin, "role") != "admin" || field(admin, "token") == "" || field(admin, "email") != "admin@example.com" {
		t.Fatalf("first signup: %d %v", code, admin)
	}
	token := field(admin, "token").(string)
	if code, _ := c.do("POST", "/api/v1/auths/signup", "", map[string]string{"name": "X", "email": "admin@example.com", "password": "x"}); code != 400 {
		t.Errorf("duplicate email: %d", code)
	}
	code, user := c.do("POST", "/api/v1/auths/signup", "", map[string]string{"name": "U", "email": "u@example.com", "password": "pw-2"})
	if code != 200 || field(user, "role") != "pending" {
		t.Fatalf("second signup: %d %v", code, user)
	}
	if code, body := c.do("GET", "/api/v1/functions/", field(user, "token").(string), nil); code != 401 || field(body, "detail") != owuiAccessProhibited {
		t.Errorf("non-admin: %d %v", code, body)
	}
	if code, body := c.do("POST", "/api/v1/auths/signin", "", map[string]string{"email": "admin@example.com", "password": "nope"}); code != 400 || field(body, "detail") != owuiInvalidCred {
		t.Errorf("bad signin: %d %v", code, body)
	}
	if code, body := c.do("POST", "/api/v1/auths/signin", "", map[string]string{"email": "admin@example.com", "password": "pw-1"}); code != 200 || field(body, "role") != "admin" {
		t.Errorf("signin: %d %v", code, body)
	}

	// Tools.
	form := map[string]any{"id": "weather", "name": "Weather", "content": toolSrc, "meta": map[string]any{"description": "d"}}
	if code, body := c.do("POST", "/api/v1/tools/create", token, form); code != 200 || field(body, "id") != "weather" {
		t.Fatalf("create tool: %d %v", code, body)
	}
	if code, body := c.do("POST", "/api/v1/tools/create", token, form); code != 400 || field(body, "detail") != owuiIDTaken {
		t.Errorf("create twice: %d %v", code, body)
	}
	if code, body := c.do("POST", "/api/v1/tools/create", token, map[string]any{"id": "bad-id", "name": "x", "content": toolSrc, "meta": map[string]any{}}); code != 400 || field(body, "detail") != owuiBadID {
		t.Errorf("bad id: %d %v", code, body)
	}
	if code, body := c.do("POST", "/api/v1/tools/create", token, map[string]any{"id": "empty", "name": "x", "content": "x = 1\n", "meta": map[string]any{}}); code != 400 || !strings.Contains(field(body, "detail").(string), "No Tools class") {
		t.Errorf("no Tools class: %d %v", code, body)
	}
	code, list := c.do("GET", "/api/v1/tools/", token, nil)
	items, _ := list.([]any)
	if code != 200 || len(items) != 1 || field(items[0], "content") != nil || field(items[0], "name") != "Weather" {
		t.Errorf("list: %d %v", code, list)
	}
	code, one := c.do("GET", "/api/v1/tools/id/weather", token, nil)
	if code != 200 || field(one, "content") != toolSrc {
		t.Errorf("get: %d %v", code, one)
	}
	if manifest, _ := field(field(one, "meta"), "manifest").(map[string]any); manifest["requirements"] != "requests, pytz" || field(field(one, "meta"), "description") != "d" {
		t.Errorf("meta: %v", field(one, "meta"))
	}
	form["content"] = toolSrc + "# v2\n"
	if code, body := c.do("POST", "/api/v1/tools/id/weather/update", token, form); code != 200 || !strings.Contains(field(body, "content").(string), "# v2") {
		t.Errorf("update: %d %v", code, body)
	}
	if code, body := c.do("GET", "/api/v1/tools/id/nope", token, nil); code != 401 || field(body, "detail") != owuiNotFound {
		t.Errorf("missing tool: %d %v", code, body)
	}

	// Functions.
	fform := map[string]any{"id": "echo", "name": "Echo", "content": pipeSrc, "meta": map[string]any{"description": "e"}}
	code, fn := c.do("POST", "/api/v1/functions/create", token, fform)
	if code != 200 || field(fn, "type") != "pipe" || field(fn, "is_active") != false || field(fn, "is_global") != false {
		t.Fatalf("create function: %d %v", code, fn)
	}
	if code, body := c.do("POST", "/api/v1/functions/create", token, map[string]any{"id": "x", "name": "x", "content": "x = 1", "meta": map[string]any{}}); code != 400 || !strings.Contains(field(body, "detail").(string), "No Function class") {
		t.Errorf("no Function class: %d %v", code, body)
	}
	if code, body := c.do("POST", "/api/v1/functions/id/echo/toggle", token, nil); code != 200 || field(body, "is_active") != true {
		t.Errorf("toggle: %d %v", code, body)
	}
	if code, body := c.do("POST", "/api/v1/functions/id/echo/toggle/global", token, nil); code != 200 || field(body, "is_global") != true {
		t.Errorf("toggle global: %d %v", code, body)
	}
	if code, body := c.do("POST", "/api/v1/functions/id/nope/toggle", token, nil); code != 401 {
		t.Errorf("toggle missing: %d %v", code, body)
	}
	if code, body := c.do("GET", "/api/v1/functions/", token, nil); code != 200 || len(body.([]any)) != 1 || field(body.([]any)[0], "is_active") != true {
		t.Errorf("functions list: %d %v", code, body)
	}

	// API keys work as bearer tokens.
	code, key := c.do("POST", "/api/v1/auths/api_key", token, nil)
	apiKey, _ := field(key, "api_key").(string)
	if code != 200 || !strings.HasPrefix(apiKey, "sk-") {
		t.Fatalf("api key: %d %v", code, key)
	}
	if code, _ := c.do("GET", "/api/v1/functions/export", apiKey, nil); code != 200 {
		t.Errorf("export with api key: %d", code)
	}

	// Every /api/ call is recorded.
	code, calls := c.do("GET", "/_standin/calls", "", nil)
	all, _ := calls.([]any)
	var creates, apiKeyCalls int
	for _, x := range all {
		if field(x, "path") == "/api/v1/tools/create" && field(x, "method") == "POST" {
			creates++
		}
		if field(x, "auth") == "api_key" {
			apiKeyCalls++
		}
	}
	if code != 200 || creates != 4 || apiKeyCalls != 1 || field(all[0], "path") != "/api/v1/tools/" || field(all[0], "status") != float64(403) {
		t.Errorf("calls: %d creates=%d api_key=%d %v", code, creates, apiKeyCalls, calls)
	}

	// Restart on the same data directory and key: everything is there.
	c2, _ := newOWUI(t, data, "secret-1", false)
	if code, body := c2.do("GET", "/api/v1/tools/id/weather", token, nil); code != 200 || !strings.Contains(field(body, "content").(string), "# v2") {
		t.Errorf("after restart: %d %v", code, body)
	}
	if code, _ := c2.do("POST", "/api/v1/auths/signin", "", map[string]string{"email": "admin@example.com", "password": "pw-1"}); code != 200 {
		t.Errorf("signin after restart: %d", code)
	}
	if _, calls := c2.do("GET", "/_standin/calls", "", nil); len(calls.([]any)) <= len(all) {
		t.Errorf("calls not kept across restarts: %d", len(calls.([]any)))
	}
	// A new secret key invalidates the sessions.
	c3, _ := newOWUI(t, data, "secret-2", false)
	if code, _ := c3.do("GET", "/api/v1/tools/", token, nil); code != 401 {
		t.Errorf("old token with a new key: %d", code)
	}
	if code, _ := c3.do("GET", "/api/v1/tools/", apiKey, nil); code != 200 {
		t.Errorf("api key with a new key: %d", code)
	}

	if code, body := c.do("DELETE", "/api/v1/tools/id/weather/delete", token, nil); code != 200 || body != true {
		t.Errorf("delete: %d %v", code, body)
	}
	if code, body := c.do("DELETE", "/api/v1/functions/id/nope/delete", token, nil); code != 200 || body != false {
		t.Errorf("delete missing function: %d %v", code, body)
	}
	if code, body := c.do("DELETE", "/_standin/calls", "", nil); code != 200 || len(body.([]any)) != 0 {
		t.Errorf("reset calls: %d %v", code, body)
	}
}

func TestOpenWebUIRoutes(t *testing.T) {
	c, _ := newOWUI(t, t.TempDir(), "k", true)
	for path, want := range map[string]int{
		"/": 200, "/health": 200, "/health/db": 200, "/api/config": 200, "/api/version": 200, "/_app/x.js": 200,
		"/_standin/info": 200, "/_standin/calls": 200,
		"/chat/health": 404, "/chat/": 404, "/chat/api/v1/tools/": 404, "/api/nope": 404,
	} {
		if code, _ := get(t, c.url+path); code != want {
			t.Errorf("GET %s = %d, want %d", path, code, want)
		}
	}
	if code, body := c.do("GET", "/api/config", "", nil); code != 200 || field(body, "onboarding") != true {
		t.Errorf("config: %v", body)
	}

	// With front-matter installs enabled (the real default), loading a
	// plugin "pip installs" its requirements; the agent turns that off.
	_, admin := c.do("POST", "/api/v1/auths/signup", "", map[string]string{"name": "A", "email": "a@b.c", "password": "p"})
	c.do("POST", "/api/v1/tools/create", field(admin, "token").(string), map[string]any{"id": "w", "name": "W", "content": toolSrc, "meta": map[string]any{}})
	_, info := c.do("GET", "/_standin/info", "", nil)
	if pi, _ := field(info, "pip_installs").([]any); len(pi) != 1 || !strings.Contains(pi[0].(string), "requests, pytz") {
		t.Errorf("pip installs: %v", field(info, "pip_installs"))
	}
	if contents, _ := field(info, "data_dir_contents").([]any); len(contents) == 0 {
		t.Errorf("data dir contents: %v", field(info, "data_dir_contents"))
	}
}

func TestOpenWebUIDataDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := newOpenWebUIServer(&openWebUIConfig{DataDir: file + "/data"}, io.Discard); err == nil {
		t.Error("unusable DATA_DIR accepted")
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"open-webui"}, 2},
		{[]string{"open-webui", "bogus"}, 2},
		{[]string{"open-webui", "--version"}, 0},
		{[]string{"standin", "open-webui", "serve", "--workers", "2"}, 2},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != c.code {
			t.Errorf("%q: %d %q %q", c.args, code, out.String(), errb.String())
		}
	}
}

func TestFrontmatter(t *testing.T) {
	fm := frontmatter("\n'''\ntitle: X\nrequirements: a,b\nnot a pair\n'''\nclass Tools: pass\n")
	if fm["title"] != "X" || fm["requirements"] != "a,b" || len(fm) != 2 {
		t.Errorf("frontmatter = %v", fm)
	}
	if len(frontmatter("import os\n")) != 0 {
		t.Error("frontmatter without a docstring")
	}
}
