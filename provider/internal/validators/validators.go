// Package validators holds the provider's custom attribute validators. Most of
// them wrap an input rule of the agent's API package, so that the provider (at
// plan time) and the agent (on every request) give the same answer with the
// same wording.
package validators

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// Rule wraps a check from agent/api as a string validator. The check's error
// already names the field and the fix; it is reported as an attribute error.
func Rule(description string, check func(string) error) validator.String {
	return ruleValidator{description: description, check: check}
}

type ruleValidator struct {
	description string
	check       func(string) error
}

func (v ruleValidator) Description(context.Context) string         { return v.description }
func (v ruleValidator) MarkdownDescription(context.Context) string { return v.description }

func (v ruleValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Attribute Value", sentence(err.Error()))
	}
}

// Duration checks that a string is a positive Go duration such as "30s" or "2m".
func Duration() validator.String { return durationValidator{} }

type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return `value must be a positive duration such as "30s" or "2m"`
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	s := req.ConfigValue.ValueString()
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Attribute Value",
			fmt.Sprintf("%s %q is not a positive duration: use a number with a unit, such as \"30s\" or \"2m\".", req.Path, s))
	}
}

// sentence ends a message with a full stop. The first word is left alone: it
// is the attribute's name (slug, git_url, ...), which must read as written.
func sentence(s string) string {
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}
