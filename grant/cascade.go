package grant

import (
	"context"
	"fmt"
	"time"

	"github.com/grantkit/grantkit/store"
)

// Revocation reasons grantkit itself uses. Hosts may pass their own (e.g.
// "user_deleted", "org_membership_removed", "resource_changed").
const (
	ReasonSuperseded    = "superseded"     // a newer grant on the same binding was activated
	ReasonUserRevoked   = "user_revoked"   // the user revoked a connected client (see package session)
	ReasonClientDeleted = "client_deleted" // the client was soft-deleted
	ReasonClientChanged = "client_changed" // the client's metadata changed materially
	ReasonCodeReused    = "code_reused"    // an authorization code was presented twice
	ReasonRefreshReused = "refresh_reused" // a rotated refresh token was presented again
	ReasonTokenRevoked  = "token_revoked"  // RFC 7009 revocation of one of the grant's tokens
)

// CascadeHook is called by the cascade inside its transaction, after
// grantkit's own rows are revoked, so host-owned artifacts of the revoked
// grants (upstream provider credentials, cached sessions) go in the same
// commit. It is called only when at least one grant was
// actually revoked. Use the adapter's accessor (postgres.PgxTx,
// sqlite.SQLTx) to run the host's own SQL on tx. Returning an error rolls
// the whole revocation back.
type CascadeHook func(ctx context.Context, tx store.Tx, r Revocation) error

// Revocation describes one run of the cascade.
type Revocation struct {
	// Grants are the grants this run revoked, as they are after it.
	Grants []store.Grant
	Reason string
	Actor  string
	At     time.Time
}

// IDs returns the ids of the revoked grants.
func (r Revocation) IDs() []string {
	ids := make([]string, len(r.Grants))
	for i, g := range r.Grants {
		ids[i] = g.ID
	}
	return ids
}

// Revoke revokes the grants ids with reason on behalf of actor, in its own
// transaction, through the cascade: the grants not yet revoked
// become revoked; their open authorization requests, unused codes and
// active refresh tokens are revoked; the cascade hooks run; one
// grant.revoked audit event is written per grant actually revoked. Already
// revoked and unknown ids are skipped, so Revoke is idempotent. It returns
// the grants it revoked. Any failure rolls everything back.
func (m *Manager) Revoke(ctx context.Context, ids []string, reason, actor string) ([]store.Grant, error) {
	var out []store.Grant
	err := m.inTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = m.RevokeTx(ctx, tx, ids, reason, actor)
		return err
	})
	return out, err
}

// RevokeTx is Revoke inside the caller's transaction tx: the store's own
// (InTx) or a host's joined with an adapter's WithTx, so that, for
// example, deleting a user and revoking their grants commit together. The
// grant.revoked event reaches the observer once tx has committed
// (store.Tx.AfterCommit; for a host transaction, when the host calls
// Committed), never after a rollback.
func (m *Manager) RevokeTx(ctx context.Context, tx store.Tx, ids []string, reason, actor string) ([]store.Grant, error) {
	return m.cascade(ctx, tx, ids, reason, actor)
}

// RevokeWhere revokes, through the cascade, every grant that sel selects
// (a user blocked or deleted, removed from an organization, a
// resource disabled or changed, an API key deleted…), in one transaction.
// The number of statements does not depend on how many grants match.
func (m *Manager) RevokeWhere(ctx context.Context, sel store.Selector, reason, actor string) ([]store.Grant, error) {
	var out []store.Grant
	err := m.inTx(ctx, func(tx store.Tx) error {
		var err error
		out, err = m.RevokeWhereTx(ctx, tx, sel, reason, actor)
		return err
	})
	return out, err
}

// RevokeWhereTx is RevokeWhere inside the caller's transaction tx; events
// are reported after its commit, as for RevokeTx.
func (m *Manager) RevokeWhereTx(ctx context.Context, tx store.Tx, sel store.Selector, reason, actor string) ([]store.Grant, error) {
	if reason == "" {
		return nil, ErrInvalidReason
	}
	ids, err := tx.SelectGrants(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("grant: selecting grants: %w", err)
	}
	return m.cascade(ctx, tx, ids, reason, actor)
}

// cascade is the one revocation primitive. It runs a constant number of
// statements whatever the number of grants and dependent rows.
func (m *Manager) cascade(ctx context.Context, tx store.Tx, ids []string, reason, actor string) ([]store.Grant, error) {
	if reason == "" {
		return nil, ErrInvalidReason
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// The locks first, then the clock: a token minted by a transaction
	// that held one of the grants is then older than the revocation.
	if err := tx.LockGrants(ctx, ids); err != nil {
		return nil, fmt.Errorf("grant: locking grants: %w", err)
	}
	at := m.clock()
	revoked, err := tx.RevokeGrants(ctx, ids, reason, at)
	if err != nil {
		return nil, fmt.Errorf("grant: revoking grants: %w", err)
	}
	if len(revoked) == 0 {
		return nil, nil // all already revoked (or unknown): nothing to cascade, no second audit event
	}
	r := Revocation{Grants: revoked, Reason: reason, Actor: actor, At: at}
	changed := r.IDs()
	if _, err := tx.RevokeAuthRequests(ctx, changed, at); err != nil {
		return nil, fmt.Errorf("grant: revoking authorization requests: %w", err)
	}
	if _, err := tx.RevokeAuthCodes(ctx, changed, at); err != nil {
		return nil, fmt.Errorf("grant: revoking codes: %w", err)
	}
	if _, err := tx.RevokeRefreshTokens(ctx, changed, reason, at); err != nil {
		return nil, fmt.Errorf("grant: revoking refresh tokens: %w", err)
	}
	for _, h := range m.hooks {
		if err := h(ctx, tx, r); err != nil {
			return nil, fmt.Errorf("grant: cascade hook: %w", err)
		}
	}
	audit := make([]store.AuditEvent, len(revoked))
	for i, g := range revoked {
		audit[i] = auditEvent(EventGrantRevoked, g, reason, actor, at, nil)
	}
	if err := tx.AppendAuditEvents(ctx, audit); err != nil {
		return nil, fmt.Errorf("grant: writing audit events: %w", err)
	}
	m.report(tx, revocationEvent(revoked, reason))
	return revoked, nil
}

// revocationEvent is the grant.revoked observer event of a cascade that
// revoked the grants revoked.
func revocationEvent(revoked []store.Grant, reason string) Event {
	e := Event{Type: EventGrantRevoked, Reason: reason, Count: len(revoked)}
	if len(revoked) == 1 {
		e.GrantID, e.ClientID, e.Subject = revoked[0].ID, revoked[0].ClientID, revoked[0].Subject
	}
	return e
}
