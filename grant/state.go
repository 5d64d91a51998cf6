package grant

import (
	"fmt"

	"github.com/grantkit/grantkit/store"
)

// Transition reports whether a grant may move from one state to another:
// pending→active, pending→revoked and active→revoked are
// allowed; nothing leaves revoked; every other pair returns
// ErrInvalidTransition. Revoking an already revoked grant is an error here;
// the cascade treats it as a no-op instead so that revocation is idempotent.
func Transition(from, to store.GrantStatus) error {
	switch {
	case from == store.GrantPending && (to == store.GrantActive || to == store.GrantRevoked),
		from == store.GrantActive && to == store.GrantRevoked:
		return nil
	}
	return fmt.Errorf("%w: %s → %s", ErrInvalidTransition, from, to)
}
