package provider

import (
	"context"
	"math/big"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// stateOf builds a prior state of r's schema from attribute values; the
// attributes not given are null.
func stateOf(t *testing.T, r resource.Resource, vals map[string]tftypes.Value) tfsdk.State {
	t.Helper()
	ctx := context.Background()
	var resp resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &resp)
	typ := resp.Schema.Type().TerraformType(ctx).(tftypes.Object)
	all := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		if v, ok := vals[name]; ok {
			all[name] = v
		} else {
			all[name] = tftypes.NewValue(at, nil)
		}
	}
	return tfsdk.State{Schema: resp.Schema, Raw: tftypes.NewValue(typ, all)}
}

// The raw reader must see a prior state exactly as the framework's
// State.Get does, nulls included, or a refresh would invent a diff.
func TestRawStateMatchesStateGet(t *testing.T) {
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	num := func(n int64) tftypes.Value { return tftypes.NewValue(tftypes.Number, big.NewFloat(float64(n))) }

	for name, vals := range map[string]map[string]tftypes.Value{
		"set":      {"id": str("app/K"), "project_id": str("app"), "key": str("K"), "value": str("v $HOME \"q\" ünï\nline2")},
		"imported": {"id": str("app/K"), "project_id": str("app"), "key": str("K")},
		"empty":    {"id": str("app/K"), "project_id": str("app"), "key": str("K"), "value": str("")},
	} {
		t.Run("variable/"+name, func(t *testing.T) {
			st := stateOf(t, NewVariableResource(), vals)
			var want variableResourceModel
			if d := st.Get(context.Background(), &want); d.HasError() {
				t.Fatal(d)
			}
			got, d := variableFromState(st)
			if d.HasError() {
				t.Fatal(d)
			}
			if got != want {
				t.Errorf("raw read %+v, State.Get %+v", got, want)
			}
		})
	}
	for name, vals := range map[string]map[string]tftypes.Value{
		"value":    {"id": str("app/S"), "project_id": str("app"), "key": str("S"), "value": str("s3cr3t"), "version": num(3)},
		"wo":       {"id": str("app/S"), "project_id": str("app"), "key": str("S"), "value_wo_version": num(2), "version": num(7), "file": tftypes.NewValue(tftypes.Bool, true)},
		"older":    {"id": str("app/S"), "project_id": str("app"), "key": str("S"), "version": num(1), "file": tftypes.NewValue(tftypes.Bool, false)},
		"imported": {"id": str("app/S"), "project_id": str("app"), "key": str("S"), "version": num(1)},
	} {
		t.Run("secret/"+name, func(t *testing.T) {
			st := stateOf(t, NewSecretResource(), vals)
			var want secretResourceModel
			if d := st.Get(context.Background(), &want); d.HasError() {
				t.Fatal(d)
			}
			got, d := secretFromState(st)
			if d.HasError() {
				t.Fatal(d)
			}
			if got != want {
				t.Errorf("raw read %+v, State.Get %+v", got, want)
			}
		})
	}
}

func TestRawStateErrorsNameTheAttribute(t *testing.T) {
	typ := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"version": tftypes.Number, "key": tftypes.Number}}
	raw := readRawState(tftypes.NewValue(typ, map[string]tftypes.Value{
		"version": tftypes.NewValue(tftypes.Number, big.NewFloat(1.5)),
		"key":     tftypes.NewValue(tftypes.Number, big.NewFloat(1)),
	}))
	raw.Int64("version")
	d := raw.Diagnostics()
	if !d.HasError() || !strings.Contains(d[0].Detail(), `"version"`) {
		t.Fatalf("a fractional version: want an error naming it, got %v", d)
	}

	raw = readRawState(tftypes.NewValue(typ, map[string]tftypes.Value{
		"version": tftypes.NewValue(tftypes.Number, nil),
		"key":     tftypes.NewValue(tftypes.Number, big.NewFloat(1)),
	}))
	if v := raw.Int64("version"); !v.IsNull() {
		t.Errorf("null number read as %v", v)
	}
	raw.String("key")
	if d := raw.Diagnostics(); !d.HasError() || !strings.Contains(d[0].Detail(), `"key"`) {
		t.Fatalf("a number read as a string: want an error naming it, got %v", d)
	}
}
