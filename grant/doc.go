// Package grant implements the OAuth 2.0 grant lifecycle over a
// [store.Store]: the pending → active → revoked state machine,
// create-or-reuse at the start of an authorization (RFC 6749 §4.1.1),
// approval (activate + issue the authorization code atomically, RFC 6749
// §4.1.2) and denial, the cascade revocation primitive every revocation path
// goes through, and the client registry with material-change detection.
//
// A [Manager] is safe for concurrent use. Every operation comes in two
// forms: a plain one that runs in its own transaction, and a …Tx one that
// joins a transaction the caller holds (the store's own from InTx, or a
// host's transaction joined by an adapter's WithTx), so a host can, for
// example, delete a user and revoke their grants in one commit.
package grant
