package store

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

func TestStoreCRUDAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	p := &Project{UID: "u1", Slug: "sales", Name: "Sales", PrivateKeySealed: []byte{1, 2, 3}}
	if err := s.Create(p); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(&Project{Slug: "sales"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
	if _, err := s.Update("sales", func(p *Project) error {
		p.Desired = &Desired{State: "running"}
		p.Generation++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A failing update writes nothing.
	boom := errors.New("boom")
	if _, err := s.Update("sales", func(p *Project) error { p.Name = "changed"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get("sales")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Sales" || got.Generation != 1 || got.Desired == nil || got.Desired.State != "running" || len(got.PrivateKeySealed) != 3 {
		t.Fatalf("reopened record = %+v", got)
	}
	if _, err := s.Get("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing = %v", err)
	}
	if _, err := s.Delete("sales"); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.List(); len(l) != 0 {
		t.Fatalf("List after delete = %d records", len(l))
	}
}

func TestStoreConcurrentUpdatesDoNotLoseWrites(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Create(&Project{Slug: "a"})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Update("a", func(p *Project) error { p.Generation++; return nil })
		}()
	}
	wg.Wait()
	p, _ := s.Get("a")
	if p.Generation != 20 {
		t.Fatalf("generation = %d, want 20", p.Generation)
	}
}

func TestStoreLockedBySecondOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(path); err == nil {
		t.Fatal("second Open of a locked store succeeded")
	}
}
