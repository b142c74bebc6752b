package reconcile

import (
	"fmt"

	"github.com/runtimeops/terraform-provider-runtime/agent/internal/seal"
	"github.com/runtimeops/terraform-provider-runtime/agent/internal/store"
)

// Reseal re-seals every sealed value of a project from old to next: the
// deploy key, secrets, connection passwords and generated app secrets. A
// value that already opens with next (a rotation run again after an
// interruption) is left as it is.
func Reseal(p *store.Project, old, next *seal.Sealer) error {
	re := func(v []byte, context string) ([]byte, error) {
		if len(v) == 0 {
			return v, nil
		}
		if _, err := next.Open(v, context); err == nil {
			return v, nil
		}
		pt, err := old.Open(v, context)
		if err != nil {
			return nil, fmt.Errorf("project %q: a sealed value opens with neither the old nor the new key", p.Slug)
		}
		return next.Seal(pt, context)
	}
	var err error
	if p.PrivateKeySealed, err = re(p.PrivateKeySealed, KeyContext(p.UID)); err != nil {
		return err
	}
	for k, s := range p.Secrets {
		if s.Sealed, err = re(s.Sealed, SecretContext(p.UID, k)); err != nil {
			return err
		}
	}
	for k, c := range p.Connections {
		if c.PasswordSealed, err = re(c.PasswordSealed, PasswordContext(p.UID, k)); err != nil {
			return err
		}
	}
	for k, v := range p.Generated {
		if p.Generated[k], err = re(v, GeneratedContext(p.UID, k)); err != nil {
			return err
		}
	}
	return nil
}
