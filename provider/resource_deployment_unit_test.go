package provider

import (
	"context"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

func TestTriggersRevision(t *testing.T) {
	a := triggersRevision(map[string]string{"version": "1", "data": "abc", "z": ""})
	for i := 0; i < 20; i++ { // map iteration order varies between runs
		if b := triggersRevision(map[string]string{"z": "", "data": "abc", "version": "1"}); b != a {
			t.Fatalf("revision not stable: %q != %q", a, b)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a) {
		t.Fatalf("revision %q: want 32 hex digits", a)
	}
	for _, m := range []map[string]string{
		{"version": "2", "data": "abc", "z": ""},
		{"version": "1", "data": "abc"},
		{"version": "1", "data": "abc", "y": ""},
		// Keys and values must not run together: {"ab": "c"} != {"a": "bc"}.
		{"versio": "n1", "data": "abc", "z": ""},
	} {
		if triggersRevision(m) == a {
			t.Errorf("revision of %v equals the original's", m)
		}
	}
	if triggersRevision(nil) != "" || triggersRevision(map[string]string{}) != "" {
		t.Error("no triggers must give an empty revision")
	}

	ctx := context.Background()
	v := types.MapValueMust(types.StringType, map[string]attr.Value{"version": types.StringValue("1"), "data": types.StringValue("abc"), "z": types.StringValue("")})
	if got, _ := triggersRevisionOf(ctx, v); got != a {
		t.Errorf("triggersRevisionOf = %q, want %q", got, a)
	}
	if got, _ := triggersRevisionOf(ctx, types.MapNull(types.StringType)); got != "" {
		t.Errorf("triggersRevisionOf(null) = %q", got)
	}
}

func TestDeploymentResource_invalidInput(t *testing.T) {
	clearProviderEnv(t)
	cfg := func(body string) string {
		return testProviderConfigUnknownEndpoint + "resource \"runtime_deployment\" \"d\" {\n" + body + "\n}\n"
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      cfg(`project_id = "Sales_Dashboard!"`),
				PlanOnly:    true,
				ExpectError: errorLike(`project_id`, `slug "Sales_Dashboard!" is not valid`),
			},
			{
				Config:      cfg("project_id = \"sales\"\nstate = \"paused\""),
				PlanOnly:    true,
				ExpectError: errorLike(`state = "paused"`, `value must be one of: ["running" "stopped"]`),
			},
			{
				Config:      cfg("project_id = \"sales\"\ncommit = \"HEAD\""),
				PlanOnly:    true,
				ExpectError: errorLike(`commit "HEAD" is not a commit SHA: give 7 to 40 lowercase hex digits, or leave commit unset`),
			},
			{
				Config:      cfg("project_id = \"sales\"\ntimeouts {\n create = \"soon\"\n}"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?i)duration`),
			},
		},
	})
}

func TestDeploymentResource_importID(t *testing.T) {
	ctx := context.Background()
	r := &deploymentResource{}
	var sr fwresource.SchemaResponse
	r.Schema(ctx, fwresource.SchemaRequest{}, &sr)
	for _, tc := range []struct {
		id      string
		wantErr bool
	}{
		{"sales", false},
		{"Sales", true},
		{"sales/main", true},
		{"", true},
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
		for _, a := range []string{"id", "project_id"} {
			var v types.String
			resp.State.GetAttribute(ctx, path.Root(a), &v)
			if v.ValueString() != tc.id {
				t.Errorf("import %q: %s = %v", tc.id, a, v)
			}
		}
	}
}

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// deployed is the state of a deployment running shaA.
func deployedState() deploymentResourceModel {
	return deploymentResourceModel{
		ID: types.StringValue("sales"), ProjectID: types.StringValue("sales"),
		State: types.StringValue("running"), Commit: types.StringNull(), Triggers: types.MapNull(types.StringType),
		Status: types.StringValue(api.StatusDeployed), DeployedCommit: types.StringValue(shaA),
		URL: types.StringValue("http://sales.localhost"), LastError: types.StringValue(""),
	}
}

// plannedFrom is what the framework hands to ModifyPlan: config values, the
// computed ones unknown when anything changes, the state's otherwise.
func plannedFrom(state deploymentResourceModel, change func(*deploymentResourceModel)) deploymentResourceModel {
	p := state
	if change != nil {
		change(&p)
		p.Status, p.DeployedCommit, p.LastError = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
	}
	return p
}

func TestPlanComputed(t *testing.T) {
	unknown := types.StringUnknown()
	for _, tc := range []struct {
		name                   string
		state                  *deploymentResourceModel
		plan                   deploymentResourceModel
		head                   string
		status, commit, lastEr types.String
	}{
		{
			name:   "no change, head where it was",
			state:  ptr(deployedState()),
			plan:   plannedFrom(deployedState(), nil),
			head:   shaA,
			status: types.StringValue("deployed"), commit: types.StringValue(shaA), lastEr: types.StringValue(""),
		},
		{
			name:   "no change, head unknown (no refresh)",
			state:  ptr(deployedState()),
			plan:   plannedFrom(deployedState(), nil),
			status: types.StringValue("deployed"), commit: types.StringValue(shaA), lastEr: types.StringValue(""),
		},
		{
			name:   "branch moved: plan the pull",
			state:  ptr(deployedState()),
			plan:   plannedFrom(deployedState(), nil),
			head:   shaB,
			status: types.StringValue("deployed"), commit: types.StringValue(shaB), lastEr: types.StringValue(""),
		},
		{
			name: "stopped by hand: start again at the same commit",
			state: ptr(func() deploymentResourceModel {
				s := deployedState()
				s.State, s.Status = types.StringValue("stopped"), types.StringValue("stopped")
				return s
			}()),
			plan: plannedFrom(func() deploymentResourceModel {
				s := deployedState()
				s.State, s.Status = types.StringValue("stopped"), types.StringValue("stopped")
				return s
			}(), func(p *deploymentResourceModel) { p.State = types.StringValue("running") }),
			head:   shaA,
			status: types.StringValue("deployed"), commit: types.StringValue(shaA), lastEr: types.StringValue(""),
		},
		{
			name:   "stop: status stopped, commit kept",
			state:  ptr(deployedState()),
			plan:   plannedFrom(deployedState(), func(p *deploymentResourceModel) { p.State = types.StringValue("stopped") }),
			head:   shaB,
			status: types.StringValue("stopped"), commit: types.StringValue(shaA), lastEr: unknown,
		},
		{
			name:   "pin to the deployed commit (abbreviated)",
			state:  ptr(deployedState()),
			plan:   plannedFrom(deployedState(), func(p *deploymentResourceModel) { p.Commit = types.StringValue("aaaaaaa") }),
			head:   shaB,
			status: types.StringValue("deployed"), commit: types.StringValue(shaA), lastEr: types.StringValue(""),
		},
		{
			name:   "pin to another commit",
			state:  ptr(deployedState()),
			plan:   plannedFrom(deployedState(), func(p *deploymentResourceModel) { p.Commit = types.StringValue("cccccccc") }),
			head:   shaB,
			status: types.StringValue("deployed"), commit: unknown, lastEr: types.StringValue(""),
		},
		{
			name: "pinned: a moved branch plans nothing",
			state: ptr(func() deploymentResourceModel {
				s := deployedState()
				s.Commit = types.StringValue(shaA)
				return s
			}()),
			plan: plannedFrom(func() deploymentResourceModel {
				s := deployedState()
				s.Commit = types.StringValue(shaA)
				return s
			}(), nil),
			head:   shaB,
			status: types.StringValue("deployed"), commit: types.StringValue(shaA), lastEr: types.StringValue(""),
		},
		{
			name:  "triggers changed: restart at the branch head",
			state: ptr(deployedState()),
			plan: plannedFrom(deployedState(), func(p *deploymentResourceModel) {
				p.Triggers = types.MapValueMust(types.StringType, map[string]attr.Value{"v": types.StringValue("2")})
			}),
			head:   shaB,
			status: types.StringValue("deployed"), commit: types.StringValue(shaB), lastEr: types.StringValue(""),
		},
		{
			name:   "create running",
			plan:   plannedFrom(deployedState(), func(*deploymentResourceModel) {}),
			status: types.StringValue("deployed"), commit: unknown, lastEr: types.StringValue(""),
		},
		{
			name:   "create stopped",
			plan:   plannedFrom(deployedState(), func(p *deploymentResourceModel) { p.State = types.StringValue("stopped") }),
			status: unknown, commit: unknown, lastEr: unknown,
		},
		{
			name:  "unknown triggers: nothing decided",
			state: ptr(deployedState()),
			plan: plannedFrom(deployedState(), func(p *deploymentResourceModel) {
				p.Triggers = types.MapValueMust(types.StringType, map[string]attr.Value{"v": types.StringUnknown()})
			}),
			head:   shaB,
			status: unknown, commit: unknown, lastEr: unknown,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.plan
			planComputed(&p, tc.state, tc.head)
			if !p.Status.Equal(tc.status) || !p.DeployedCommit.Equal(tc.commit) || !p.LastError.Equal(tc.lastEr) {
				t.Errorf("status, deployed_commit, last_error = %v, %v, %v; want %v, %v, %v",
					p.Status, p.DeployedCommit, p.LastError, tc.status, tc.commit, tc.lastEr)
			}
		})
	}
}

// apply sends exactly the commit the plan showed when commit is unset.
func TestDeploymentSpecFor(t *testing.T) {
	ctx := context.Background()
	p := deployedState()
	spec, sent, _ := deploymentSpecFor(ctx, &p)
	if spec.TargetCommit != shaA || spec.Commit != "" || sent != shaA || spec.State != "running" || spec.Revision != "" {
		t.Errorf("unpinned, known commit: spec %+v, sent %q", spec, sent)
	}
	p.DeployedCommit = types.StringUnknown()
	if spec, sent, _ = deploymentSpecFor(ctx, &p); spec.Commit != "" || spec.TargetCommit != "" || sent != "" {
		t.Errorf("unpinned, unknown commit: spec %+v, sent %q", spec, sent)
	}
	p.Commit = types.StringValue("abcdef1")
	if spec, sent, _ = deploymentSpecFor(ctx, &p); spec.Commit != "abcdef1" || sent != "" {
		t.Errorf("pinned: spec %+v, sent %q", spec, sent)
	}
}

func ptr[T any](v T) *T { return &v }
