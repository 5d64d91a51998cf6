package session

import (
	"errors"
	"fmt"

	"github.com/grantkit/grantkit/store"
)

// Errors. Check them with errors.Is.
var (
	// ErrNotFound reports a session that does not exist or is no longer
	// active (HTTP 404). It wraps store.ErrNotFound.
	ErrNotFound = fmt.Errorf("session: %w", store.ErrNotFound)
	// ErrForbidden reports a caller who may not see or revoke what they
	// asked for: another subject's session without being an admin, or a
	// tenant they do not belong to (HTTP 403).
	ErrForbidden = errors.New("session: forbidden")
)
