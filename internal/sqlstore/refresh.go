package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/grantkit/grantkit/store"
)

const refreshCols = `id, hash, grant_id, family_id, parent_id, created_at, expires_at, family_expires_at,
	revoked_at, revoke_reason, reuse_reported_at`

func scanRefresh(r Row) (store.RefreshToken, error) {
	var t store.RefreshToken
	err := r.Scan(textCol{&t.ID}, bytesCol{&t.Hash}, textCol{&t.GrantID}, textCol{&t.FamilyID},
		textCol{&t.ParentID}, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, timeCol{&t.FamilyExpiresAt},
		timeCol{&t.RevokedAt}, &t.RevokeReason, timeCol{&t.ReuseReportedAt})
	return t, err
}

func (o *Ops) refreshArgs(t store.RefreshToken) []any {
	// Room for the two arguments RotateRefreshToken appends.
	args := make([]any, 0, 13)
	return append(args, t.ID, t.Hash, t.GrantID, t.FamilyID, nullString(t.ParentID), o.now(t.CreatedAt),
		o.now(t.ExpiresAt), o.now(t.FamilyExpiresAt), o.now(t.RevokedAt), t.RevokeReason, o.now(t.ReuseReportedAt))
}

// checkRefresh refuses an incomplete token and canonicalises its ids.
func checkRefresh(t *store.RefreshToken) error {
	if !canon(&t.ID, &t.GrantID, &t.FamilyID) || (t.ParentID != "" && !canon(&t.ParentID)) || len(t.Hash) == 0 ||
		t.CreatedAt.IsZero() {
		return fmt.Errorf("%w: a refresh token needs UUID ids, a hash and a creation time", store.ErrInvalidArgument)
	}
	return nil
}

const insertRefresh = `INSERT INTO {t}refresh_tokens (` + refreshCols + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

// CreateRefreshToken implements store.Ops.
func (o *Ops) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if err := checkRefresh(&t); err != nil {
		return err
	}
	_, err := o.exec(ctx, o.d.SQL(insertRefresh), o.refreshArgs(t)...)
	return err
}

// GetRefreshToken implements store.Ops.
func (o *Ops) GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	return scanRefresh(o.q.QueryRow(ctx, o.d.SQL(`SELECT `+refreshCols+` FROM {t}refresh_tokens WHERE hash = $1`), hash))
}

// GetRefreshFamilyHead implements store.Ops.
func (o *Ops) GetRefreshFamilyHead(ctx context.Context, familyID string) (store.RefreshToken, error) {
	if !canon(&familyID) {
		return store.RefreshToken{}, store.ErrNotFound
	}
	return scanRefresh(o.q.QueryRow(ctx, o.d.SQL(`SELECT `+refreshCols+` FROM {t}refresh_tokens
		WHERE family_id = $1 AND revoked_at IS NULL`), familyID))
}

// RotateRefreshToken implements store.Ops.
func (o *Ops) RotateRefreshToken(ctx context.Context, oldID, reason string, next store.RefreshToken) (bool, error) {
	if err := checkRefresh(&next); err != nil {
		return false, err
	}
	if !canon(&oldID) {
		return false, nil
	}
	if o.d.SingleStatementRotate {
		// One data-modifying CTE: the insert happens only if the update
		// changed the row, atomically, in one round trip. The family_id
		// term gives the planner a selective index whichever it picks:
		// with only id, a generic plan could scan the whole family-head
		// partial index when statistics say few tokens are active.
		args := append(o.refreshArgs(next), oldID, reason)
		return o.cas(ctx, o.d.SQL(`WITH old AS (
			UPDATE {t}refresh_tokens SET revoked_at = $6, revoke_reason = $13
			WHERE id = $12 AND family_id = $4 AND revoked_at IS NULL RETURNING id)
			INSERT INTO {t}refresh_tokens (`+refreshCols+`)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM old`), args...)
	}
	var rotated bool
	err := o.write(ctx, 2, func(o *Ops) error {
		n, err := o.q.Exec(ctx, o.d.SQL(`UPDATE {t}refresh_tokens SET revoked_at = $1, revoke_reason = $2
			WHERE id = $3 AND family_id = $4 AND revoked_at IS NULL`), o.now(next.CreatedAt), reason, oldID,
			next.FamilyID)
		if err != nil || n == 0 {
			return err
		}
		if _, err := o.q.Exec(ctx, o.d.SQL(insertRefresh), o.refreshArgs(next)...); err != nil {
			return err
		}
		rotated = true
		return nil
	})
	return rotated, err
}

// RevokeRefreshFamily implements store.Ops.
func (o *Ops) RevokeRefreshFamily(ctx context.Context, familyID, reason string, at time.Time) (int64, error) {
	if !canon(&familyID) {
		return 0, nil
	}
	return o.exec(ctx, o.d.SQL(`UPDATE {t}refresh_tokens SET revoked_at = $2, revoke_reason = $3
		WHERE family_id = $1 AND revoked_at IS NULL`), familyID, o.now(at), reason)
}

// RevokeRefreshTokens implements store.Ops.
func (o *Ops) RevokeRefreshTokens(ctx context.Context, grantIDs []string, reason string, at time.Time) (int64, error) {
	if len(grantIDs) == 0 {
		return 0, nil
	}
	return o.exec(ctx, o.d.SQL(`UPDATE {t}refresh_tokens SET revoked_at = $2, revoke_reason = $3
		WHERE grant_id `+o.d.InSet("$1")+` AND revoked_at IS NULL`), o.d.set(grantIDs), o.now(at), reason)
}

// MarkRefreshTokenReuseReported implements store.Ops.
func (o *Ops) MarkRefreshTokenReuseReported(ctx context.Context, id string, at time.Time) (bool, error) {
	return o.markReuseReported(ctx, "refresh_tokens", id, at)
}
