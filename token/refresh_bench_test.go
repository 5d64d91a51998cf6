package token_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/token"
)

// The columns the adapters read and write (internal/sqlstore).
const (
	clientColumns  = `id, name, secret_hash, redirect_uris, grant_types, response_types, scopes, dynamic, created_at, updated_at, deleted_at`
	refreshColumns = `id, hash, grant_id, family_id, parent_id, created_at, expires_at, family_expires_at,
	revoked_at, revoke_reason`
)

// refresher presents a refresh token and returns the next one.
type refresher func(ctx context.Context, rt string) (string, error)

// BenchmarkRefresh compares Server.Refresh — client lookup, then one
// transaction that reads the token, reads (and on PostgreSQL locks) the
// grant and rotates the token, then an EdDSA-signed access token — with a
// hand-written baseline sending the same SQL statements with plain
// database/sql (SQLite) or pgx (PostgreSQL) and signing with bare go-jose
// (target: grantkit ≥ 0.8× the baseline's throughput). Before timing, each
// run checks that grantkit sends exactly as many statements as the
// baseline. One caller rotates one chain, so no rotation loses a race.
func BenchmarkRefresh(b *testing.B) {
	ctx := context.Background()
	adapters := []struct {
		name     string
		open     func(b *testing.B, c *store.Counter) store.Store
		baseline func(e *testenv.Env, c testenv.Client, signer jose.Signer) (refresher, int64)
	}{
		{"sqlite", func(b *testing.B, c *store.Counter) store.Store { return openSQLite(b, c) }, sqliteBaseline},
		{"postgres", func(b *testing.B, c *store.Counter) store.Store {
			return testdb.OpenPostgres(b, testdb.Pool(b), c)
		}, postgresBaseline},
	}
	for _, a := range adapters {
		b.Run(a.name, func(b *testing.B) {
			compare(b, "refreshes/s", func(b *testing.B) (benchOp, benchOp) {
				counter := &store.Counter{}
				e := testenv.Over(b, a.open(b, counter))
				c := e.Client()
				// login returns the first refresh token of a grant of subject.
				login := func(subject string) string { return e.Login(c, subject).Resp.RefreshToken }
				grantkit := func(ctx context.Context, rt string) (string, error) {
					resp, err := e.Server.Refresh(ctx, c.RefreshRequest(rt))
					return resp.RefreshToken, err
				}
				signer, err := jose.NewSigner(jose.SigningKey{Algorithm: token.EdDSA,
					Key: jose.JSONWebKey{Key: e.Key.Private, KeyID: e.Key.ID, Algorithm: string(token.EdDSA)}},
					(&jose.SignerOptions{}).WithType(token.TypeATJWT))
				if err != nil {
					b.Fatal(err)
				}
				baseline, statements := a.baseline(e, c, signer)

				// Each side rotates its own chain (alice's and bob's
				// grants). Both send the same number of statements.
				gkRT, baseRT := login("alice"), login("bob")
				before := counter.Load()
				if gkRT, err = grantkit(ctx, gkRT); err != nil {
					b.Fatal(err)
				}
				if n := counter.Load() - before; n != statements {
					b.Fatalf("Server.Refresh sent %d statements, the baseline %d", n, statements)
				}
				if baseRT, err = baseline(ctx, baseRT); err != nil {
					b.Fatal(err)
				}
				return func() (err error) {
						gkRT, err = grantkit(ctx, gkRT)
						return err
					}, func() (err error) {
						baseRT, err = baseline(ctx, baseRT)
						return err
					}
			})
		})
	}
}

// baselineToken is a refresh token row as the baselines read it.
type baselineToken struct {
	id, grantID, familyID string
	revoked               bool
	familyExpires         any // passed on to the successor as read
}

// baselineGrant is what the baselines need of the grant row.
type baselineGrant struct {
	id, clientID, subject, resource, status string
	scopes                                  []string
	configVersion                           int64
}

// baselineSign signs the access token of a refresh with bare go-jose.
func baselineSign(signer jose.Signer, g baselineGrant, now time.Time) (string, error) {
	c := token.Claims{Issuer: testenv.Issuer, Subject: g.subject, Audience: jwt.Audience{g.resource},
		Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), IssuedAt: jwt.NewNumericDate(now),
		ID: uuid.Must(uuid.NewV7()).String(), ClientID: g.clientID, Scope: strings.Join(g.scopes, " "),
		GrantID: g.id, TokenSource: token.SourceOAuthClient, ConfigVersion: g.configVersion}
	return jwt.Signed(signer).Claims(c).Serialize()
}

var errBaselineRefused = errors.New("baseline: refresh refused")

// sqliteBaseline is Server.Refresh's SQL on SQLite by hand: SELECT the
// client; BEGIN IMMEDIATE (the store's DB begins IMMEDIATE); SELECT the
// token by hash; SELECT the grant; UPDATE the old token; INSERT the new
// one; COMMIT; then sign. Writers are serialised in the process by a mutex,
// as the adapter does with its writer channel.
func sqliteBaseline(e *testenv.Env, client testenv.Client, signer jose.Signer) (refresher, int64) {
	s := e.Store.(*sqlite.Store)
	p := s.Prefix()
	var (
		qClient = `SELECT ` + clientColumns + ` FROM ` + p + `clients WHERE id = ?1`
		qToken  = `SELECT ` + refreshColumns + ` FROM ` + p + `refresh_tokens WHERE hash = ?1`
		qGrant  = `SELECT ` + grantColumns + ` FROM ` + p + `grants WHERE id = ?1`
		update  = `UPDATE ` + p + `refresh_tokens SET revoked_at = ?1, revoke_reason = ?2
			WHERE id = ?3 AND family_id = ?4 AND revoked_at IS NULL`
		insert = `INSERT INTO ` + p + `refresh_tokens (` + refreshColumns + `)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`
	)
	db := s.DB()
	clientID := client.ID
	var mu sync.Mutex
	return func(ctx context.Context, rt string) (string, error) {
		var c struct { // every column, as the adapter reads them
			id, name, redirects, grantTypes, responseTypes, scopes string
			secretHash                                             []byte
			dynamic, created, updated                              int64
			deleted                                                sql.NullInt64
		}
		if err := db.QueryRowContext(ctx, qClient, clientID).Scan(&c.id, &c.name, &c.secretHash, &c.redirects,
			&c.grantTypes, &c.responseTypes, &c.scopes, &c.dynamic, &c.created, &c.updated, &c.deleted); err != nil {
			return "", err
		}
		if c.deleted.Valid || c.secretHash != nil || !strings.Contains(c.grantTypes, `"refresh_token"`) {
			return "", errBaselineRefused
		}

		mu.Lock()
		defer mu.Unlock()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return "", err
		}
		defer tx.Rollback()
		hash := sha256.Sum256([]byte(rt))
		var r struct {
			hash                                    []byte
			parent                                  sql.NullString
			created                                 int64
			expires, familyExpires, revoked         sql.NullInt64
			reason                                  string
			kind, tenant, redirect, scopes, gReason string
			context                                 sql.NullString
			gCreated                                int64
			activated, gRevoked, lastUsed           sql.NullInt64
		}
		var (
			t baselineToken
			g baselineGrant
		)
		if err := tx.QueryRowContext(ctx, qToken, hash[:]).Scan(&t.id, &r.hash, &t.grantID, &t.familyID, &r.parent,
			&r.created, &r.expires, &r.familyExpires, &r.revoked, &r.reason); err != nil {
			return "", err
		}
		t.revoked = r.revoked.Valid
		if r.familyExpires.Valid {
			t.familyExpires = r.familyExpires.Int64
		}
		if err := tx.QueryRowContext(ctx, qGrant, t.grantID).Scan(&g.id, &g.clientID, &g.subject, &r.kind, &r.tenant,
			&g.resource, &r.redirect, &r.scopes, &r.context, &g.configVersion, &g.status, &r.gCreated, &r.activated,
			&r.gRevoked, &r.gReason, &r.lastUsed); err != nil {
			return "", err
		}
		if g.clientID != clientID || g.status != string(store.GrantActive) || t.revoked {
			return "", errBaselineRefused
		}
		if err := json.Unmarshal([]byte(r.scopes), &g.scopes); err != nil {
			return "", err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		next, nextHash := secret.New(secret.RefreshPrefix)
		res, err := tx.ExecContext(ctx, update, now.UnixMicro(), "rotated", t.id, t.familyID)
		if err != nil {
			return "", err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return "", fmt.Errorf("baseline: token not rotated (%d rows, %v)", n, err)
		}
		if _, err := tx.ExecContext(ctx, insert, uuid.Must(uuid.NewV7()).String(), nextHash, t.grantID, t.familyID,
			t.id, now.UnixMicro(), nil, t.familyExpires, nil, ""); err != nil {
			return "", err
		}
		if err := tx.Commit(); err != nil {
			return "", err
		}
		if _, err := baselineSign(signer, g, now); err != nil {
			return "", err
		}
		return next, nil
	}, 7
}

// postgresBaseline is Server.Refresh's SQL on PostgreSQL by hand with
// pgx: SELECT the client; BEGIN; SELECT the token by hash; SELECT the grant
// FOR UPDATE; the rotating CTE (UPDATE … RETURNING feeding the INSERT);
// COMMIT; then sign.
func postgresBaseline(e *testenv.Env, client testenv.Client, signer jose.Signer) (refresher, int64) {
	s := e.Store.(*postgres.Store)
	p := `"` + s.Schema() + `".`
	var (
		qClient = `SELECT ` + clientColumns + ` FROM ` + p + `clients WHERE id = $1`
		qToken  = `SELECT ` + refreshColumns + ` FROM ` + p + `refresh_tokens WHERE hash = $1`
		qGrant  = `SELECT ` + grantColumns + ` FROM ` + p + `grants WHERE id = $1 FOR UPDATE`
		rotate  = `WITH old AS (
			UPDATE ` + p + `refresh_tokens SET revoked_at = $6, revoke_reason = $12
			WHERE id = $11 AND family_id = $4 AND revoked_at IS NULL RETURNING id)
			INSERT INTO ` + p + `refresh_tokens (` + refreshColumns + `)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM old`
	)
	pool := s.Pool()
	clientID := client.ID
	return func(ctx context.Context, rt string) (string, error) {
		var c struct { // every column, as the adapter reads them
			id, name                                 string
			secretHash                               []byte
			redirects, grantTypes, responseTypes, sc []byte
			dynamic                                  bool
			created, updated                         time.Time
			deleted                                  *time.Time
		}
		if err := pool.QueryRow(ctx, qClient, clientID).Scan(&c.id, &c.name, &c.secretHash, &c.redirects,
			&c.grantTypes, &c.responseTypes, &c.sc, &c.dynamic, &c.created, &c.updated, &c.deleted); err != nil {
			return "", err
		}
		if c.deleted != nil || c.secretHash != nil || !strings.Contains(string(c.grantTypes), `"refresh_token"`) {
			return "", errBaselineRefused
		}

		tx, err := pool.Begin(ctx)
		if err != nil {
			return "", err
		}
		defer tx.Rollback(ctx)
		hash := sha256.Sum256([]byte(rt))
		var r struct {
			hash                            []byte
			parent                          *string
			created                         time.Time
			expires, familyExpires, revoked *time.Time
			reason                          string
			kind, tenant, redirect, gReason string
			scopes, context                 []byte
			gCreated                        time.Time
			activated, gRevoked, lastUsed   *time.Time
		}
		var (
			t baselineToken
			g baselineGrant
		)
		if err := tx.QueryRow(ctx, qToken, hash[:]).Scan(&t.id, &r.hash, &t.grantID, &t.familyID, &r.parent,
			&r.created, &r.expires, &r.familyExpires, &r.revoked, &r.reason); err != nil {
			return "", err
		}
		t.revoked = r.revoked != nil
		if r.familyExpires != nil {
			t.familyExpires = *r.familyExpires
		}
		if err := tx.QueryRow(ctx, qGrant, t.grantID).Scan(&g.id, &g.clientID, &g.subject, &r.kind, &r.tenant,
			&g.resource, &r.redirect, &r.scopes, &r.context, &g.configVersion, &g.status, &r.gCreated, &r.activated,
			&r.gRevoked, &r.gReason, &r.lastUsed); err != nil {
			return "", err
		}
		if g.clientID != clientID || g.status != string(store.GrantActive) || t.revoked {
			return "", errBaselineRefused
		}
		if err := json.Unmarshal(r.scopes, &g.scopes); err != nil {
			return "", err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		next, nextHash := secret.New(secret.RefreshPrefix)
		tag, err := tx.Exec(ctx, rotate, uuid.Must(uuid.NewV7()).String(), nextHash, t.grantID, t.familyID, t.id,
			now, nil, t.familyExpires, nil, "", t.id, "rotated")
		if err != nil {
			return "", err
		}
		if tag.RowsAffected() != 1 {
			return "", fmt.Errorf("baseline: token %s not rotated", t.id)
		}
		if err := tx.Commit(ctx); err != nil {
			return "", err
		}
		if _, err := baselineSign(signer, g, now); err != nil {
			return "", err
		}
		return next, nil
	}, 6
}
