package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/grantkit/grantkit/store"
)

const authRequestCols = `id, grant_id, client_id, redirect_uri, scopes, state, code_challenge, code_challenge_method,
	resource, created_at, expires_at, consumed_at, revoked_at`

func scanAuthRequest(r Row) (store.AuthRequest, error) {
	var a store.AuthRequest
	err := r.Scan(textCol{&a.ID}, textCol{&a.GrantID}, &a.ClientID, &a.RedirectURI, listCol{&a.Scopes}, &a.State,
		&a.CodeChallenge, &a.CodeChallengeMethod, &a.Resource, timeCol{&a.CreatedAt}, timeCol{&a.ExpiresAt},
		timeCol{&a.ConsumedAt}, timeCol{&a.RevokedAt})
	return a, err
}

// CreateAuthRequest implements store.Ops.
func (o *Ops) CreateAuthRequest(ctx context.Context, a store.AuthRequest) error {
	if !canon(&a.ID, &a.GrantID) || a.CreatedAt.IsZero() || a.ExpiresAt.IsZero() {
		return fmt.Errorf("%w: an authorization request needs UUID ids and its times", store.ErrInvalidArgument)
	}
	_, err := o.exec(ctx, o.d.SQL(`INSERT INTO {t}auth_requests (`+authRequestCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`),
		a.ID, a.GrantID, a.ClientID, a.RedirectURI, list(a.Scopes), a.State, a.CodeChallenge,
		a.CodeChallengeMethod, a.Resource, o.now(a.CreatedAt), o.now(a.ExpiresAt), o.now(a.ConsumedAt),
		o.now(a.RevokedAt))
	return err
}

// GetAuthRequest implements store.Ops.
func (o *Ops) GetAuthRequest(ctx context.Context, id string) (store.AuthRequest, error) {
	if !canon(&id) {
		return store.AuthRequest{}, store.ErrNotFound
	}
	return scanAuthRequest(o.q.QueryRow(ctx, o.d.SQL(`SELECT `+authRequestCols+` FROM {t}auth_requests WHERE id = $1`), id))
}

// ConsumeAuthRequest implements store.Ops.
func (o *Ops) ConsumeAuthRequest(ctx context.Context, id string, at time.Time) (bool, error) {
	if !canon(&id) {
		return false, nil
	}
	return o.cas(ctx, o.d.SQL(`UPDATE {t}auth_requests SET consumed_at = $2
		WHERE id = $1 AND consumed_at IS NULL AND revoked_at IS NULL`), id, o.now(at))
}

// RevokeAuthRequests implements store.Ops.
func (o *Ops) RevokeAuthRequests(ctx context.Context, grantIDs []string, at time.Time) (int64, error) {
	if len(grantIDs) == 0 {
		return 0, nil
	}
	return o.exec(ctx, o.d.SQL(`UPDATE {t}auth_requests SET revoked_at = $2
		WHERE grant_id `+o.d.InSet("$1")+` AND consumed_at IS NULL AND revoked_at IS NULL`), o.d.set(grantIDs), o.now(at))
}

const authCodeCols = `id, hash, grant_id, client_id, redirect_uri, scopes, code_challenge, code_challenge_method,
	created_at, expires_at, used_at, revoked_at, reuse_reported_at`

func scanAuthCode(r Row) (store.AuthCode, error) {
	var c store.AuthCode
	err := r.Scan(textCol{&c.ID}, bytesCol{&c.Hash}, textCol{&c.GrantID}, &c.ClientID, &c.RedirectURI,
		listCol{&c.Scopes}, &c.CodeChallenge, &c.CodeChallengeMethod, timeCol{&c.CreatedAt},
		timeCol{&c.ExpiresAt}, timeCol{&c.UsedAt}, timeCol{&c.RevokedAt}, timeCol{&c.ReuseReportedAt})
	return c, err
}

// CreateAuthCode implements store.Ops.
func (o *Ops) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	if !canon(&c.ID, &c.GrantID) || len(c.Hash) == 0 || c.CreatedAt.IsZero() || c.ExpiresAt.IsZero() {
		return fmt.Errorf("%w: a code needs UUID ids, a hash and its times", store.ErrInvalidArgument)
	}
	_, err := o.exec(ctx, o.d.SQL(`INSERT INTO {t}auth_codes (`+authCodeCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`),
		c.ID, c.Hash, c.GrantID, c.ClientID, c.RedirectURI, list(c.Scopes), c.CodeChallenge,
		c.CodeChallengeMethod, o.now(c.CreatedAt), o.now(c.ExpiresAt), o.now(c.UsedAt), o.now(c.RevokedAt),
		o.now(c.ReuseReportedAt))
	return err
}

// GetAuthCode implements store.Ops.
func (o *Ops) GetAuthCode(ctx context.Context, hash []byte) (store.AuthCode, error) {
	return scanAuthCode(o.q.QueryRow(ctx, o.d.SQL(`SELECT `+authCodeCols+` FROM {t}auth_codes WHERE hash = $1`), hash))
}

// RedeemAuthCode implements store.Ops.
func (o *Ops) RedeemAuthCode(ctx context.Context, id string, at time.Time) (bool, error) {
	if !canon(&id) {
		return false, nil
	}
	return o.cas(ctx, o.d.SQL(`UPDATE {t}auth_codes SET used_at = $2
		WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL`), id, o.now(at))
}

// RevokeAuthCodes implements store.Ops.
func (o *Ops) RevokeAuthCodes(ctx context.Context, grantIDs []string, at time.Time) (int64, error) {
	if len(grantIDs) == 0 {
		return 0, nil
	}
	return o.exec(ctx, o.d.SQL(`UPDATE {t}auth_codes SET revoked_at = $2
		WHERE grant_id `+o.d.InSet("$1")+` AND used_at IS NULL AND revoked_at IS NULL`), o.d.set(grantIDs), o.now(at))
}

// MarkAuthCodeReuseReported implements store.Ops.
func (o *Ops) MarkAuthCodeReuseReported(ctx context.Context, id string, at time.Time) (bool, error) {
	return o.markReuseReported(ctx, "auth_codes", id, at)
}

// markReuseReported sets reuse_reported_at of row id of table unless it is
// set: true for exactly one caller per row.
func (o *Ops) markReuseReported(ctx context.Context, table, id string, at time.Time) (bool, error) {
	if at.IsZero() {
		// A zero time would be written as NULL and leave the row unmarked,
		// so every caller would get true.
		return false, fmt.Errorf("%w: a reuse mark needs a time", store.ErrInvalidArgument)
	}
	if !canon(&id) {
		return false, nil
	}
	return o.cas(ctx, o.d.SQL(`UPDATE {t}`+table+` SET reuse_reported_at = $2
		WHERE id = $1 AND reuse_reported_at IS NULL`), id, o.now(at))
}
