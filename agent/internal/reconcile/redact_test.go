package reconcile

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/runtimeops/terraform-provider-runtime/agent/internal/render"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/seal"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// Whatever form an error or an app's log gives a secret value in, it does
// not reach the store, the log or the API.
func TestRedactRemovesSecretValuesInEveryForm(t *testing.T) {
	s, err := seal.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{sealer: s}
	p := &store.Project{UID: "u1", Slug: "app", Secrets: map[string]*store.Secret{}, Connections: map[string]*store.Connection{}}
	sealSecret := func(key, value string, file bool) {
		b, err := s.Seal([]byte(value), SecretContext(p.UID, key))
		if err != nil {
			t.Fatal(err)
		}
		p.Secrets[key] = &store.Secret{Sealed: b, File: file}
	}
	sealSecret("API_KEY", "tok\x00en-\"quoted\"-ünï", false)
	sealSecret("PEM", "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----", true)
	sealSecret("TINY", "no", false)
	pw, _ := s.Seal([]byte("hunter2-p@ss:w/rd%#é"), PasswordContext(p.UID, "db"))
	p.Connections["db"] = &store.Connection{Type: "postgres", PasswordSealed: pw}
	gen, _ := s.Seal([]byte("generated-admin-pw"), GeneratedContext(p.UID, "admin_password"))
	p.Generated = map[string][]byte{"admin_password": gen}

	msg := strings.Join([]string{
		`create: environment variable value can't contain null(\x00): "API_KEY=tok\x00en-\"quoted\"-ünï"`, // Docker, Go-quoted
		"raw: tok\x00en-\"quoted\"-ünï",
		`json: {"API_KEY":"tok\u0000en-\"quoted\"-ünï"}`,
		"app log: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
		"password hunter2-p@ss:w/rd%#é, admin generated-admin-pw",
		"url: postgresql://analyst:" + render.Escape("hunter2-p@ss:w/rd%#é") + "@db.internal", // as in <NAME>_URL
		"pathesc: " + url.PathEscape("hunter2-p@ss:w/rd%#é"),
		"queryesc: " + url.QueryEscape("hunter2-p@ss:w/rd%#é"), // quote_plus
		"lowerhex: " + strings.ToLower(render.Escape("hunter2-p@ss:w/rd%#é")),
		"ascii: " + strconv.QuoteToASCII("hunter2-p@ss:w/rd%#é"), // Python's json.dumps
		"b64: " + base64.StdEncoding.EncodeToString([]byte("hunter2-p@ss:w/rd%#é")),
		"a short secret stays: no",
		"invalid UTF-8 \xff\xfe before: hunter2-p@ss:w/rd%#é",
	}, "\n")
	got := r.redact(p, msg)
	for _, leak := range []string{"tok", "quoted", "MIIEvQ", "hunter2", "generated-admin", "%40ss", "aHVudGVy"} {
		if strings.Contains(got, leak) {
			t.Errorf("%q survives redaction:\n%s", leak, got)
		}
	}
	if !strings.Contains(got, "[secret]") || !strings.Contains(got, "a short secret stays: no") {
		t.Errorf("redacted message:\n%s", got)
	}
}
