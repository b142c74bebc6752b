package reconcile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"TLS_CERT": "-----BEGIN-----\nline2\n", "SA_JSON": `{"k": "ü $HOME"}`}
	m, err := secretFiles(dir, files, 50000)
	if err != nil {
		t.Fatal(err)
	}
	if m.Target != "/run/secrets" || !m.ReadOnly {
		t.Fatalf("mount = %+v", m)
	}
	for k, v := range files {
		f := filepath.Join(m.Source, k)
		b, err := os.ReadFile(f)
		if err != nil || string(b) != v {
			t.Errorf("%s: %q, %v", k, b, err)
		}
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o400 {
			t.Errorf("%s mode %v, want 0400", k, st.Mode().Perm())
		}
		if os.Geteuid() == 0 { // only root can give files away
			if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 50000 {
				t.Errorf("%s owned by %d, want the app's uid 50000", k, uid)
			}
		}
	}
	if st, _ := os.Stat(m.Source); st.Mode().Perm() != 0o500 {
		t.Errorf("directory mode %v, want 0500", st.Mode().Perm())
	}

	// The same content is the same directory (a running container's files
	// are never rewritten); a change is a new one.
	again, err := secretFiles(dir, map[string]string{"SA_JSON": files["SA_JSON"], "TLS_CERT": files["TLS_CERT"]}, 50000)
	if err != nil || again.Source != m.Source {
		t.Errorf("same secrets: %v, %v; want %s", again, err, m.Source)
	}
	files["TLS_CERT"] = "rotated"
	changed, err := secretFiles(dir, files, 50000)
	if err != nil || changed.Source == m.Source {
		t.Errorf("changed secret: %v, %v; want a new directory", changed, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "run", ".files-*")); len(left) > 0 {
		t.Errorf("temporary directories left: %v", left)
	}

	// An image user known only by name: readable by anyone in the container.
	named, err := secretFiles(dir, files, -1)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(named.Source, "SA_JSON")); st.Mode().Perm() != 0o444 {
		t.Errorf("named user: mode %v, want 0444", st.Mode().Perm())
	}

	if none, err := secretFiles(dir, nil, 0); none != nil || err != nil {
		t.Errorf("no file secrets: %v, %v; want no mount", none, err)
	}
}
