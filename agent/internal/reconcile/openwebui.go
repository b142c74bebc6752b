package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/runtimeops/terraform-provider-runtime/agent/internal/openwebui"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/runtime"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// OpenWebUIAdminEmail is the account the agent creates in each Open WebUI
// to sync plugins; `runtime-agent credentials SLUG` shows its password.
const OpenWebUIAdminEmail = "runtime-agent@localhost.localdomain"

var pluginIDRE = regexp.MustCompile(`[^a-z0-9_]+`)

// syncOpenWebUI upserts <path>/tools/*.py and <path>/functions/*.py into
// Open WebUI. Content hashes from the last sync make it idempotent: when no
// file changed, no API call is made at all.
func (r *Reconciler) syncOpenWebUI(ctx context.Context, p *store.Project, c *runtime.Container, root, password string, last map[string]string, log hclog.Logger) (map[string]string, error) {
	want := map[string]openwebui.Plugin{}
	kinds := map[string]string{}
	files := map[string]string{}
	for _, kind := range []string{openwebui.Tools, openwebui.Functions} {
		found, _ := filepath.Glob(filepath.Join(root, kind, "*.py"))
		sort.Strings(found)
		for _, f := range found {
			b, err := os.ReadFile(f)
			if err != nil {
				return last, err
			}
			name := strings.TrimSuffix(filepath.Base(f), ".py")
			id := strings.Trim(pluginIDRE.ReplaceAllString(strings.ToLower(name), "_"), "_")
			key := kind + "/" + id
			want[key] = openwebui.Plugin{ID: id, Name: name, Content: string(b), Description: "synced by runtime-agent from " + kind + "/" + filepath.Base(f)}
			files[key] = kind + "/" + filepath.Base(f)
			kinds[key] = kind
		}
	}
	next := map[string]string{}
	var changed, removed []string
	for key, pl := range want {
		sum := sha256.Sum256([]byte(pl.Content))
		next[key] = hex.EncodeToString(sum[:])
		if last[key] != next[key] {
			changed = append(changed, key)
		}
	}
	for key := range last {
		if _, ok := want[key]; !ok {
			removed = append(removed, key)
		}
	}
	if len(changed) == 0 && len(removed) == 0 {
		return last, nil
	}
	sort.Strings(changed)
	base := "http://" + c.IP + ":" + c.Labels[LabelPort]
	cl, err := openwebui.SignIn(ctx, base, OpenWebUIAdminEmail, password)
	if err != nil {
		return last, err
	}
	existing := map[string]map[string]bool{}
	for _, kind := range []string{openwebui.Tools, openwebui.Functions} {
		if existing[kind], err = cl.List(ctx, kind); err != nil {
			return last, err
		}
	}
	for _, key := range changed {
		kind, pl := kinds[key], want[key]
		if err := cl.Upsert(ctx, kind, pl, existing[kind][pl.ID]); err != nil {
			return last, fmt.Errorf("%s: %w", files[key], err)
		}
		log.Info("synced open webui plugin", "plugin", key)
	}
	for _, key := range removed {
		kind, id, _ := strings.Cut(key, "/")
		if existing[kind][id] {
			if err := cl.Delete(ctx, kind, id); err != nil {
				return last, err
			}
		}
		log.Info("removed open webui plugin", "plugin", key)
	}
	return next, nil
}
