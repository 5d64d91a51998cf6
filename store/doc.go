// Package store is grantkit's persistence contract: the record types of the
// OAuth 2.0 grant lifecycle (clients, grants, authorization requests and
// codes, refresh tokens, audit events), the [Store] and [Tx] interfaces
// every adapter implements, the [Selector] used by bulk revocation, keyset
// pagination with opaque cursors for session listings, and the sentinel
// errors adapters translate their driver errors into.
//
// Every operation is small and set-based: ids travel as one array parameter,
// so the number of statements an operation executes never depends on the
// number of rows it touches. The policy that composes these operations (the
// state machine, the cascade, reuse detection) lives in the core packages and
// is therefore identical on every database.
//
// Times are stored in UTC with microsecond precision; adapters truncate on
// write, so a value read back equals the value written after
// t.UTC().Truncate(time.Microsecond).
//
// The package imports only the standard library. Adapters live in
// store/postgres and store/sqlite; store/storetest is the conformance suite a
// third-party adapter can run too.
package store
