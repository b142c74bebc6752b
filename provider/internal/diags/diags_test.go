package diags

import (
	"fmt"
	"strings"
	"testing"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

func TestAgentErrorHints(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&api.Error{Code: api.CodeUnauthorized, Message: "bad token"}, "RUNTIME_TOKEN"},
		{fmt.Errorf("cannot reach runtime-agent at http://x: connection refused"), "RUNTIME_ENDPOINT"},
		{&api.Error{Code: api.CodeInvalid, Message: "slug is bad"}, "slug is bad"},
		{&api.Error{Code: api.CodeUnavailable, Message: "docker is down"}, "run the command again"},
	} {
		d := AgentError("Unable to Test", "testing", tc.err)
		if !strings.Contains(d.Detail(), tc.want) || !strings.Contains(d.Detail(), tc.err.Error()) {
			t.Errorf("detail for %v = %q, want it to contain %q", tc.err, d.Detail(), tc.want)
		}
	}
}

func TestNotConfigured(t *testing.T) {
	d := NotConfigured([]string{"endpoint", "token"})
	if !strings.Contains(d.Detail(), `"endpoint" and "token" were not known`) {
		t.Errorf("detail = %q", d.Detail())
	}
	d = NotConfigured([]string{"endpoint"})
	if !strings.Contains(d.Detail(), `"endpoint" was not known`) {
		t.Errorf("detail = %q", d.Detail())
	}
}
