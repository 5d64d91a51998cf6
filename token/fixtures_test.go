package token_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grantkit/grantkit"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// The fixtures of the code exchange, rotation, race and fault tests. Every
// name starts with "flow" so they cannot clash with the other test files
// of package token_test.

// flowT0 is the tests' starting time.
var flowT0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

const (
	flowIssuer        = "https://auth.example"
	flowResource      = "https://api.example/mcp"
	flowRedirect      = "https://app.example/cb"
	flowOtherRedirect = "https://app.example/other"
	// flowPKCEVerifier is the code verifier of RFC 7636 appendix B.
	flowPKCEVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

// flowChallenge is flowPKCEVerifier's S256 challenge.
var flowChallenge = func() string {
	sum := sha256.Sum256([]byte(flowPKCEVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

// flowQuiet discards the managers' logs.
var flowQuiet = slog.New(slog.DiscardHandler)

// flowEnv is one test's store, clock, lifecycle manager, token server and
// verifier.
type flowEnv struct {
	t      *testing.T
	s      store.Store
	clk    *testdb.Clock
	events *testdb.Observer
	cfg    token.ServerConfig // the template of every server of the env
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
	e := &flowEnv{t: t, s: s, clk: testdb.NewClock(flowT0), events: &testdb.Observer{}}
	key, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	minter, err := token.NewMinter(token.MinterConfig{Issuer: flowIssuer, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = token.ServerConfig{Minter: minter,
		Liveness: func(ctx context.Context, g store.Grant) (bool, error) {
			e.liveMu.Lock()
			live := e.live
			e.liveMu.Unlock()
			if live == nil {
				return true, nil
			}
			return live(ctx, g)
		}}
	for _, o := range opts {
		o(&e.cfg)
	}
	e.m, e.srv = e.server(s)
	// The verifier is not started: its asynchronous last_used_at writes
	// would race with the snapshots these tests compare.
	e.ver, err = token.NewVerifier(e.m, minter.VerifierConfig(flowResource))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// server returns a manager and a token server over s (the env's store or
// a wrapper around it) with the env's clock, observer and config.
func (e *flowEnv) server(s store.Store) (*grant.Manager, *token.Server) {
	e.t.Helper()
	m, err := grant.New(grant.Config{Store: s, Now: e.clk.Now, Logger: flowQuiet, Observer: e.events})
	if err != nil {
		e.t.Fatal(err)
	}
	srv, err := token.NewServer(m, e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return m, srv
}

// setLive replaces the host's liveness check; nil means always live.
func (e *flowEnv) setLive(fn token.LivenessFunc) {
	e.liveMu.Lock()
	defer e.liveMu.Unlock()
	e.live = fn
}

// flowClient is a registered client with its secret ("" if public).
type flowClient struct {
	store.Client
	Secret string
}

// client registers a public client for flowRedirect and flowOtherRedirect
// with scopes read and write and the default grant types; mut adjusts its
// metadata.
func (e *flowEnv) client(mut ...func(*grant.ClientMetadata)) flowClient {
	e.t.Helper()
	md := grant.ClientMetadata{Name: "Test client", RedirectURIs: []string{flowRedirect, flowOtherRedirect},
		Scopes: []string{"read", "write"}}
	for _, f := range mut {
		f(&md)
	}
	c, sec, err := e.m.RegisterClient(context.Background(), md)
	if err != nil {
		e.t.Fatalf("RegisterClient: %v", err)
	}
	return flowClient{c, sec}
}

func flowConfidential(md *grant.ClientMetadata) { md.Confidential = true }

func flowNoRefresh(md *grant.ClientMetadata) {
	md.GrantTypes = []string{grant.GrantTypeAuthorizationCode}
}

// authorize starts and approves an authorization of subject for c (scopes
// read and write, flowRedirect, flowResource) and returns the approval
// with its code.
func (e *flowEnv) authorize(c flowClient, subject string) grant.Approval {
	e.t.Helper()
	ctx := context.Background()
	a, err := e.m.Start(ctx, grant.AuthorizationRequest{ClientID: c.ID, RedirectURI: flowRedirect,
		Scopes: []string{"read", "write"}, State: "xyz", CodeChallenge: flowChallenge,
		CodeChallengeMethod: grant.CodeChallengeS256, Resource: flowResource, Subject: subject, SubjectKind: "user"})
	if err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	ap, err := e.m.Approve(ctx, a.Request.ID, nil)
	if err != nil {
		e.t.Fatalf("Approve: %v", err)
	}
	return ap
}

// flowCodeRequest is the valid token request redeeming ap for c.
func flowCodeRequest(c flowClient, ap grant.Approval) token.CodeRequest {
	return token.CodeRequest{ClientID: c.ID, ClientSecret: c.Secret, Code: ap.Code, RedirectURI: ap.RedirectURI,
		CodeVerifier: flowPKCEVerifier}
}

// exchange redeems req and fails the test on error.
func (e *flowEnv) exchange(req token.CodeRequest) token.Response {
	e.t.Helper()
	resp, err := e.srv.ExchangeCode(context.Background(), req)
	if err != nil {
		e.t.Fatalf("ExchangeCode: %v", err)
	}
	return resp
}

// flowSession is a client that went through the code flow.
type flowSession struct {
	Client flowClient
	Grant  store.Grant
	Resp   token.Response // the code exchange's response
}

// login registers a client (mut adjusts it), authorizes subject and
// exchanges the code.
func (e *flowEnv) login(subject string, mut ...func(*grant.ClientMetadata)) flowSession {
	e.t.Helper()
	c := e.client(mut...)
	ap := e.authorize(c, subject)
	return flowSession{Client: c, Grant: ap.Grant, Resp: e.exchange(flowCodeRequest(c, ap))}
}

// refreshRequest is sess's client presenting rt.
func (sess flowSession) refreshRequest(rt string) token.RefreshRequest {
	return token.RefreshRequest{ClientID: sess.Client.ID, ClientSecret: sess.Client.Secret, RefreshToken: rt}
}

// refresh presents rt as sess's client and fails the test on error.
func (e *flowEnv) refresh(sess flowSession, rt string) token.Response {
	e.t.Helper()
	resp, err := e.srv.Refresh(context.Background(), sess.refreshRequest(rt))
	if err != nil {
		e.t.Fatalf("Refresh: %v", err)
	}
	return resp
}

// verify checks an access token with the env's Verifier for flowResource.
func (e *flowEnv) verify(raw string) (token.Claims, error) {
	return e.ver.Verify(context.Background(), raw)
}

func (e *flowEnv) snapshot() map[string][]map[string]any {
	e.t.Helper()
	return testdb.Snapshot(e.t, e.s)
}

func (e *flowEnv) grant(id string) store.Grant {
	e.t.Helper()
	g, err := e.s.GetGrant(context.Background(), id)
	if err != nil {
		e.t.Fatalf("GetGrant(%s): %v", id, err)
	}
	return g
}

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
func flowHash(raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return sum[:]
}

// flowRows returns the rows of table in snap whose column col is val.
func flowRows(snap map[string][]map[string]any, table, col string, val any) []map[string]any {
	var out []map[string]any
	for _, r := range snap[table] {
		if r[col] == val {
			out = append(out, r)
		}
	}
	return out
}

// flowActive returns the unrevoked refresh tokens of snap whose column col
// (grant_id or family_id) is val.
func flowActive(snap map[string][]map[string]any, col, val string) []map[string]any {
	var out []map[string]any
	for _, r := range flowRows(snap, "refresh_tokens", col, val) {
		if r["revoked_at"] == nil {
			out = append(out, r)
		}
	}
	return out
}

// flowAudit returns the types of grantID's audit events in snap, counted.
func flowAudit(snap map[string][]map[string]any, grantID string) map[string]int {
	out := map[string]int{}
	for _, r := range flowRows(snap, "audit_events", "grant_id", grantID) {
		out[fmt.Sprint(r["type"])]++
	}
	return out
}

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

// flowIs reports whether err matches want; a nil want means success.
func flowIs(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
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
