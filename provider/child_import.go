package provider

// Shared parts of the resources that belong to a project (runtime_variable,
// runtime_secret, runtime_connection): their id, import, the create's
// existence check, delete, and the version bookkeeping that detects a
// secret changed outside Terraform.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/runtimeops/terraform-provider-runtime/agent/api"
	"github.com/runtimeops/terraform-provider-runtime/provider/internal/diags"
)

// childKind describes one kind of project child for ids, imports and messages.
type childKind struct {
	noun     string // "variable", "secret", "connection"
	typeName string // "runtime_variable"
	keyAttr  string // "key" or "name"
	example  string // an example key, such as "REGION"
	check    func(string) error
}

var (
	variableKind = childKind{noun: "variable", typeName: "runtime_variable", keyAttr: "key", example: "REGION", check: validateEnvKey}
	secretKind   = childKind{noun: "secret", typeName: "runtime_secret", keyAttr: "key", example: "API_KEY", check: validateEnvKey}
	connKind     = childKind{noun: "connection", typeName: "runtime_connection", keyAttr: "name", example: "warehouse", check: validateConnectionName}
)

func validateEnvKey(s string) error { return api.ValidateEnvKey("key", s) }

// childID is the Terraform id of a project child: "<project-slug>/<key>".
func childID(slug, key string) string { return slug + "/" + key }

// parseChildID splits and checks an import id "<project-slug>/<key>". Its
// errors say what was expected, with an example.
func (k childKind) parseChildID(id string) (slug, key string, err error) {
	usage := fmt.Sprintf("a %s is imported as <project-slug>/<%s>, such as `terraform import %s.example sales/%s`",
		k.noun, k.keyAttr, k.typeName, k.example)
	slug, key, ok := strings.Cut(id, "/")
	if !ok || slug == "" || key == "" || strings.Contains(key, "/") {
		return "", "", fmt.Errorf("import id %q is not of the form <project-slug>/<%s>: %s", id, k.keyAttr, usage)
	}
	if err := api.ValidateSlug(slug); err != nil {
		return "", "", fmt.Errorf("import id %q: project %s; %s", id, err, usage)
	}
	if err := k.check(key); err != nil {
		return "", "", fmt.Errorf("import id %q: %s; %s", id, err, usage)
	}
	return slug, key, nil
}

// importChild is the ImportState of every project child: it checks the id
// and sets id, project_id and the key attribute; Read fills in the rest. No
// agent call is made here, so a malformed id fails before anything is read.
func (k childKind) importChild(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	slug, key, err := k.parseChildID(req.ID)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", fullStop(err.Error()))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), childID(slug, key))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("project_id"), slug)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(k.keyAttr), key)...)
}

// alreadyExists is the error of a create that finds the object on the agent:
// Terraform would otherwise silently take over (and later delete) a value it
// did not create.
func (k childKind) alreadyExists(slug, key string) diag.Diagnostic {
	return diag.NewAttributeErrorDiagnostic(path.Root(k.keyAttr), fmt.Sprintf("%s Already Exists", titleCase(k.noun)),
		fmt.Sprintf("Project %q already has a %s %q on the agent. Import it with `terraform import <address> %s` "+
			"(or an import block) to manage it with Terraform, or choose another %s.",
			slug, k.noun, key, childID(slug, key), k.keyAttr))
}

// checkAbsent turns the error of a create's look-up into its diagnostics:
// none when the agent has no such child; otherwise that it exists already,
// or why the look-up failed.
func (k childKind) checkAbsent(lookupErr error, slug, key string) diag.Diagnostics {
	switch {
	case lookupErr == nil:
		return diag.Diagnostics{k.alreadyExists(slug, key)}
	case !api.IsNotFound(lookupErr):
		return diag.Diagnostics{diags.AgentError("Unable to Create "+titleCase(k.noun), fmt.Sprintf("checking %s %q of project %q", k.noun, key, slug), lookupErr)}
	}
	return nil
}

// deleteChild is the Delete of every project child; del is the client's
// delete for the kind. Not found counts as deleted: deleted already, or its
// project is gone (which deletes it).
func (k childKind) deleteChild(ctx context.Context, data *providerData, req resource.DeleteRequest, resp *resource.DeleteResponse,
	del func(c *api.Client, ctx context.Context, slug, key string) error) {
	var slug, key types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("project_id"), &slug)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(k.keyAttr), &key)...)
	if resp.Diagnostics.HasError() {
		return
	}
	client, ds := data.agent()
	if resp.Diagnostics.Append(ds...); ds.HasError() {
		return
	}
	ctx = tflog.SetField(ctx, "project", slug.ValueString())
	ctx = tflog.SetField(ctx, k.keyAttr, key.ValueString())
	defer data.children.forget(slug.ValueString()) // after the write: later reads see it
	if err := del(client, ctx, slug.ValueString(), key.ValueString()); err != nil && !api.IsNotFound(err) {
		resp.Diagnostics.Append(diags.AgentError("Unable to Delete "+titleCase(k.noun),
			fmt.Sprintf("deleting %s %q of project %q", k.noun, key.ValueString(), slug.ValueString()), err))
		return
	}
	tflog.Debug(ctx, "deleted "+k.noun)
}

// projectMissing is the error of a write to a project the agent does not have.
func (k childKind) projectMissing(slug string, err error) diag.Diagnostic {
	return diag.NewAttributeErrorDiagnostic(path.Root("project_id"), fmt.Sprintf("Unable to Write %s", titleCase(k.noun)),
		fmt.Sprintf("Project %q does not exist on the agent (%s). Create it first (runtime_project), or fix project_id.", slug, err))
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// fullStop ends a message with a full stop. The first word is left alone:
// it names an attribute ("host", "import id"), which must read as written.
func fullStop(s string) string {
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

// Drift of secrets and connection passwords is detected by version: the
// agent counts each change of the value, and the provider keeps, in private
// state, the version its own last write produced. When a refresh reads
// another version, the value was changed outside Terraform; ModifyPlan then
// plans an update (the version becomes unknown) and apply writes the
// configured value again.

// privateWrittenVersion is the private state key of that version.
const privateWrittenVersion = "written_version"

func setWrittenVersion(ctx context.Context, p privateSetter, v int64) diag.Diagnostics {
	return setPrivateString(ctx, p, privateWrittenVersion, strconv.FormatInt(v, 10))
}

// writtenVersion returns the version the provider last wrote, and false when
// it does not know it (after an import, before the first write).
func writtenVersion(ctx context.Context, p privateGetter) (int64, bool) {
	s := privateString(ctx, p, privateWrittenVersion)
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

// versionDrifted reports whether the version in the refreshed state is not
// the one the provider last wrote. Unknown or unrecorded versions never
// count as drift.
func versionDrifted(current types.Int64, written int64, known bool) bool {
	return known && !current.IsNull() && !current.IsUnknown() && current.ValueInt64() != written
}

// planVersionDrift plans an update when the value behind versionAttr was
// changed outside Terraform. It returns true when it did, so the caller can
// add its warning.
func planVersionDrift(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, versionAttr string) (drifted bool, current, written int64) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return false, 0, 0 // create or destroy
	}
	var planned types.Int64
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root(versionAttr), &planned)...)
	if resp.Diagnostics.HasError() || planned.IsUnknown() {
		return false, 0, 0 // an update is planned anyway
	}
	w, known := writtenVersion(ctx, req.Private)
	if !versionDrifted(planned, w, known) {
		return false, 0, 0
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(versionAttr), types.Int64Unknown())...)
	return true, planned.ValueInt64(), w
}
