package deps

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
)

func repo(files map[string]string) Reader {
	return func(name string) ([]byte, error) {
		if b, ok := files[name]; ok {
			return []byte(b), nil
		}
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
}

func TestNearestFolderWinsAndOrder(t *testing.T) {
	r := repo(map[string]string{
		"requirements.txt":     "pandas\n",
		"src/requirements.txt": "streamlit==1.40\n",
	})
	req, src, err := Find(r, "src")
	if err != nil || string(req) != "streamlit==1.40\n" || src != "src/requirements.txt" {
		t.Fatalf("Find = %q %q %v", req, src, err)
	}
	req, src, _ = Find(r, "other/deeper")
	if string(req) != "pandas\n" || src != "requirements.txt" {
		t.Fatalf("walk up = %q %q", req, src)
	}
	if req, _, _ := Find(repo(nil), "src"); req != nil {
		t.Fatalf("no files = %q", req)
	}
}

func TestUVLockPinsAndPyproject(t *testing.T) {
	r := repo(map[string]string{
		"pyproject.toml": "[project]\nname = \"sales-app\"\ndependencies = [\"streamlit>=1.30\", \"pandas\"]\n",
		"uv.lock": `version = 1
[[package]]
name = "sales-app"
version = "0.1.0"
source = { editable = "." }
[[package]]
name = "streamlit"
version = "1.40.1"
source = { registry = "https://pypi.org/simple" }
[[package]]
name = "pandas"
version = "2.2.3"
source = { registry = "https://pypi.org/simple" }
`,
	})
	req, src, err := Find(r, ".")
	if err != nil || string(req) != "pandas==2.2.3\nstreamlit==1.40.1\n" || src != "uv.lock" {
		t.Fatalf("uv.lock = %q %q %v", req, src, err)
	}
	r2 := repo(map[string]string{"pyproject.toml": "[project]\nname = \"x\"\ndependencies = [\"dash>=2\", \"pandas\"]\n"})
	req, _, err = Find(r2, "app")
	if err != nil || string(req) != "dash>=2\npandas\n" {
		t.Fatalf("pyproject = %q %v", req, err)
	}
	if _, _, err := Find(repo(map[string]string{"pyproject.toml": "[project"}), "."); err == nil || !strings.Contains(err.Error(), "pyproject.toml") {
		t.Fatalf("bad toml = %v", err)
	}
}

func TestEnsureAddsOnlyWhatIsMissing(t *testing.T) {
	if got := string(Ensure([]byte("dash\nGunicorn==22\n"), []string{"gunicorn"})); got != "dash\nGunicorn==22\n" {
		t.Fatalf("present = %q", got)
	}
	if got := string(Ensure([]byte("dash"), []string{"gunicorn"})); got != "dash\ngunicorn\n" {
		t.Fatalf("missing = %q", got)
	}
	if got := string(Ensure(nil, []string{"gunicorn"})); got != "gunicorn\n" {
		t.Fatalf("no requirements = %q", got)
	}
	if Ensure(nil, nil) != nil {
		t.Fatal("nothing to add made a file")
	}
}
