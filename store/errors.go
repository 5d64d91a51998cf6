package store

import "errors"

// Sentinel errors returned (wrapped with %w) by every adapter. Check them with
// errors.Is. Any other error from a store is an infrastructure failure and must
// be treated as such (RFC 6749 §5.2 server_error), never as a client error.
var (
	// ErrNotFound reports that the addressed row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports a uniqueness violation: a duplicate id or hash, or a
	// second active grant on one binding (see Binding), refused by the
	// database.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalidCursor reports a pagination cursor that is malformed, forged or
	// issued for another listing.
	ErrInvalidCursor = errors.New("store: invalid cursor")
	// ErrInvalidArgument reports a call the store refuses before touching the
	// database (an empty selector, a bad page size, a nil record field).
	ErrInvalidArgument = errors.New("store: invalid argument")
	// ErrClosed reports a call on a store after its adapter's Close.
	ErrClosed = errors.New("store: closed")
)
