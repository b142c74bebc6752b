package gitsync

import "testing"

func TestSafeLinkTarget(t *testing.T) {
	for _, c := range []struct {
		name, target, want string
		ok                 bool
	}{
		{"app.py", "src/app.py", "src/app.py", true},
		{"a/b/link", "../../x", "../../x", true},
		{"a/b/link", "./../c//d/", "../c/d", true},
		{"a/link", "../../x", "", false},   // above the root
		{"link", "/etc/passwd", "", false}, // absolute
		{"a/link", "b/../../x", "", false}, // ".." after a descent may cross a symlink
		{"a/b/link", "c/../..", "", false}, // same
		{"link", ".", "", false},           // itself
		{"link", "", "", false},            // empty
		{"a/link", "..", "..", true},       // the root itself
		{"link", "x\x00y", "", false},      // NUL
		{"a/link", "../a/link2", "../a/link2", true},
	} {
		got, ok := safeLinkTarget(c.name, c.target)
		if ok != c.ok || got != c.want {
			t.Errorf("safeLinkTarget(%q, %q) = %q, %v; want %q, %v", c.name, c.target, got, ok, c.want, c.ok)
		}
	}
}

func TestCleanRepoPath(t *testing.T) {
	for in, want := range map[string]string{
		"src/app.py": "src/app.py", "/src/app.py": "src/app.py", "//a//b": "a/b", "a/./b": "a/b",
	} {
		if got, err := cleanRepoPath(in); err != nil || got != want {
			t.Errorf("cleanRepoPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "/", ".", "../x", "a/../../x", "a/../b"} {
		if got, err := cleanRepoPath(in); err == nil {
			t.Errorf("cleanRepoPath(%q) = %q, want an error", in, got)
		}
	}
}

func TestSafeEntryName(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "a/b.txt": true, "..": false, "a/../b": false, ".git/config": false, "x/.GIT/y": false, "": false, "a//b": false,
	} {
		if got := safeEntryName(name); got != want {
			t.Errorf("safeEntryName(%q) = %v, want %v", name, got, want)
		}
	}
}
