package token_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/token"
)

// The benchmarks of issue 4 (figures in its closing note). Each runs
// three sub-benchmarks over the same setup: "grantkit" and "baseline"
// alone, and "interleaved", which alternates one grantkit operation with
// one baseline operation and reports each side's time per operation and
// their ratio (time-ratio = grantkit / baseline), so that both sides see
// the same machine load.
//
//	GRANTKIT_TEST_POSTGRES=… go test -run '^$' -bench . -benchtime 2s -count 3 ./token/

// openSQLite opens a fresh, migrated in-memory SQLite store for b, closed
// when b ends; c may be nil. (testdb's harnesses open stores for tests only.)
func openSQLite(b *testing.B, c *store.Counter) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{Counter: c})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchOp is one benchmarked operation.
type benchOp func() error

// compare runs the three sub-benchmarks; setup builds a fresh pair of
// operations for each. unit names the reported rate (e.g. "tokens/s").
func compare(b *testing.B, unit string, setup func(b *testing.B) (grantkit, baseline benchOp)) {
	run := func(b *testing.B, op benchOp) {
		b.ReportAllocs()
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	}
	b.Run("grantkit", func(b *testing.B) {
		gk, _ := setup(b)
		run(b, gk)
	})
	b.Run("baseline", func(b *testing.B) {
		_, base := setup(b)
		run(b, base)
	})
	b.Run("interleaved", func(b *testing.B) {
		gk, base := setup(b)
		var tg, tb time.Duration
		timed := func(op benchOp, sum *time.Duration) {
			start := time.Now()
			if err := op(); err != nil {
				b.Fatal(err)
			}
			*sum += time.Since(start)
		}
		i := 0
		for b.Loop() {
			if i++; i%2 == 0 { // alternate which side goes first
				timed(gk, &tg)
				timed(base, &tb)
			} else {
				timed(base, &tb)
				timed(gk, &tg)
			}
		}
		n := float64(b.N)
		b.ReportMetric(float64(tg.Nanoseconds())/n, "grantkit-ns/op")
		b.ReportMetric(float64(tb.Nanoseconds())/n, "baseline-ns/op")
		b.ReportMetric(float64(tg)/float64(tb), "time-ratio")
	})
}

// BenchmarkMint compares Minter.Mint with bare go-jose signing the same
// claims with the same EdDSA signer configuration (target: grantkit ≤ 1.3×
// the baseline's time).
func BenchmarkMint(b *testing.B) {
	key := testenv.NewKey(b, token.EdDSA)
	ks, err := token.NewKeySet(key)
	if err != nil {
		b.Fatal(err)
	}
	m, err := token.NewMinter(token.MinterConfig{Issuer: testenv.Issuer, Keys: ks, TTL: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	g := store.Grant{ID: "0195f7a0-0000-7000-8000-000000000001", ClientID: "0195f7a0-0000-7000-8000-000000000002",
		Subject: "alice", Resource: testenv.Resource, Scopes: []string{"read", "write"}, ConfigVersion: 3,
		Status: store.GrantActive}
	now := time.Now()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: token.EdDSA,
		Key: jose.JSONWebKey{Key: key.Private, KeyID: key.ID, Algorithm: string(token.EdDSA)}},
		(&jose.SignerOptions{}).WithType(token.TypeATJWT))
	if err != nil {
		b.Fatal(err)
	}
	_, claims, err := m.Mint(g, g.Scopes, token.SourceOAuthClient, now) // the same claims
	if err != nil {
		b.Fatal(err)
	}
	compare(b, "tokens/s", func(*testing.B) (benchOp, benchOp) {
		return func() error {
				_, _, err := m.Mint(g, g.Scopes, token.SourceOAuthClient, now)
				return err
			}, func() error {
				_, err := jwt.Signed(signer).Claims(claims).Serialize()
				return err
			}
	})
}

// grantColumns are the columns the SQLite adapter reads for a grant.
const grantColumns = `id, client_id, subject, subject_kind, tenant, resource, redirect_uri, scopes, context,
	config_version, status, created_at, activated_at, revoked_at, revoke_reason, last_used_at`

// BenchmarkVerify compares Verifier.Verify (every JWT check plus the grant
// check) on in-memory SQLite with bare go-jose verification (ParseSigned,
// signature, iss/aud/exp/nbf/iat validation) plus one primary-key SELECT of
// the grant row with the same columns through the store's *sql.DB (target:
// grantkit ≤ 1.2× the baseline's time). The clock is frozen, so the
// Verifier's last_used_at writer writes once and then stays idle.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	compare(b, "verifies/s", func(b *testing.B) (benchOp, benchOp) {
		s := openSQLite(b, nil)
		e := testenv.Over(b, s)
		g := e.Authorize(e.Client(), "alice", "read", "write").Grant
		raw := e.Mint(g, "read")
		v := e.StartedVerifierOver(e.Store)

		pub, ok := e.Keys.PublicKey(e.Key.ID)
		if !ok {
			b.Fatal("no public key")
		}
		algs := []jose.SignatureAlgorithm{token.EdDSA}
		expected := jwt.Expected{Issuer: testenv.Issuer, AnyAudience: jwt.Audience{testenv.Resource}}
		query := `SELECT ` + grantColumns + ` FROM ` + s.Prefix() + `grants WHERE id = ?1`
		db := s.DB()
		baseline := func() error {
			tok, err := jwt.ParseSigned(raw, algs)
			if err != nil {
				return err
			}
			var (
				std   jwt.Claims
				extra struct {
					GrantID string `json:"grant_id"`
				}
			)
			if err := tok.Claims(pub.Key, &std, &extra); err != nil {
				return err
			}
			if err := std.ValidateWithLeeway(expected.WithTime(e.Clock.Now()), token.DefaultLeeway); err != nil {
				return err
			}
			var r struct { // every column, as the adapter reads them
				id, clientID, subject, kind, tenant, resource, redirect, scopes, status, reason string
				context                                                                         sql.NullString
				version, created                                                                int64
				activated, revoked, lastUsed                                                    sql.NullInt64
			}
			if err := db.QueryRowContext(ctx, query, extra.GrantID).Scan(&r.id, &r.clientID, &r.subject, &r.kind,
				&r.tenant, &r.resource, &r.redirect, &r.scopes, &r.context, &r.version, &r.status, &r.created,
				&r.activated, &r.revoked, &r.reason, &r.lastUsed); err != nil {
				return err
			}
			if r.status != string(store.GrantActive) {
				return errors.New("baseline: grant not active")
			}
			return nil
		}
		return func() error {
			_, err := v.Verify(ctx, raw)
			return err
		}, baseline
	})
}
