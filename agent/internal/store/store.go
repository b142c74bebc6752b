// Package store keeps the agent's desired and observed state in one bbolt
// file under the data directory. Every change is one bbolt transaction, so a
// kill -9 at any point leaves either the old or the new record, never half.
//
// Layout:
//
//	meta      "schema" → decimal schema version
//	projects  <slug>   → JSON Project (one record per project: config, sealed
//	                     deploy key, desired deployment, last observed status)
//
// Secret material inside records is sealed by the caller (package seal)
// before it reaches the store; the store never sees plaintext keys.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

const schemaVersion = 1

var (
	bucketMeta     = []byte("meta")
	bucketProjects = []byte("projects")
)

// ErrNotFound is returned when no record has the slug.
var ErrNotFound = errors.New("not found")

// ErrExists is returned by Create when the slug is taken.
var ErrExists = errors.New("already exists")

// Project is one project's record.
type Project struct {
	// UID identifies this incarnation of the slug: a project deleted and
	// created again under the same slug gets a new UID, so clean-up of the
	// old one never touches the new one's containers or files.
	UID         string `json:"uid"`
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	AppType     string `json:"app_type"`
	Environment string `json:"environment"`
	GitURL      string `json:"git_url"`
	Branch      string `json:"branch"`
	Path        string `json:"path"`

	PublicKey        string `json:"public_key"`
	Fingerprint      string `json:"fingerprint"`
	PrivateKeySealed []byte `json:"private_key_sealed"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// Generated holds secrets the agent generates once per project for its
	// app type (Airflow's fernet key, Open WebUI's secret key and admin
	// password), sealed.
	Generated map[string][]byte `json:"generated,omitempty"`

	// Per-project configuration handed to the app. Secret values and
	// connection passwords are sealed.
	Variables   map[string]*Variable   `json:"variables,omitempty"`
	Secrets     map[string]*Secret     `json:"secrets,omitempty"`
	Connections map[string]*Connection `json:"connections,omitempty"`

	// Desired is nil while the project has no deployment.
	Desired *Desired `json:"desired,omitempty"`
	// Generation increases with every accepted change of Desired (or of
	// config that affects the running app); Observed.Generation trails it.
	Generation int64    `json:"generation"`
	Observed   Observed `json:"observed"`
}

// Desired is the wanted state of the project's app.
type Desired struct {
	State    string `json:"state"`
	Commit   string `json:"commit,omitempty"`
	Revision string `json:"revision,omitempty"`
	// Limits; 0 means none.
	MemoryMB int64   `json:"memory_mb,omitempty"`
	CPUs     float64 `json:"cpus,omitempty"`
	// PathPrefix, cleaned ("/team/sales/"), or "".
	PathPrefix string `json:"path_prefix,omitempty"`
	// Resolved is the branch head this spec was first deployed at, when it
	// follows the branch. Later work on the same spec (a configuration
	// change, a restart) reuses it: changing a variable must not pull new
	// code. A new spec (the next apply) resolves the head again.
	Resolved string `json:"resolved,omitempty"`
}

// Variable is a plain value.
type Variable struct {
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Secret is a sealed value with a version that increases when it changes.
type Secret struct {
	Sealed  []byte `json:"sealed"`
	Version int64  `json:"version"`
	// File: mounted under api.SecretsDir instead of set in the environment.
	File      bool      `json:"file,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Connection is a typed connection; the password is sealed.
type Connection struct {
	Type            string            `json:"type"`
	Host            string            `json:"host,omitempty"`
	Port            int64             `json:"port,omitempty"`
	Login           string            `json:"login,omitempty"`
	PasswordSealed  []byte            `json:"password_sealed,omitempty"`
	PasswordVersion int64             `json:"password_version"`
	Schema          string            `json:"schema,omitempty"`
	Extra           map[string]string `json:"extra,omitempty"`
	UpdatedAt       time.Time         `json:"updated_at"`
}

// Observed is what the reconciler last made true (or failed to).
type Observed struct {
	Generation     int64     `json:"generation"`
	Status         string    `json:"status"`
	LastError      string    `json:"last_error,omitempty"`
	DeployedCommit string    `json:"deployed_commit,omitempty"`
	ContainerID    string    `json:"container_id,omitempty"`
	ConfigHash     string    `json:"config_hash,omitempty"`
	StartedAt      time.Time `json:"started_at,omitzero"`
	// Plugins maps "tools/<id>" and "functions/<id>" to the content hash last
	// synced into Open WebUI, so unchanged files cause no API calls.
	Plugins map[string]string `json:"plugins,omitempty"`
}

// Store is the agent's state store.
type Store struct {
	db *bolt.DB
}

// Open opens (creating if needed) the store file and upgrades its schema.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("store %s is locked: is another runtime-agent running with this data directory?", path)
		}
		return nil, fmt.Errorf("opening store %s: %w", path, err)
	}
	s := &Store{db: db}
	if err := s.upgrade(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) upgrade() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucketIfNotExists(bucketProjects); err != nil {
			return err
		}
		if v := meta.Get([]byte("schema")); v != nil {
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("store schema version %q is not a number", v)
			}
			if n > schemaVersion {
				return fmt.Errorf("store schema version %d is newer than this agent understands (%d): upgrade runtime-agent", n, schemaVersion)
			}
		}
		return meta.Put([]byte("schema"), []byte(strconv.Itoa(schemaVersion)))
	})
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Get reads one project.
func (s *Store) Get(slug string) (*Project, error) {
	var p *Project
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		p, err = get(tx, slug)
		return err
	})
	return p, err
}

func get(tx *bolt.Tx, slug string) (*Project, error) {
	v := tx.Bucket(bucketProjects).Get([]byte(slug))
	if v == nil {
		return nil, ErrNotFound
	}
	var p Project
	if err := json.Unmarshal(v, &p); err != nil {
		return nil, fmt.Errorf("decoding project %q: %w", slug, err)
	}
	return &p, nil
}

func put(tx *bolt.Tx, p *Project) error {
	v, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketProjects).Put([]byte(p.Slug), v)
}

// List reads every project, sorted by slug.
func (s *Store) List() ([]*Project, error) {
	var out []*Project
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketProjects).ForEach(func(k, v []byte) error {
			var p Project
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decoding project %q: %w", k, err)
			}
			out = append(out, &p)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return out, err
}

// Create stores a new project; ErrExists if the slug is taken.
func (s *Store) Create(p *Project) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketProjects).Get([]byte(p.Slug)) != nil {
			return ErrExists
		}
		return put(tx, p)
	})
}

// Update reads a project, lets fn change it and writes it back, all in one
// transaction. If fn returns an error nothing is written.
func (s *Store) Update(slug string, fn func(p *Project) error) (*Project, error) {
	var out *Project
	err := s.db.Update(func(tx *bolt.Tx) error {
		p, err := get(tx, slug)
		if err != nil {
			return err
		}
		if err := fn(p); err != nil {
			return err
		}
		out = p
		return put(tx, p)
	})
	return out, err
}

// Delete removes a project and returns the deleted record.
func (s *Store) Delete(slug string) (*Project, error) {
	var out *Project
	err := s.db.Update(func(tx *bolt.Tx) error {
		p, err := get(tx, slug)
		if err != nil {
			return err
		}
		out = p
		return tx.Bucket(bucketProjects).Delete([]byte(slug))
	})
	return out, err
}

// UpdateAll runs fn on every project and writes them all back in one
// transaction (key rotation): all or nothing.
func (s *Store) UpdateAll(fn func(p *Project) error) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProjects)
		var all []*Project
		if err := b.ForEach(func(k, v []byte) error {
			var p Project
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decoding project %q: %w", k, err)
			}
			all = append(all, &p)
			return nil
		}); err != nil {
			return err
		}
		for _, p := range all {
			if err := fn(p); err != nil {
				return err
			}
			if err := put(tx, p); err != nil {
				return err
			}
		}
		return nil
	})
}
