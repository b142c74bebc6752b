package validators

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

func validate(v validator.String, value types.String) validator.StringResponse {
	var resp validator.StringResponse
	v.ValidateString(context.Background(), validator.StringRequest{Path: path.Root("attr"), ConfigValue: value}, &resp)
	return resp
}

func TestRule(t *testing.T) {
	v := Rule("a slug", api.ValidateSlug)
	for _, ok := range []types.String{types.StringValue("sales"), types.StringNull(), types.StringUnknown()} {
		if resp := validate(v, ok); resp.Diagnostics.HasError() {
			t.Errorf("%v: unexpected %v", ok, resp.Diagnostics)
		}
	}
	resp := validate(v, types.StringValue("Sales!"))
	if !resp.Diagnostics.HasError() {
		t.Fatal("Sales!: no error")
	}
	d := resp.Diagnostics.Errors()[0]
	if !strings.HasPrefix(d.Detail(), `slug "Sales!" is not valid`) || !strings.HasSuffix(d.Detail(), ".") {
		t.Errorf("detail = %q", d.Detail())
	}
}

func TestDuration(t *testing.T) {
	for s, wantErr := range map[string]bool{"30s": false, "2m": false, "soon": true, "0s": true, "-1s": true, "": true} {
		if got := validate(Duration(), types.StringValue(s)).Diagnostics.HasError(); got != wantErr {
			t.Errorf("%q: error = %v, want %v", s, got, wantErr)
		}
	}
}
