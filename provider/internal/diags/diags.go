// Package diags builds the provider's recurring diagnostics, so the wording of
// agent failures and configuration problems stays the same everywhere.
package diags

import (
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
)

// AgentError reports a failed call to runtime-agent. summary is a short phrase
// naming the operation ("Unable to Create Project"); what says what was being
// attempted ("creating project \"sales\""). A hint is appended for the error
// codes a user can act on.
func AgentError(summary, what string, err error) diag.Diagnostic {
	return diag.NewErrorDiagnostic(summary, fmt.Sprintf("Error %s: %s%s", what, err, hint(err)))
}

func hint(err error) string {
	var e *api.Error
	if !errors.As(err, &e) {
		// Transport problems: the client already names the endpoint.
		return "\n\nCheck that runtime-agent is running and that the provider's endpoint (RUNTIME_ENDPOINT) and ca_cert_pem are right."
	}
	switch e.Code {
	case api.CodeUnauthorized:
		return "\n\nThe agent rejected the token: check the provider's token (RUNTIME_TOKEN) against the agent's RUNTIME_AGENT_TOKEN."
	case api.CodeUnavailable:
		return "\n\nThe agent is shutting down or one of its dependencies (Docker, the git host) is down; run the command again once it is back."
	case api.CodeInternal:
		return "\n\nThe agent failed internally; `runtime-agent logs` and the agent's own log have the details."
	}
	return ""
}

// NotConfigured reports an operation that needs the agent while the provider
// has no client, because its configuration was unknown when it was configured
// (for example an endpoint taken from a resource that does not exist yet).
func NotConfigured(unknown []string) diag.Diagnostic {
	return diag.NewErrorDiagnostic("Runtime Provider Not Configured",
		fmt.Sprintf("This operation needs runtime-agent, but the provider's %s %s not known when Terraform configured it "+
			"(it depends on a value that is known only after apply), so the agent cannot be reached in this step. "+
			"Apply the resources the provider's arguments come from first (terraform apply -target=...), or set them "+
			"from variables or the RUNTIME_ENDPOINT and RUNTIME_TOKEN environment variables.",
			quoteList(unknown), verb(unknown)))
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "configuration"
	}
	s := ""
	for i, n := range names {
		switch {
		case i == 0:
		case i == len(names)-1:
			s += " and "
		default:
			s += ", "
		}
		s += fmt.Sprintf("%q", n)
	}
	return s
}

func verb(names []string) string {
	if len(names) == 1 || len(names) == 0 {
		return "was"
	}
	return "were"
}
