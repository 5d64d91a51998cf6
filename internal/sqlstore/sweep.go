package sqlstore

import (
	"context"
	"time"
)

// The sweep deletes of SPEC §7: each statement deletes at most limit rows,
// chosen by a bounded subquery, so no statement holds locks for long.

// DeleteExpiredAuthRequests implements store.Ops.
func (o *Ops) DeleteExpiredAuthRequests(ctx context.Context, before time.Time, limit int) (int64, error) {
	return o.sweep(ctx, `DELETE FROM {t}auth_requests WHERE id IN (
		SELECT id FROM {t}auth_requests WHERE expires_at < $1 LIMIT $2)`, limit, o.now(before))
}

// DeleteAbandonedGrants implements store.Ops.
func (o *Ops) DeleteAbandonedGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	return o.sweep(ctx, `DELETE FROM {t}grants WHERE id IN (
		SELECT g.id FROM {t}grants g WHERE g.status = 'pending' AND g.created_at < $1 AND `+unreferenced+` LIMIT $2)`,
		limit, o.now(before))
}

// DeleteExpiredAuthCodes implements store.Ops.
func (o *Ops) DeleteExpiredAuthCodes(ctx context.Context, before time.Time, limit int) (int64, error) {
	return o.sweep(ctx, `DELETE FROM {t}auth_codes WHERE id IN (
		SELECT id FROM {t}auth_codes WHERE expires_at < $1 LIMIT $2)`, limit, o.now(before))
}

// DeleteRefreshTokens implements store.Ops.
func (o *Ops) DeleteRefreshTokens(ctx context.Context, revokedBefore, expiredBefore time.Time, limit int) (int64, error) {
	return o.sweep(ctx, `DELETE FROM {t}refresh_tokens WHERE id IN (
		SELECT id FROM {t}refresh_tokens WHERE revoked_at < $1
		OR (revoked_at IS NULL AND (expires_at < $3 OR family_expires_at < $3)) LIMIT $2)`,
		limit, o.now(revokedBefore), o.now(expiredBefore))
}

// DeleteRevokedGrants implements store.Ops.
func (o *Ops) DeleteRevokedGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	return o.sweep(ctx, `DELETE FROM {t}grants WHERE id IN (
		SELECT g.id FROM {t}grants g WHERE g.status = 'revoked' AND g.revoked_at < $1 AND `+unreferenced+` LIMIT $2)`,
		limit, o.now(before))
}

// DeleteOrphanClients implements store.Ops.
func (o *Ops) DeleteOrphanClients(ctx context.Context, registeredBefore time.Time, limit int) (int64, error) {
	return o.sweep(ctx, `DELETE FROM {t}clients WHERE id IN (
		SELECT c.id FROM {t}clients c WHERE c.dynamic AND c.created_at < $1
		AND NOT EXISTS (SELECT 1 FROM {t}grants g WHERE g.client_id = c.id) LIMIT $2)`,
		limit, o.now(registeredBefore))
}

// DeleteAuditEvents implements store.Ops.
func (o *Ops) DeleteAuditEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	return o.sweep(ctx, `DELETE FROM {t}audit_events WHERE id IN (
		SELECT id FROM {t}audit_events WHERE occurred_at < $1 LIMIT $2)`, limit, o.now(before))
}

// unreferenced holds for a grant g that no request, code or token names.
const unreferenced = `NOT EXISTS (SELECT 1 FROM {t}auth_requests r WHERE r.grant_id = g.id)
	AND NOT EXISTS (SELECT 1 FROM {t}auth_codes c WHERE c.grant_id = g.id)
	AND NOT EXISTS (SELECT 1 FROM {t}refresh_tokens t WHERE t.grant_id = g.id)`

func (o *Ops) sweep(ctx context.Context, query string, limit int, before ...any) (int64, error) {
	if err := checkLimit(limit); err != nil {
		return 0, err
	}
	args := []any{before[0], limit}
	args = append(args, before[1:]...)
	return o.exec(ctx, o.d.SQL(query), args...)
}
