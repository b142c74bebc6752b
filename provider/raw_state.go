package provider

import (
	"fmt"
	"math/big"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// rawState reads top-level attributes of a prior state straight from its
// raw value. Variables and secrets are read this way on refresh, the hot
// path of a plan over a project's hundreds of children: the framework's
// State.Get compiles a regular expression per struct field on every call
// (terraform-plugin-framework v1.19, internal/reflect.isValidFieldName),
// which alone made a quiet refresh cost a third more. bench/config200.sh
// measures it. Everything else keeps using State.Get.
type rawState struct {
	attrs map[string]tftypes.Value
	err   error
}

func readRawState(v tftypes.Value) *rawState {
	r := &rawState{}
	r.err = v.As(&r.attrs)
	return r
}

// String returns the named string attribute, null when null or absent.
func (r *rawState) String(name string) types.String {
	var s *string
	if r.as(name, &s); s == nil {
		return types.StringNull()
	}
	return types.StringValue(*s)
}

// Bool returns the named bool attribute, null when null or absent.
func (r *rawState) Bool(name string) types.Bool {
	var b *bool
	if r.as(name, &b); b == nil {
		return types.BoolNull()
	}
	return types.BoolValue(*b)
}

// Int64 returns the named number attribute, null when null or absent.
func (r *rawState) Int64(name string) types.Int64 {
	var n *big.Float
	if r.as(name, &n); n == nil {
		return types.Int64Null()
	}
	i, acc := n.Int64()
	if acc != big.Exact && r.err == nil {
		r.err = fmt.Errorf("attribute %q: %s is not a whole number", name, n)
	}
	return types.Int64Value(i)
}

func (r *rawState) as(name string, dst any) {
	if r.err != nil {
		return
	}
	v, ok := r.attrs[name]
	if !ok {
		return
	}
	if err := v.As(dst); err != nil {
		r.err = fmt.Errorf("attribute %q: %w", name, err)
	}
}

// Diagnostics reports the first attribute that could not be read.
func (r *rawState) Diagnostics() diag.Diagnostics {
	if r.err == nil {
		return nil
	}
	return diag.Diagnostics{diag.NewErrorDiagnostic("Unable to Read Prior State",
		"The prior state does not match the resource's schema: "+r.err.Error()+". "+
			"This is a bug in the provider; please report it.")}
}
