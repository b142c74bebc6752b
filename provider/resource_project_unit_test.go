package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// testProjectConfig renders a runtime_project "p" with the given attribute
// overrides (HCL expressions), on top of valid defaults.
func testProjectConfig(overrides map[string]string) string {
	attrs := map[string]string{
		"name":        `"Sales Dashboard"`,
		"app_type":    `"streamlit"`,
		"environment": `"python-3.12"`,
		"git_url":     `"git@github.com:acme/sales.git"`,
		"path":        `"src/app.py"`,
	}
	for k, v := range overrides {
		attrs[k] = v
	}
	s := "resource \"runtime_project\" \"p\" {\n"
	for _, k := range []string{"name", "slug", "app_type", "environment", "git_url", "branch", "path"} {
		if v, ok := attrs[k]; ok && v != "" {
			s += fmt.Sprintf("  %s = %s\n", k, v)
		}
	}
	return s + "}\n"
}

// Bad input fails at plan time, naming the attribute and the fix, before any
// agent is contacted.
func TestProjectResource_invalidInput(t *testing.T) {
	clearProviderEnv(t)
	step := func(attr, value string, want ...string) resource.TestStep {
		return resource.TestStep{
			Config:      testProviderConfigUnknownEndpoint + testProjectConfig(map[string]string{attr: value}),
			PlanOnly:    true,
			ExpectError: errorLike(want...),
		}
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			step("slug", `"Sales_Dashboard!"`, `slug = "Sales_Dashboard!"`, `slug "Sales_Dashboard!" is not valid: use 1-63 lowercase letters, digits and dashes`, `"sales-dashboard"`),
			step("path", `"../x"`, `path = "../x"`, `path "../x" leaves the repository: remove the ".." segments`),
			step("path", `""`, `path must name the app's entrypoint inside the repository, such as "src/app.py"`),
			step("branch", `"a..b"`, `branch = "a..b"`, `branch "a..b" is not a valid git branch name: it must not contain ".."`),
			step("git_url", `"github.com/acme/sales"`, `git_url "github.com/acme/sales" is not a repository URL: use "git@host:org/repo.git"`),
			step("git_url", `"https://user:pw@github.com/acme/sales.git"`, `git_url "https://user:xxxxx@github.com/acme/sales.git" embeds credentials`),
			step("app_type", `"php"`, `app_type = "php"`, `value must be one of`, `"streamlit"`),
			step("environment", `"python 3"`, `environment "python 3" is not valid`),
			step("name", `"!!!"`, `name "!!!" has no letters or digits to derive a slug from`),
		},
	})
}

// The environment is checked against the agent at plan time.
func TestProjectResource_unknownEnvironment(t *testing.T) {
	clearProviderEnv(t)
	srv := fakeAgent(t, "s3cret")
	provider := fmt.Sprintf("provider \"runtime\" {\n  endpoint = %q\n  token = \"s3cret\"\n}\n", srv.URL)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      provider + testProjectConfig(map[string]string{"environment": `"python-2.7"`}),
				PlanOnly:    true,
				ExpectError: errorLike(`Unknown Environment`, `environment = "python-2.7"`, `environment "python-2.7" is not known to the agent: use one of python-3.11, python-3.12`),
			},
			{
				Config:             provider + testProjectConfig(nil),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

// A malformed import ID is rejected before any agent call (the resource has
// no client at all here).
func TestProjectResource_importID(t *testing.T) {
	ctx := context.Background()
	r := &projectResource{}
	var sr fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sr)

	for _, tc := range []struct {
		id      string
		wantErr bool
	}{
		{"sales", false},
		{"sales-eu-2", false},
		{"Sales_Dashboard!", true},
		{"", true},
		{"sales/extra", true},
	} {
		resp := fwresource.ImportStateResponse{State: tfsdk.State{
			Schema: sr.Schema,
			Raw:    tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil),
		}}
		r.ImportState(ctx, fwresource.ImportStateRequest{ID: tc.id}, &resp)
		if got := resp.Diagnostics.HasError(); got != tc.wantErr {
			t.Errorf("import %q: error = %v, want %v (%v)", tc.id, got, tc.wantErr, resp.Diagnostics)
			continue
		}
		if tc.wantErr {
			continue
		}
		for _, attr := range []string{"id", "slug"} {
			var v types.String
			resp.State.GetAttribute(ctx, path.Root(attr), &v)
			if v.ValueString() != tc.id {
				t.Errorf("import %q: %s = %v", tc.id, attr, v)
			}
		}
	}
}

// The plan warns when an in-place update will restart a running app, and only then.
func TestProjectResource_restartWarning(t *testing.T) {
	ctx := context.Background()
	r := &projectResource{} // no client: the environment check is skipped
	var sr fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sr)

	state := projectResourceModel{
		ID: types.StringValue("sales"), Name: types.StringValue("Sales"), Slug: types.StringValue("sales"),
		AppType: types.StringValue("streamlit"), Environment: types.StringValue("python-3.12"),
		GitURL: types.StringValue("git@github.com:acme/sales.git"), Branch: types.StringValue("main"),
		Path: types.StringValue("app.py"), Status: types.StringValue("deployed"),
		DeployPublicKey: types.StringValue("ssh-ed25519 AAAA"), URL: types.StringValue("http://sales.localhost/"),
	}
	modifyPlan := func(state, plan projectResourceModel) fwresource.ModifyPlanResponse {
		t.Helper()
		st := tfsdk.State{Schema: sr.Schema}
		pl := tfsdk.Plan{Schema: sr.Schema}
		if d := st.Set(ctx, &state); d.HasError() {
			t.Fatal(d)
		}
		if d := pl.Set(ctx, &plan); d.HasError() {
			t.Fatal(d)
		}
		resp := fwresource.ModifyPlanResponse{Plan: pl}
		r.ModifyPlan(ctx, fwresource.ModifyPlanRequest{State: st, Plan: pl}, &resp)
		return resp
	}
	warnings := func(resp fwresource.ModifyPlanResponse) string {
		s := ""
		for _, d := range resp.Diagnostics.Warnings() {
			s += d.Summary() + ": " + d.Detail()
		}
		return s
	}

	plan := state
	plan.Path = types.StringValue("src/app.py")
	plan.Name = types.StringValue("Sales (EU)")
	plan.Status = types.StringUnknown()
	got := warnings(modifyPlan(state, plan))
	if !regexp.MustCompile(`Apply Will Restart The App: The plan changes name, path of project "sales" while its app is running.*stop the app, update the project and start the app again`).MatchString(got) {
		t.Errorf("warning = %q", got)
	}

	stopped := state
	stopped.Status = types.StringValue("stopped")
	if got := warnings(modifyPlan(stopped, plan)); got != "" {
		t.Errorf("stopped app: unexpected warning %q", got)
	}

	replace := plan
	replace.Branch = types.StringValue("dev")
	if got := warnings(modifyPlan(state, replace)); got != "" {
		t.Errorf("replacement: unexpected warning %q", got)
	}

	if got := warnings(modifyPlan(state, state)); got != "" {
		t.Errorf("no change: unexpected warning %q", got)
	}
}
