package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

func TestChildImport_parseChildID(t *testing.T) {
	for _, tc := range []struct {
		kind      childKind
		id        string
		slug, key string
		wantErr   string // part of the error; "" for success
	}{
		{variableKind, "sales/REGION", "sales", "REGION", ""},
		{variableKind, "sales-eu-2/_private_1", "sales-eu-2", "_private_1", ""},
		{secretKind, "sales/API_KEY", "sales", "API_KEY", ""},
		{connKind, "sales/warehouse", "sales", "warehouse", ""},
		{variableKind, "", "", "", "not of the form <project-slug>/<key>"},
		{variableKind, "sales", "", "", "not of the form <project-slug>/<key>"},
		{variableKind, "sales/", "", "", "not of the form"},
		{variableKind, "/REGION", "", "", "not of the form"},
		{variableKind, "sales/REGION/x", "", "", "not of the form"},
		{variableKind, "Sales/REGION", "", "", `slug "Sales" is not valid`},
		{variableKind, "sales/1BAD", "", "", `key "1BAD" is not a valid environment variable name`},
		{variableKind, "sales/A-B", "", "", `key "A-B" is not a valid environment variable name`},
		{secretKind, "sales/PORT", "", "", `key "PORT" is reserved`},
		{connKind, "sales/ware house", "", "", `name "ware house" is not a valid`},
		{connKind, "sales/warehouse", "sales", "warehouse", ""},
		{connKind, "sales/x/y", "", "", "<project-slug>/<name>"},
	} {
		slug, key, err := tc.kind.parseChildID(tc.id)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s %q: unexpected error %v", tc.kind.noun, tc.id, err)
		case tc.wantErr != "" && err == nil:
			t.Errorf("%s %q: no error, want %q", tc.kind.noun, tc.id, tc.wantErr)
		case tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr):
			t.Errorf("%s %q: error %q does not contain %q", tc.kind.noun, tc.id, err, tc.wantErr)
		case tc.wantErr != "" && !strings.Contains(err.Error(), "terraform import "+tc.kind.typeName+".example sales/"):
			t.Errorf("%s %q: error %q gives no example", tc.kind.noun, tc.id, err)
		case tc.wantErr == "" && (slug != tc.slug || key != tc.key):
			t.Errorf("%s %q: got %q, %q", tc.kind.noun, tc.id, slug, key)
		}
	}
}

// A malformed import id fails in ImportState, before the agent is asked
// anything; a good one sets id, project_id and the key, still without a call
// (Read does the rest).
func TestChildImport_malformedFailsBeforeClientCall(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	client, err := api.NewClient(api.ClientConfig{Endpoint: srv.URL, Token: "t", RetryMax: -1})
	if err != nil {
		t.Fatal(err)
	}
	data := &providerData{client: client}

	for _, tc := range []struct {
		r       fwresource.ResourceWithImportState
		keyAttr string
		good    string
	}{
		{&variableResource{data: data}, "key", "sales/REGION"},
		{&secretResource{data: data}, "key", "sales/API_KEY"},
		{&connectionResource{data: data}, "name", "sales/warehouse"},
	} {
		var sr fwresource.SchemaResponse
		tc.r.Schema(ctx, fwresource.SchemaRequest{}, &sr)
		var mr fwresource.MetadataResponse
		tc.r.Metadata(ctx, fwresource.MetadataRequest{ProviderTypeName: "runtime"}, &mr)
		newResp := func() *fwresource.ImportStateResponse {
			return &fwresource.ImportStateResponse{State: tfsdk.State{
				Schema: sr.Schema,
				Raw:    tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil),
			}}
		}
		for _, id := range []string{"", "sales", "sales/", "/KEY", "sales/a/b", "Sales/KEY", "sales/1BAD", "sales/A-B", "sales/PORT", "sales/STREAMLIT_SERVER_PORT", "sales//KEY"} {
			resp := newResp()
			tc.r.ImportState(ctx, fwresource.ImportStateRequest{ID: id}, resp)
			if !resp.Diagnostics.HasError() {
				t.Errorf("%s: import %q: no error", mr.TypeName, id)
				continue
			}
			if d := resp.Diagnostics.Errors()[0]; d.Summary() != "Invalid Import ID" || !strings.Contains(d.Detail(), "<project-slug>/<"+tc.keyAttr+">") {
				t.Errorf("%s: import %q: %s: %s", mr.TypeName, id, d.Summary(), d.Detail())
			}
		}
		resp := newResp()
		tc.r.ImportState(ctx, fwresource.ImportStateRequest{ID: tc.good}, resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("%s: import %q: %v", mr.TypeName, tc.good, resp.Diagnostics)
		}
		slug, key, _ := strings.Cut(tc.good, "/")
		for attr, want := range map[string]string{"id": tc.good, "project_id": slug, tc.keyAttr: key} {
			var v types.String
			resp.State.GetAttribute(ctx, path.Root(attr), &v)
			if v.ValueString() != want {
				t.Errorf("%s: import %q: %s = %v, want %q", mr.TypeName, tc.good, attr, v, want)
			}
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("import made %d calls to the agent, want none", n)
	}
}

func TestChildImport_versionDrifted(t *testing.T) {
	for _, tc := range []struct {
		current types.Int64
		written int64
		known   bool
		want    bool
	}{
		{types.Int64Value(3), 2, true, true},
		{types.Int64Value(2), 2, true, false},
		{types.Int64Value(0), 1, true, true}, // a password cleared outside Terraform
		{types.Int64Value(3), 0, false, false},
		{types.Int64Unknown(), 2, true, false},
		{types.Int64Null(), 2, true, false},
	} {
		if got := versionDrifted(tc.current, tc.written, tc.known); got != tc.want {
			t.Errorf("versionDrifted(%v, %d, %v) = %v, want %v", tc.current, tc.written, tc.known, got, tc.want)
		}
	}
}

// configAgent is an in-memory stand-in for the agent's configuration routes
// (variables, secrets, connections) of the projects it is given, for tests
// that need no Docker. It keeps the agent's rules that matter to the
// provider: versions move only when a value changes, reads never return
// secret values, children of unknown projects are not_found.
type configAgent struct {
	*httptest.Server
	mu       sync.Mutex
	projects map[string]*fakeProject
	// received records every secret value and password sent, to check
	// that write-only values do reach the agent.
	received []string
}

type fakeProject struct {
	variables   map[string]string
	secrets     map[string]*fakeSecret
	connections map[string]*fakeConn
}

type fakeSecret struct {
	value   string
	version int64
}

type fakeConn struct {
	api.Connection
	password string
}

func newConfigAgent(t *testing.T, projects ...string) *configAgent {
	t.Helper()
	a := &configAgent{projects: map[string]*fakeProject{}}
	for _, p := range projects {
		a.projects[p] = &fakeProject{variables: map[string]string{}, secrets: map[string]*fakeSecret{}, connections: map[string]*fakeConn{}}
	}
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if v != nil {
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	notFound := func(w http.ResponseWriter, format string, args ...any) {
		writeJSON(w, http.StatusNotFound, api.ErrorBody{Error: &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf(format, args...)}})
	}
	// handle runs fn with the project locked, or answers not_found.
	handle := func(fn func(w http.ResponseWriter, r *http.Request, p *fakeProject, slug, key string)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			a.mu.Lock()
			defer a.mu.Unlock()
			slug := r.PathValue("slug")
			p, ok := a.projects[slug]
			if !ok {
				notFound(w, "project %q does not exist", slug)
				return
			}
			fn(w, r, p, slug, r.PathValue("key"))
		}
	}
	decode := func(r *http.Request, v any) { _ = json.NewDecoder(r.Body).Decode(v) }
	mux := http.NewServeMux()

	// Lists, as the provider's refresh batches its reads.
	mux.HandleFunc("GET /v1/projects/{slug}/variables", handle(func(w http.ResponseWriter, _ *http.Request, p *fakeProject, slug, _ string) {
		l := api.VariableList{Variables: []api.Variable{}}
		for k, v := range p.variables {
			l.Variables = append(l.Variables, api.Variable{ProjectID: slug, Key: k, Value: v})
		}
		writeJSON(w, http.StatusOK, l)
	}))
	mux.HandleFunc("GET /v1/projects/{slug}/secrets", handle(func(w http.ResponseWriter, _ *http.Request, p *fakeProject, slug, _ string) {
		l := api.SecretList{Secrets: []api.Secret{}}
		for k, v := range p.secrets {
			l.Secrets = append(l.Secrets, api.Secret{ProjectID: slug, Key: k, Version: v.version})
		}
		writeJSON(w, http.StatusOK, l)
	}))
	mux.HandleFunc("GET /v1/projects/{slug}/connections", handle(func(w http.ResponseWriter, _ *http.Request, p *fakeProject, slug, _ string) {
		l := api.ConnectionList{Connections: []api.Connection{}}
		for _, c := range p.connections {
			l.Connections = append(l.Connections, c.Connection)
		}
		writeJSON(w, http.StatusOK, l)
	}))
	mux.HandleFunc("GET /v1/projects/{slug}/variables/{key}", handle(func(w http.ResponseWriter, _ *http.Request, p *fakeProject, slug, key string) {
		v, ok := p.variables[key]
		if !ok {
			notFound(w, "project %q has no variable %q", slug, key)
			return
		}
		writeJSON(w, http.StatusOK, api.Variable{ProjectID: slug, Key: key, Value: v, UpdatedAt: time.Now()})
	}))
	mux.HandleFunc("PUT /v1/projects/{slug}/variables/{key}", handle(func(w http.ResponseWriter, r *http.Request, p *fakeProject, slug, key string) {
		var in api.SetVariableRequest
		decode(r, &in)
		p.variables[key] = in.Value
		writeJSON(w, http.StatusOK, api.Variable{ProjectID: slug, Key: key, Value: in.Value, UpdatedAt: time.Now()})
	}))
	mux.HandleFunc("DELETE /v1/projects/{slug}/variables/{key}", handle(func(w http.ResponseWriter, _ *http.Request, p *fakeProject, slug, key string) {
		if _, ok := p.variables[key]; !ok {
			notFound(w, "project %q has no variable %q", slug, key)
			return
		}
		delete(p.variables, key)
		writeJSON(w, http.StatusNoContent, nil)
	}))

	mux.HandleFunc("GET /v1/projects/{slug}/secrets/{key}", handle(func(w http.ResponseWriter, _ *http.Request, p *fakeProject, slug, key string) {
		s, ok := p.secrets[key]
		if !ok {
			notFound(w, "project %q has no secret %q", slug, key)
			return
		}
		writeJSON(w, http.StatusOK, api.Secret{ProjectID: slug, Key: key, Version: s.version})
	}))
	mux.HandleFunc("PUT /v1/projects/{slug}/secrets/{key}", handle(func(w http.ResponseWriter, r *http.Request, p *fakeProject, slug, key string) {
		var in api.SetSecretRequest
		decode(r, &in)
		a.received = append(a.received, in.Value)
		s, ok := p.secrets[key]
		if !ok {
			s = &fakeSecret{}
			p.secrets[key] = s
		}
		if !ok || s.value != in.Value {
			s.value = in.Value
			s.version++
		}
		writeJSON(w, http.StatusOK, api.Secret{ProjectID: slug, Key: key, Version: s.version})
	}))
	mux.HandleFunc("DELETE /v1/projects/{slug}/secrets/{key}", handle(func(w http.ResponseWriter, _ *http.Request, p *fakeProject, slug, key string) {
		if _, ok := p.secrets[key]; !ok {
			notFound(w, "project %q has no secret %q", slug, key)
			return
		}
		delete(p.secrets, key)
		writeJSON(w, http.StatusNoContent, nil)
	}))

	mux.HandleFunc("GET /v1/projects/{slug}/connections/{key}", handle(func(w http.ResponseWriter, _ *http.Request, p *fakeProject, slug, key string) {
		c, ok := p.connections[key]
		if !ok {
			notFound(w, "project %q has no connection %q", slug, key)
			return
		}
		writeJSON(w, http.StatusOK, c.Connection)
	}))
	mux.HandleFunc("PUT /v1/projects/{slug}/connections/{key}", handle(func(w http.ResponseWriter, r *http.Request, p *fakeProject, slug, key string) {
		var in api.SetConnectionRequest
		decode(r, &in)
		if err := in.Validate(); err != nil {
			writeJSON(w, http.StatusBadRequest, api.ErrorBody{Error: &api.Error{Code: api.CodeInvalid, Message: err.Error()}})
			return
		}
		a.received = append(a.received, in.Password)
		p.connections[key] = a.putConn(p.connections[key], slug, key, in)
		writeJSON(w, http.StatusOK, p.connections[key].Connection)
	}))
	mux.HandleFunc("DELETE /v1/projects/{slug}/connections/{key}", handle(func(w http.ResponseWriter, _ *http.Request, p *fakeProject, slug, key string) {
		if _, ok := p.connections[key]; !ok {
			notFound(w, "project %q has no connection %q", slug, key)
			return
		}
		delete(p.connections, key)
		writeJSON(w, http.StatusNoContent, nil)
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(w, "%s not found", r.URL.Path) })
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

func (a *configAgent) putConn(old *fakeConn, slug, name string, in api.SetConnectionRequest) *fakeConn {
	c := &fakeConn{Connection: api.Connection{
		ProjectID: slug, Name: name, Type: in.Type, Host: in.Host, Port: in.Port, Login: in.Login,
		Schema: in.Schema, Extra: in.Extra, HasPassword: in.Password != "",
	}, password: in.Password}
	if old != nil {
		c.PasswordVersion = old.PasswordVersion
		if old.password != in.Password {
			c.PasswordVersion++
		}
	} else if in.Password != "" {
		c.PasswordVersion = 1
	}
	return c
}

// providerConfig is a provider block for this fake agent.
func (a *configAgent) providerConfig() string {
	return fmt.Sprintf("provider \"runtime\" {\n  endpoint = %q\n  token    = \"unit-test\"\n  retries  = 0\n}\n", a.URL)
}

// do runs fn on a project's data, as an out-of-band change would.
func (a *configAgent) do(slug string, fn func(p *fakeProject)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	fn(a.projects[slug])
}

func (a *configAgent) sent(value string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, v := range a.received {
		if v == value {
			return true
		}
	}
	return false
}
