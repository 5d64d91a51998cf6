// Package grantkit is the root of an embeddable OAuth 2.0 grant lifecycle:
// durable grants with a pending → active → revoked state machine, rotating
// refresh tokens with reuse detection (RFC 9700 §4.14), one cascade
// revocation primitive, RFC 9068 JWT access tokens that fail the moment
// their grant is revoked, a connected-clients API and a sweep worker, on
// PostgreSQL or SQLite.
//
// The packages:
//
//   - store is the persistence contract; store/sqlite and store/postgres
//     implement it, store/storetest is their conformance suite.
//   - grant holds the lifecycle. Its *grant.Manager is the wiring root:
//     configured once with the store, clock, logger, observer and cascade
//     hooks, it is what every other component is built from.
//   - token is the token endpoint's logic (token.NewServer), the access
//     token Minter and KeySet, and the resource side's Verifier
//     (token.NewVerifier).
//   - session lists and revokes connected clients (session.New).
//   - sweep deletes expired rows in the background (sweep.New).
//
// This package maps the errors of all of them to OAuth 2.0 error codes and
// HTTP statuses in one place: [ErrorCode].
//
// Every mutating operation has a …Tx form that joins a store.Tx — the
// store's own (Store.InTx) or a host's transaction joined with an adapter's
// WithTx — so a host can, say, delete a user and revoke their grants in one
// commit. Observer events of a …Tx call are delivered after that commit
// (store.Tx.AfterCommit; for a host's transaction when the host calls
// Committed on the value WithTx returned), never after a rollback.
package grantkit
