package sqlstore

import (
	"context"
	"time"
)

// The sweep deletes: each statement deletes at most limit rows,
// so no statement holds locks for long. A batch is chosen and deleted by
// physical row address (ctid, rowid) rather than by id: a primary-key probe
// per row would multiply the pages each batch reads and dirties, which is
// what concurrent requests feel. The outer statement repeats the predicate,
// so a row changed after the batch was chosen (PostgreSQL re-checks such
// rows against their newest version) is deleted only if it still matches.

// DeleteExpiredAuthRequests implements store.Ops.
func (o *Ops) DeleteExpiredAuthRequests(ctx context.Context, before time.Time, limit int) (int64, error) {
	return o.sweep(ctx, "auth_requests", `expires_at < $1`, limit, o.now(before))
}

// DeleteAbandonedGrants implements store.Ops.
func (o *Ops) DeleteAbandonedGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	return o.sweep(ctx, "grants", `g.status = 'pending' AND g.created_at < $1 AND `+unreferenced,
		limit, o.now(before))
}

// DeleteExpiredAuthCodes implements store.Ops.
func (o *Ops) DeleteExpiredAuthCodes(ctx context.Context, before time.Time, limit int) (int64, error) {
	return o.sweep(ctx, "auth_codes", `expires_at < $1`, limit, o.now(before))
}

// DeleteRefreshTokens implements store.Ops.
func (o *Ops) DeleteRefreshTokens(ctx context.Context, revokedBefore, expiredBefore time.Time, limit int) (int64, error) {
	return o.sweep(ctx, "refresh_tokens", `(revoked_at < $1
		OR (revoked_at IS NULL AND (expires_at < $3 OR family_expires_at < $3)))`,
		limit, o.now(revokedBefore), o.now(expiredBefore))
}

// DeleteRevokedGrants implements store.Ops.
func (o *Ops) DeleteRevokedGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	return o.sweep(ctx, "grants", `g.status = 'revoked' AND g.revoked_at < $1 AND `+unreferenced,
		limit, o.now(before))
}

// DeleteOrphanClients implements store.Ops. A client that is gaining its
// first grant while the batch runs is skipped: the insert's foreign-key
// check holds a lock on the client, which the batch does not wait for.
func (o *Ops) DeleteOrphanClients(ctx context.Context, registeredBefore time.Time, limit int) (int64, error) {
	return o.sweepLocked(ctx, "clients", `g.dynamic AND g.created_at < $1
		AND NOT EXISTS (SELECT 1 FROM {t}grants x WHERE x.client_id = g.id)`, o.d.SkipLocked,
		limit, o.now(registeredBefore))
}

// DeleteAuditEvents implements store.Ops.
func (o *Ops) DeleteAuditEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	return o.sweep(ctx, "audit_events", `occurred_at < $1`, limit, o.now(before))
}

// unreferenced holds for a grant g that no request, code or token names.
const unreferenced = `NOT EXISTS (SELECT 1 FROM {t}auth_requests r WHERE r.grant_id = g.id)
	AND NOT EXISTS (SELECT 1 FROM {t}auth_codes c WHERE c.grant_id = g.id)
	AND NOT EXISTS (SELECT 1 FROM {t}refresh_tokens t WHERE t.grant_id = g.id)`

// sweep deletes at most limit rows of table (aliased g in pred) matching
// pred, whose $1 is before[0], $2 the limit and $3… the rest of before.
func (o *Ops) sweep(ctx context.Context, table, pred string, limit int, before ...any) (int64, error) {
	return o.sweepLocked(ctx, table, pred, "", limit, before...)
}

// sweepLocked is sweep with a locking clause for the rows chosen.
func (o *Ops) sweepLocked(ctx context.Context, table, pred, lock string, limit int, before ...any) (int64, error) {
	if err := checkLimit(limit); err != nil {
		return 0, err
	}
	args := []any{before[0], limit}
	args = append(args, before[1:]...)
	ref := o.d.RowRef
	q := `DELETE FROM {t}` + table + ` AS g WHERE g.` + ref + ` ` +
		o.d.RowRefIn(`SELECT g.`+ref+` FROM {t}`+table+` AS g WHERE `+pred+` LIMIT $2`+lock) + ` AND ` + pred
	return o.exec(ctx, o.d.SQL(q), args...)
}
