package token_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grantkit/grantkit"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// The code exchange, rotation, race and fault tests run on testenv's
// fixture; this file adds what only they need: a settable liveness check,
// a store whose transactions read stale refresh tokens, and the check that
// no secret is stored. (The verifier and key tests use testenv.Env as it
// is; their own helpers are in verifier_test.go.)

// env is one test's testenv.Env with a settable liveness check.
type env struct {
	*testenv.Env

	liveMu sync.Mutex
	live   token.LivenessFunc
}

// newEnv opens a fresh store on db and an env over it; opts adjust the
// token server's config.
func newEnv(t *testing.T, db testdb.DB, opts ...func(*token.ServerConfig)) *env {
	t.Helper()
	c := &store.Counter{}
	e := envOver(t, db.Harness.Open(t, c), opts...)
	e.Counter = c
	return e
}

// envOver is newEnv over an open store.
func envOver(t *testing.T, s store.Store, opts ...func(*token.ServerConfig)) *env {
	t.Helper()
	e := &env{}
	liveness := func(c *token.ServerConfig) { c.Liveness = e.liveness }
	e.Env = testenv.Over(t, s, testenv.WithServerConfig(liveness), testenv.WithServerConfig(opts...))
	return e
}

// liveness is the host's liveness check of every server of the env: the
// one setLive set, or always live.
func (e *env) liveness(ctx context.Context, g store.Grant) (bool, error) {
	e.liveMu.Lock()
	live := e.live
	e.liveMu.Unlock()
	if live == nil {
		return true, nil
	}
	return live(ctx, g)
}

// setLive replaces the host's liveness check; nil means always live.
func (e *env) setLive(fn token.LivenessFunc) {
	e.liveMu.Lock()
	defer e.liveMu.Unlock()
	e.live = fn
}

// client registers a public client for testenv.RedirectURI and
// testenv.OtherRedirectURI with scopes read and write and the default
// grant types; mut adjusts its metadata.
func (e *env) client(mut ...func(*grant.ClientMetadata)) testenv.Client {
	e.T.Helper()
	both := testenv.RedirectURIs(testenv.RedirectURI, testenv.OtherRedirectURI)
	return e.Client(append([]func(*grant.ClientMetadata){both}, mut...)...)
}

// login registers a client (mut adjusts it), authorizes subject and
// exchanges the code.
func (e *env) login(subject string, mut ...func(*grant.ClientMetadata)) testenv.Session {
	e.T.Helper()
	return e.Login(e.client(mut...), subject)
}

// refreshRow returns the stored row of refresh token raw.
func (e *env) refreshRow(raw string) store.RefreshToken {
	e.T.Helper()
	rt, err := e.Store.GetRefreshToken(context.Background(), testdb.Hash(raw))
	if err != nil {
		e.T.Fatalf("GetRefreshToken: %v", err)
	}
	return rt
}

// noMaterial fails t if any value of snap contains one of the secrets
// or its hash other than as the hash column of its own row.
func noMaterial(t *testing.T, snap map[string][]map[string]any, secrets ...string) {
	t.Helper()
	for table, rows := range snap {
		for _, r := range rows {
			for col, v := range r {
				s := fmt.Sprint(v)
				for _, sec := range secrets {
					if sec == "" {
						continue
					}
					if strings.Contains(s, sec) {
						t.Errorf("%s.%s holds a raw secret (%.10s…)", table, col, sec)
					}
					if col != "hash" && strings.Contains(s, hex.EncodeToString(testdb.Hash(sec))) {
						t.Errorf("%s.%s holds a secret's hash", table, col)
					}
				}
			}
		}
	}
}

// staleStore is a store whose transactions read the first refresh token
// they look up as it was before it was rotated (active): what a request
// sees when a concurrent rotation commits between its read of the token
// and its lock on the grant, as PostgreSQL's READ COMMITTED allows. It
// makes that interleaving deterministic.
type staleStore struct{ store.Store }

func (s staleStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&staleTx{Tx: tx}) })
}

// Unwrap lets testdb.Snapshot read the real store.
func (s staleStore) Unwrap() store.Store { return s.Store }

type staleTx struct {
	store.Tx
	read bool
}

func (tx *staleTx) GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	t, err := tx.Tx.GetRefreshToken(ctx, hash)
	if !tx.read {
		tx.read = true
		t.RevokedAt, t.RevokeReason = time.Time{}, ""
	}
	return t, err
}

// errCode is the OAuth error code grantkit.ErrorCode gives err.
func errCode(err error) string {
	code, _ := grantkit.ErrorCode(err)
	return code
}
