package store

import (
	"context"
	"time"
)

// Store is a grantkit database. Every method of [Ops] called on a Store is
// atomic on its own: it runs as one statement, or in its own transaction when
// it needs more than one. Use InTx to compose several operations atomically.
//
// Implementations are safe for concurrent use.
type Store interface {
	Ops

	// InTx runs fn in one read-write transaction and commits when fn returns
	// nil; any error or panic rolls everything back. The Tx must not be used
	// after fn returns. InTx does not retry.
	InTx(ctx context.Context, fn func(tx Tx) error) error

	// Migrate applies the embedded migrations that are not applied yet. It is
	// safe to call concurrently from several processes.
	Migrate(ctx context.Context) error

	// Exclusive runs fn unless another caller (in this or, where the database
	// allows it, another process) is running an Exclusive call with the same
	// name; it reports whether fn ran. The sweep worker uses it so that one
	// instance sweeps at a time. fn must use the Store, not a transaction.
	Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error)
}

// Tx is a read-write transaction: the Store's own (from InTx) or a host's
// transaction joined through an adapter's WithTx. Cascade hooks receive it,
// so host-owned rows change in the same commit.
type Tx interface {
	Ops

	// GetGrantForUpdate reads a grant and locks it until the transaction
	// ends, so a concurrent revocation either commits first (and is seen) or
	// waits (no TOCTOU window between the status check and the
	// token insert).
	GetGrantForUpdate(ctx context.Context, id string) (Grant, error)
	// GetGrantForShare reads a grant and holds a shared lock on it until
	// the transaction ends: a concurrent revocation (or deletion) of the
	// grant commits first and is seen, or waits, exactly as with
	// GetGrantForUpdate, but any number of transactions may hold the
	// shared lock at once. A refresh uses it, so the token families of one
	// grant rotate side by side. A transaction holding it must not write
	// the grant row (two holders upgrading would deadlock); it takes
	// GetGrantForUpdate instead. On SQLite, where a write transaction
	// excludes every other writer, the two are the same. ErrNotFound.
	GetGrantForShare(ctx context.Context, id string) (Grant, error)
	// LockGrants locks the grants with the given ids (unknown ones are
	// skipped) until the transaction ends, in id order as every
	// multi-grant locker does. A revocation takes them before it reads the
	// clock, so its revoked_at is later than every token a transaction
	// that held one of the grants minted. On SQLite, where a write
	// transaction already excludes every other writer, it sends no
	// statement.
	LockGrants(ctx context.Context, ids []string) error

	// GetClientForShare reads a client (soft-deleted ones included) and
	// holds a shared lock on it until the transaction ends: any number of
	// authorizations may validate against the registration at once, while
	// GetClientForUpdate (UpdateClient) and DeleteClient wait for them, so
	// no grant is created from a registration that is being changed
	// (see grant.Manager.UpdateClient). ErrNotFound.
	GetClientForShare(ctx context.Context, id string) (Client, error)
	// GetClientForUpdate reads a client and locks it against changes and
	// shared readers until the transaction ends; ErrNotFound.
	GetClientForUpdate(ctx context.Context, id string) (Client, error)

	// LockBinding serialises, until the transaction ends, the transactions
	// that activate a grant on binding b, so two approvals on one binding
	// queue instead of one failing on the active-binding index.
	// On SQLite, where a write transaction already excludes every other
	// writer, it sends no statement.
	LockBinding(ctx context.Context, b Binding) error

	// AfterCommit registers fn to run once the transaction has committed,
	// in registration order; after a rollback it never runs. grantkit uses
	// it to hand security events to the host's observer only once the
	// change they report is durable. In a Store's own transaction (InTx)
	// fn runs before InTx returns; in a host transaction joined with an
	// adapter's WithTx it runs when the host calls [JoinedTx.Committed].
	AfterCommit(fn func(ctx context.Context))
}

// JoinedTx is a host's transaction joined by an adapter's WithTx: grantkit
// operations run on it exactly as on the Store's own transaction, and the
// host commits or rolls it back. grantkit cannot see that commit, so the
// host reports it: after a successful commit it calls Committed, which
// runs the work registered with AfterCommit (the observer events of the
// grantkit operations run on it). After a rollback it does not call
// Committed and that work is dropped.
type JoinedTx interface {
	Tx
	// Committed runs the AfterCommit callbacks once; later calls do
	// nothing. Call it only after the host's commit succeeded.
	Committed(ctx context.Context)
}

// Ops are the operations of the store contract, grouped by the record they
// serve. Methods returning (bool, error) are compare-and-set operations:
// false with a nil error means another caller changed the row first (or it
// no longer qualifies) and nothing was written. Methods taking ids take them
// as one set; an empty set is a no-op returning zero.
type Ops interface {
	// CreateClient inserts a client; ErrConflict if the id exists.
	CreateClient(ctx context.Context, c Client) error
	// GetClient returns a client, soft-deleted ones included; ErrNotFound.
	GetClient(ctx context.Context, id string) (Client, error)
	// UpdateClient replaces a live client's metadata (name, secret hash,
	// redirect URIs, grant and response types, scopes, updated_at);
	// ErrNotFound if absent or soft-deleted.
	UpdateClient(ctx context.Context, c Client) error
	// DeleteClient soft-deletes a live client at at; ErrNotFound if absent
	// or already deleted.
	DeleteClient(ctx context.Context, id string, at time.Time) error

	// CreateGrant inserts a grant; ErrConflict on a duplicate id
	// or a second active grant on the binding.
	CreateGrant(ctx context.Context, g Grant) error
	// GetGrant returns a grant; ErrNotFound.
	GetGrant(ctx context.Context, id string) (Grant, error)
	// FindActiveGrant returns the active grant on a binding; ErrNotFound.
	FindActiveGrant(ctx context.Context, b Binding) (Grant, error)
	// ActivateGrant moves a pending grant to active at at (compare-and-set on
	// status); ErrConflict if another grant is active on its binding.
	ActivateGrant(ctx context.Context, id string, at time.Time) (bool, error)
	// SelectGrants returns the ids of the non-revoked grants sel matches.
	SelectGrants(ctx context.Context, sel Selector) ([]string, error)
	// RevokeGrants revokes those of ids that are not revoked yet and returns
	// them as they are after the change; the others are left untouched, so a
	// second call returns nothing (idempotent).
	RevokeGrants(ctx context.Context, ids []string, reason string, at time.Time) ([]Grant, error)
	// ListActiveGrants returns one keyset page of active grants joined with
	// their client's name in one query, ordered by created_at DESC, id DESC
	// (a session listing).
	ListActiveGrants(ctx context.Context, f GrantFilter, p Page) (GrantPage, error)
	// TouchGrants sets last_used_at = at on those of the active grants ids
	// whose last_used_at is unset or older than at - window (the Verifier's
	// debounce: a busy grant is written at most once per window), and
	// returns how many it wrote.
	TouchGrants(ctx context.Context, ids []string, at time.Time, window time.Duration) (int64, error)

	// CreateAuthRequest inserts an authorization request.
	CreateAuthRequest(ctx context.Context, r AuthRequest) error
	// GetAuthRequest returns an authorization request; ErrNotFound.
	GetAuthRequest(ctx context.Context, id string) (AuthRequest, error)
	// ConsumeAuthRequest marks an unconsumed, unrevoked request consumed.
	ConsumeAuthRequest(ctx context.Context, id string, at time.Time) (bool, error)
	// RevokeAuthRequests revokes the open requests of the grants.
	RevokeAuthRequests(ctx context.Context, grantIDs []string, at time.Time) (int64, error)

	// CreateAuthCode inserts an authorization code; ErrConflict
	// on a duplicate hash.
	CreateAuthCode(ctx context.Context, c AuthCode) error
	// GetAuthCode returns the code with this hash, used or not; ErrNotFound.
	GetAuthCode(ctx context.Context, hash []byte) (AuthCode, error)
	// RedeemAuthCode marks an unused, unrevoked code used; exactly one of
	// any number of concurrent callers gets true.
	RedeemAuthCode(ctx context.Context, id string, at time.Time) (bool, error)
	// RevokeAuthCodes revokes the unused codes of the grants.
	RevokeAuthCodes(ctx context.Context, grantIDs []string, at time.Time) (int64, error)
	// MarkAuthCodeReuseReported records, at at, that a replay of code id
	// has been audited and reported. It returns true exactly once per code,
	// to the first caller, and false when the code was marked before or
	// does not exist. Reuse handling audits and reports a replay only on
	// true, in the transaction that marks it, so a replayed code is
	// reported at most once however often it is presented (RFC 6749
	// §4.1.2, RFC 9700 §4.14). A zero at is refused (ErrInvalidArgument).
	MarkAuthCodeReuseReported(ctx context.Context, id string, at time.Time) (bool, error)

	// CreateRefreshToken inserts a refresh token; ErrConflict on
	// a duplicate hash.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// GetRefreshToken returns the token with this hash, revoked or not;
	// ErrNotFound.
	GetRefreshToken(ctx context.Context, hash []byte) (RefreshToken, error)
	// GetRefreshFamilyHead returns the family's unrevoked token (a family
	// has at most one); ErrNotFound.
	GetRefreshFamilyHead(ctx context.Context, familyID string) (RefreshToken, error)
	// RotateRefreshToken revokes the token oldID with reason, only if it is
	// not revoked yet and belongs to next's family, and inserts next in the
	// same atomic step. It returns false (and inserts nothing) when the old
	// token was already revoked: a concurrent rotation won, which the caller
	// treats as reuse (RFC 9700 §4.14.2); or when it is of another family.
	RotateRefreshToken(ctx context.Context, oldID, reason string, next RefreshToken) (bool, error)
	// RevokeRefreshFamily revokes the family's active tokens.
	RevokeRefreshFamily(ctx context.Context, familyID, reason string, at time.Time) (int64, error)
	// RevokeRefreshTokens revokes the active tokens of the grants.
	RevokeRefreshTokens(ctx context.Context, grantIDs []string, reason string, at time.Time) (int64, error)
	// MarkRefreshTokenReuseReported records, at at, that a presentation of
	// token id after its revocation has been audited and reported. It
	// returns true exactly once per token, to the first caller, and false
	// when the token was marked before or does not exist. Reuse handling
	// audits and reports only on true, in the transaction that marks it, so
	// a leaked token replayed for the whole retention period is reported
	// once, not once per presentation (RFC 9700 §4.14). A zero at is
	// refused (ErrInvalidArgument).
	MarkRefreshTokenReuseReported(ctx context.Context, id string, at time.Time) (bool, error)

	// AppendAuditEvents inserts events in one statement.
	AppendAuditEvents(ctx context.Context, events []AuditEvent) error
	// ListAuditEvents returns one keyset page of the events of a grant or a
	// subject, ordered by occurred_at DESC, id DESC.
	ListAuditEvents(ctx context.Context, f AuditFilter, p Page) (AuditPage, error)

	// The sweep deletes. Each deletes at most limit rows in one
	// statement and returns how many it deleted.

	// DeleteExpiredAuthRequests deletes requests that expired before before.
	DeleteExpiredAuthRequests(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteAbandonedGrants deletes pending grants created before before
	// that nothing references any more (their requests are swept).
	DeleteAbandonedGrants(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteExpiredAuthCodes deletes codes that expired before before, used
	// or not. Used codes are kept until then so that a replay within the
	// code's lifetime is still detected (RFC 6749 §4.1.2).
	DeleteExpiredAuthCodes(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteRefreshTokens deletes tokens revoked before revokedBefore and
	// unrevoked tokens whose idle or absolute expiry is before
	// expiredBefore. A revoked token is kept for the whole retention even
	// once expired, so presenting it again is still detected as reuse.
	DeleteRefreshTokens(ctx context.Context, revokedBefore, expiredBefore time.Time, limit int) (int64, error)
	// DeleteRevokedGrants deletes grants revoked before before that no
	// request, code or refresh token references.
	DeleteRevokedGrants(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteOrphanClients deletes dynamic clients created before
	// registeredBefore that no grant references.
	DeleteOrphanClients(ctx context.Context, registeredBefore time.Time, limit int) (int64, error)
	// DeleteAuditEvents deletes events that occurred before before.
	DeleteAuditEvents(ctx context.Context, before time.Time, limit int) (int64, error)
}
