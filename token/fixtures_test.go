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

// The fixtures of the code exchange, rotation, race and fault tests:
// testenv's, under the names these tests use, and what only they need.
// Every name starts with "flow" so they cannot clash with the other test
// files of package token_test.

// flowT0 is the tests' starting time.
var flowT0 = testenv.T0

const (
	flowIssuer        = testenv.Issuer
	flowResource      = testenv.Resource
	flowRedirect      = testenv.RedirectURI
	flowOtherRedirect = testenv.OtherRedirectURI
	flowPKCEVerifier  = testenv.PKCEVerifier
)

// flowChallenge is flowPKCEVerifier's S256 challenge.
var flowChallenge = testenv.Challenge

// flowEnv is one test's testenv.Env with a settable liveness check; t, s,
// clk, events, m, srv and ver are the Env's T, Store, Clock, Events,
// Manager, Server and Verifier (never started: its asynchronous
// last_used_at writes would race with the snapshots these tests compare).
type flowEnv struct {
	*testenv.Env
	t      *testing.T
	s      store.Store
	clk    *testdb.Clock
	events *testdb.Observer
	m      *grant.Manager
	srv    *token.Server
	ver    *token.Verifier

	liveMu sync.Mutex
	live   token.LivenessFunc
}

// flowOpen opens a fresh store on db and an env over it; opts adjust the
// token server's config.
func flowOpen(t *testing.T, db testdb.DB, opts ...func(*token.ServerConfig)) *flowEnv {
	t.Helper()
	return flowOver(t, db.Harness.Open(t, nil), opts...)
}

// flowOver is flowOpen over an open store.
func flowOver(t *testing.T, s store.Store, opts ...func(*token.ServerConfig)) *flowEnv {
	t.Helper()
	e := &flowEnv{}
	// The host's liveness check is e.live, switched by setLive.
	liveness := func(c *token.ServerConfig) { c.Liveness = e.liveness }
	e.Env = testenv.Over(t, s, testenv.WithServerConfig(liveness), testenv.WithServerConfig(opts...))
	e.t, e.s, e.clk, e.events = e.T, e.Store, e.Clock, e.Events
	e.m, e.srv, e.ver = e.Manager, e.Server, e.Verifier
	return e
}

// server returns a manager and a token server over s (the env's store or
// a wrapper around it) with the env's clock, observer and config.
func (e *flowEnv) server(s store.Store) (*grant.Manager, *token.Server) {
	e.t.Helper()
	return e.ServerOver(s)
}

func (e *flowEnv) liveness(ctx context.Context, g store.Grant) (bool, error) {
	e.liveMu.Lock()
	live := e.live
	e.liveMu.Unlock()
	if live == nil {
		return true, nil
	}
	return live(ctx, g)
}

// setLive replaces the host's liveness check; nil means always live.
func (e *flowEnv) setLive(fn token.LivenessFunc) {
	e.liveMu.Lock()
	defer e.liveMu.Unlock()
	e.live = fn
}

// flowClient is a registered client with its secret ("" if public).
type flowClient = testenv.Client

// client registers a public client for flowRedirect and flowOtherRedirect
// with scopes read and write and the default grant types; mut adjusts its
// metadata.
func (e *flowEnv) client(mut ...func(*grant.ClientMetadata)) flowClient {
	e.t.Helper()
	return e.Client(append([]func(*grant.ClientMetadata){testenv.RedirectURIs(flowRedirect, flowOtherRedirect)}, mut...)...)
}

var (
	flowConfidential = testenv.Confidential
	flowNoRefresh    = testenv.NoRefresh
)

// authorize starts and approves an authorization of subject for c (scopes
// read and write, flowRedirect, flowResource) and returns the approval
// with its code.
func (e *flowEnv) authorize(c flowClient, subject string) grant.Approval {
	e.t.Helper()
	return e.Authorize(c, subject)
}

// flowCodeRequest is the valid token request redeeming ap for c.
var flowCodeRequest = testenv.CodeRequest

// exchange redeems req and fails the test on error.
func (e *flowEnv) exchange(req token.CodeRequest) token.Response {
	e.t.Helper()
	return e.Exchange(req)
}

// flowSession is a client that went through the code flow.
type flowSession = testenv.Session

// login registers a client (mut adjusts it), authorizes subject and
// exchanges the code.
func (e *flowEnv) login(subject string, mut ...func(*grant.ClientMetadata)) flowSession {
	e.t.Helper()
	return e.Login(e.client(mut...), subject)
}

// refresh presents rt as sess's client and fails the test on error.
func (e *flowEnv) refresh(sess flowSession, rt string) token.Response {
	e.t.Helper()
	return e.MustRefresh(sess.Client, rt)
}

// verify checks an access token with the env's Verifier for flowResource.
func (e *flowEnv) verify(raw string) (token.Claims, error) { return e.Verify(raw) }

func (e *flowEnv) snapshot() testenv.Snap { e.t.Helper(); return e.Snapshot() }

func (e *flowEnv) grant(id string) store.Grant { e.t.Helper(); return e.Grant(id) }

// refreshRow returns the stored row of refresh token raw.
func (e *flowEnv) refreshRow(raw string) store.RefreshToken {
	e.t.Helper()
	rt, err := e.s.GetRefreshToken(context.Background(), flowHash(raw))
	if err != nil {
		e.t.Fatalf("GetRefreshToken: %v", err)
	}
	return rt
}

// flowHash is the stored form of an opaque secret.
var flowHash = testdb.Hash

var (
	flowRows   = testenv.Rows
	flowActive = testenv.ActiveRefresh
	// flowAudit returns the types of grantID's audit events in snap, counted.
	flowAudit = testenv.AuditCounts
	flowIs    = testenv.Is
)

// flowNoMaterial fails t if any value of snap contains one of the secrets
// or its hash other than as the hash column of its own row.
func flowNoMaterial(t *testing.T, snap map[string][]map[string]any, secrets ...string) {
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
					if col != "hash" && strings.Contains(s, hex.EncodeToString(flowHash(sec))) {
						t.Errorf("%s.%s holds a secret's hash", table, col)
					}
				}
			}
		}
	}
}

// flowStale is a store whose transactions read the first refresh token
// they look up as it was before it was rotated (active): what a request
// sees when a concurrent rotation commits between its read of the token
// and its lock on the grant, as PostgreSQL's READ COMMITTED allows. It
// makes that interleaving deterministic.
type flowStale struct{ store.Store }

func (s flowStale) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error { return fn(&flowStaleTx{Tx: tx}) })
}

// Unwrap lets testdb.Snapshot read the real store.
func (s flowStale) Unwrap() store.Store { return s.Store }

type flowStaleTx struct {
	store.Tx
	read bool
}

func (tx *flowStaleTx) GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
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
