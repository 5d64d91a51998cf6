// Package testenv is the shared fixture of the core packages' tests and
// benchmarks (grant, token, session): one Env holds a test's store,
// settable clock, observer, grant.Manager and, for the token and session
// tests, the signing keys, Minter, token Server and Verifier, wired the way
// a host wires them (README, "Wiring a host"); its methods are the
// operations those tests keep repeating — register a client, run an
// authorization (Start and Approve with an S256 PKCE challenge), exchange
// the code, refresh, mint an access token, build further Verifiers (over
// a wrapped store, with their config adjusted, started or not), snapshot
// the database, read a grant, count audit events.
//
// It is a normal package so that the test packages can share it, but only
// tests import it. Every helper fails the test (t.Fatal) on an unexpected
// error, so that a test reads as the steps it takes. Package-specific
// fixtures (grant's seeding, session's callbacks, token's liveness switch,
// stale-read store and hand-signed tokens) stay in their packages, usually
// in a thin wrapper type embedding *Env or in plain functions.
package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// T0 is the tests' starting time: every Env's clock starts there.
var T0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

const (
	// Issuer is the Minter's issuer.
	Issuer = "https://auth.example"
	// Resource is the resource of Request's authorizations and the
	// Verifier's resource.
	Resource = "https://api.example/mcp"
	// RedirectURI is the redirect URI clients register and Request uses.
	RedirectURI = "https://app.example/cb"
	// OtherRedirectURI is a second URI a client may register
	// (RedirectURIs) for tests that present the wrong one.
	OtherRedirectURI = "https://app.example/other"
	// PKCEVerifier is the code verifier of RFC 7636 appendix B.
	PKCEVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

// Challenge is PKCEVerifier's S256 challenge (RFC 7636 §4.2).
var Challenge = func() string {
	sum := sha256.Sum256([]byte(PKCEVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

// Quiet discards the managers' logs.
var Quiet = slog.New(slog.DiscardHandler)

// Snap is a database snapshot as testdb.Snapshot returns it: rows by
// table, each row a map from column to normalised value.
type Snap = map[string][]map[string]any

// Env is one test's store, clock, observer and lifecycle components.
type Env struct {
	// T is the test the Env serves; nil when it serves a benchmark (Over
	// with a *testing.B).
	T *testing.T
	// TB is the test or benchmark the Env serves: its helpers fail it.
	TB testing.TB
	// Store is the store the Env's components run on (for Over, the store
	// it was given, maybe a wrapper).
	Store store.Store
	// Counter counts Store's statements; nil for an Env made with Over.
	Counter *store.Counter
	Clock   *testdb.Clock
	// Events records what the Manager's observer hears.
	Events  *testdb.Observer
	Manager *grant.Manager
	// Keys is the KeySet the Minter signs with and the Verifiers trust:
	// an EdDSA key of its own, or the keys of WithKeys.
	Keys *token.KeySet
	// Key is the key Keys was made with as its current key (after a
	// Keys.Rotate, no longer the one that signs).
	Key    token.Key
	Minter *token.Minter
	Server *token.Server
	// Verifier checks access tokens for Resource. It is never started, so
	// it records no last_used_at: those asynchronous writes would race
	// with the snapshots the tests compare.
	Verifier *token.Verifier

	grantOpts []func(*grant.Config)
	serverCfg token.ServerConfig // the template of every Server of the Env
}

// Option adjusts how New and Over build an Env.
type Option func(*options)

type options struct {
	grant  []func(*grant.Config)
	server []func(*token.ServerConfig)
	keys   []token.Key
}

// WithGrantConfig adjusts the Manager's grant.Config (after the Env has
// set Store, Now, Logger and Observer, so fn may replace them).
func WithGrantConfig(fn ...func(*grant.Config)) Option {
	return func(o *options) { o.grant = append(o.grant, fn...) }
}

// WithServerConfig adjusts the Server's token.ServerConfig (after the Env
// has set Minter).
func WithServerConfig(fn ...func(*token.ServerConfig)) Option {
	return func(o *options) { o.server = append(o.server, fn...) }
}

// WithKeys makes the Env's KeySet sign with current and verify with
// current and older (token.NewKeySet), instead of one EdDSA key of its own:
// a test of another algorithm, or of a set of several keys.
func WithKeys(current token.Key, older ...token.Key) Option {
	return func(o *options) { o.keys = append([]token.Key{current}, older...) }
}

// New opens a fresh store on db, with a statement counter, and an Env
// over it.
func New(t *testing.T, db testdb.DB, opts ...Option) *Env {
	t.Helper()
	c := &store.Counter{}
	e := Over(t, db.Harness.Open(t, c), opts...)
	e.Counter = c
	return e
}

// Over returns an Env over an open store s: a store of the test's own, or
// a wrapper around one (a fault-injecting or interleaving store; Snapshot
// reads through wrappers with an Unwrap() store.Store method). tb may be a
// benchmark, which opens its store itself.
func Over(tb testing.TB, s store.Store, opts ...Option) *Env {
	tb.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	e := &Env{TB: tb, Store: s, Clock: testdb.NewClock(T0), Events: &testdb.Observer{}, grantOpts: o.grant}
	e.T, _ = tb.(*testing.T)
	if o.keys == nil {
		o.keys = []token.Key{NewKey(tb, token.EdDSA)}
	}
	e.Key = o.keys[0]
	var err error
	if e.Keys, err = token.NewKeySet(e.Key, o.keys[1:]...); err != nil {
		tb.Fatal(err)
	}
	e.Minter, err = token.NewMinter(token.MinterConfig{Issuer: Issuer, Keys: e.Keys})
	if err != nil {
		tb.Fatal(err)
	}
	e.serverCfg = token.ServerConfig{Minter: e.Minter}
	for _, fn := range o.server {
		fn(&e.serverCfg)
	}
	e.Manager, e.Server = e.ServerOver(s)
	e.Verifier = e.verifier(e.Manager)
	return e
}

// NewKey generates a signing key for alg (token.GenerateKey).
func NewKey(tb testing.TB, alg jose.SignatureAlgorithm) token.Key {
	tb.Helper()
	k, err := token.GenerateKey(alg)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// ManagerOver returns a manager over s (the Env's store or a wrapper around
// it) with the Env's clock, quiet logger and observer, adjusted by opts but
// not by the Env's own WithGrantConfig options: a second manager configured
// differently, such as one that bypasses a hooked store or adds hooks.
func (e *Env) ManagerOver(s store.Store, opts ...func(*grant.Config)) *grant.Manager {
	e.TB.Helper()
	cfg := grant.Config{Store: s, Now: e.Clock.Now, Logger: Quiet, Observer: e.Events}
	for _, fn := range opts {
		fn(&cfg)
	}
	m, err := grant.New(cfg)
	if err != nil {
		e.TB.Fatal(err)
	}
	return m
}

// ServerOver returns a manager and a token server over s configured like
// the Env's own (all options applied): the Env's operations through a
// wrapper around its store, such as a fault-injecting one.
func (e *Env) ServerOver(s store.Store) (*grant.Manager, *token.Server) {
	e.TB.Helper()
	m := e.ManagerOver(s, e.grantOpts...)
	srv, err := token.NewServer(m, e.serverCfg)
	if err != nil {
		e.TB.Fatal(err)
	}
	return m, srv
}

// VerifierOver returns a Verifier for Resource over s (the Env's store or
// a wrapper around it, such as a failing or counting one) through a
// manager configured like the Env's own, trusting the Minter's issuer and
// keys (Minter.VerifierConfig, with Leeway and TouchWindow left at their
// defaults); mut adjusts the config before token.NewVerifier. It is not
// started, so it records no last_used_at.
func (e *Env) VerifierOver(s store.Store, mut ...func(*token.VerifierConfig)) *token.Verifier {
	e.TB.Helper()
	return e.verifier(e.ManagerOver(s, e.grantOpts...), mut...)
}

// StartedVerifierOver is VerifierOver, started: it records last_used_at
// in the background until the test ends, when it is stopped.
func (e *Env) StartedVerifierOver(s store.Store, mut ...func(*token.VerifierConfig)) *token.Verifier {
	e.TB.Helper()
	v := e.VerifierOver(s, mut...)
	if err := v.Start(context.Background()); err != nil {
		e.TB.Fatal(err)
	}
	e.TB.Cleanup(func() { _ = v.Stop(context.Background()) })
	return v
}

func (e *Env) verifier(m *grant.Manager, mut ...func(*token.VerifierConfig)) *token.Verifier {
	e.TB.Helper()
	cfg := e.Minter.VerifierConfig(Resource)
	for _, fn := range mut {
		fn(&cfg)
	}
	v, err := token.NewVerifier(m, cfg)
	if err != nil {
		e.TB.Fatal(err)
	}
	return v
}

// Client is a registered client with its secret ("" if public).
type Client struct {
	store.Client
	Secret string
}

// Confidential makes a client confidential (it gets a secret).
func Confidential(md *grant.ClientMetadata) { md.Confidential = true }

// NoRefresh registers a client for the authorization code grant only.
func NoRefresh(md *grant.ClientMetadata) { md.GrantTypes = []string{grant.GrantTypeAuthorizationCode} }

// Dynamic marks a client registered through RFC 7591.
func Dynamic(md *grant.ClientMetadata) { md.Dynamic = true }

// Named names a client.
func Named(name string) func(*grant.ClientMetadata) {
	return func(md *grant.ClientMetadata) { md.Name = name }
}

// RedirectURIs sets a client's redirect URIs.
func RedirectURIs(uris ...string) func(*grant.ClientMetadata) {
	return func(md *grant.ClientMetadata) { md.RedirectURIs = uris }
}

// Client registers a public client named "Test client" for RedirectURI
// with scopes read and write and the default grant types; mut adjusts its
// metadata.
func (e *Env) Client(mut ...func(*grant.ClientMetadata)) Client {
	e.TB.Helper()
	md := grant.ClientMetadata{Name: "Test client", RedirectURIs: []string{RedirectURI}, Scopes: []string{"read", "write"}}
	for _, fn := range mut {
		fn(&md)
	}
	c, secret, err := e.Manager.RegisterClient(context.Background(), md)
	if err != nil {
		e.TB.Fatalf("RegisterClient: %v", err)
	}
	return Client{c, secret}
}

// Request returns a valid authorization request of user subject for
// clientID: RedirectURI, scopes read and write, state "xyz", Challenge
// (S256), Resource.
func Request(clientID, subject string) grant.AuthorizationRequest {
	return grant.AuthorizationRequest{ClientID: clientID, RedirectURI: RedirectURI, Scopes: []string{"read", "write"},
		State: "xyz", CodeChallenge: Challenge, CodeChallengeMethod: grant.CodeChallengeS256, Resource: Resource,
		Subject: subject, SubjectKind: "user"}
}

// Start begins the authorization req, leaving its grant pending.
func (e *Env) Start(req grant.AuthorizationRequest) grant.Authorization {
	e.TB.Helper()
	a, err := e.Manager.Start(context.Background(), req)
	if err != nil {
		e.TB.Fatalf("Start: %v", err)
	}
	return a
}

// ActiveGrant starts and approves req and returns the approval, with its
// code and active grant (the test fails if the grant is not active).
func (e *Env) ActiveGrant(req grant.AuthorizationRequest) grant.Approval {
	e.TB.Helper()
	a := e.Start(req)
	ap, err := e.Manager.Approve(context.Background(), a.Request.ID, nil)
	if err != nil {
		e.TB.Fatalf("Approve: %v", err)
	}
	if ap.Grant.Status != store.GrantActive {
		e.TB.Fatalf("Approve: the approved grant is %s", ap.Grant.Status)
	}
	return ap
}

// Authorize starts and approves Request(c.ID, subject), asking for scopes
// instead of read and write when any are given.
func (e *Env) Authorize(c Client, subject string, scopes ...string) grant.Approval {
	e.TB.Helper()
	req := Request(c.ID, subject)
	if len(scopes) > 0 {
		req.Scopes = scopes
	}
	return e.ActiveGrant(req)
}

// CodeRequest is the valid token request redeeming ap for c.
func CodeRequest(c Client, ap grant.Approval) token.CodeRequest {
	return token.CodeRequest{ClientID: c.ID, ClientSecret: c.Secret, Code: ap.Code, RedirectURI: ap.RedirectURI,
		CodeVerifier: PKCEVerifier}
}

// Exchange redeems req with the Env's Server.
func (e *Env) Exchange(req token.CodeRequest) token.Response {
	e.TB.Helper()
	resp, err := e.Server.ExchangeCode(context.Background(), req)
	if err != nil {
		e.TB.Fatalf("ExchangeCode: %v", err)
	}
	return resp
}

// Session is a client that went through the code flow.
type Session struct {
	Client Client
	Grant  store.Grant    // the grant as stored after the exchange
	Resp   token.Response // the code exchange's response
}

// Login runs the whole code flow of subject with c — Authorize, then
// Exchange of the code.
func (e *Env) Login(c Client, subject string) Session {
	e.TB.Helper()
	ap := e.Authorize(c, subject)
	resp := e.Exchange(CodeRequest(c, ap))
	return Session{Client: c, Grant: e.Grant(ap.Grant.ID), Resp: resp}
}

// RefreshRequest is c presenting refresh token rt.
func (c Client) RefreshRequest(rt string) token.RefreshRequest {
	return token.RefreshRequest{ClientID: c.ID, ClientSecret: c.Secret, RefreshToken: rt}
}

// RefreshRequest is sess's client presenting refresh token rt.
func (sess Session) RefreshRequest(rt string) token.RefreshRequest {
	return sess.Client.RefreshRequest(rt)
}

// Refresh presents refresh token rt as c to the Env's Server.
func (e *Env) Refresh(c Client, rt string) (token.Response, error) {
	return e.Server.Refresh(context.Background(), c.RefreshRequest(rt))
}

// MustRefresh is Refresh, failing the test on error.
func (e *Env) MustRefresh(c Client, rt string) token.Response {
	e.TB.Helper()
	resp, err := e.Refresh(c, rt)
	if err != nil {
		e.TB.Fatalf("Refresh: %v", err)
	}
	return resp
}

// Mint signs an access token for g with scopes (from the OAuth client, as
// a code exchange or a refresh mints it) with the Minter at the clock's
// time.
func (e *Env) Mint(g store.Grant, scopes ...string) string {
	e.TB.Helper()
	raw, _, err := e.Minter.Mint(g, scopes, token.SourceOAuthClient, e.Clock.Now())
	if err != nil {
		e.TB.Fatalf("Mint: %v", err)
	}
	return raw
}

// Verify checks an access token with the Env's Verifier.
func (e *Env) Verify(raw string) (token.Claims, error) {
	return e.Verifier.Verify(context.Background(), raw)
}

// Snapshot reads every grantkit table (testdb.Snapshot); take it outside
// transactions.
func (e *Env) Snapshot() Snap {
	e.TB.Helper()
	return testdb.Snapshot(e.TB, e.Store)
}

// Grant reads grant id from the store.
func (e *Env) Grant(id string) store.Grant {
	e.TB.Helper()
	g, err := e.Store.GetGrant(context.Background(), id)
	if err != nil {
		e.TB.Fatalf("GetGrant(%s): %v", id, err)
	}
	return g
}

// AuditTypes returns the types of grantID's audit events read through the
// store, oldest first.
func (e *Env) AuditTypes(grantID string) []string {
	e.TB.Helper()
	p, err := e.Store.ListAuditEvents(context.Background(), store.AuditFilter{GrantID: grantID},
		store.Page{Limit: store.MaxPageLimit})
	if err != nil {
		e.TB.Fatalf("ListAuditEvents: %v", err)
	}
	var out []string
	for i := len(p.Items) - 1; i >= 0; i-- {
		out = append(out, p.Items[i].Type)
	}
	return out
}

// AuditCount returns how many audit events of type typ grantID has, read
// through the store.
func (e *Env) AuditCount(grantID, typ string) int {
	e.TB.Helper()
	n := 0
	for _, t := range e.AuditTypes(grantID) {
		if t == typ {
			n++
		}
	}
	return n
}

// Rows returns the rows of table in snap whose column col is val.
func Rows(snap Snap, table, col string, val any) []map[string]any {
	var out []map[string]any
	for _, r := range snap[table] {
		if r[col] == val {
			out = append(out, r)
		}
	}
	return out
}

// AuditRows returns the audit rows of snap with type typ.
func AuditRows(snap Snap, typ string) []map[string]any {
	return Rows(snap, "audit_events", "type", typ)
}

// AuditCounts returns the types of grantID's audit rows in snap, counted.
func AuditCounts(snap Snap, grantID string) map[string]int {
	out := map[string]int{}
	for _, r := range Rows(snap, "audit_events", "grant_id", grantID) {
		out[fmt.Sprint(r["type"])]++
	}
	return out
}

// ActiveRefresh returns the unrevoked refresh tokens of snap whose column
// col (grant_id or family_id) is val.
func ActiveRefresh(snap Snap, col, val string) []map[string]any {
	var out []map[string]any
	for _, r := range Rows(snap, "refresh_tokens", col, val) {
		if r["revoked_at"] == nil {
			out = append(out, r)
		}
	}
	return out
}

// Is reports whether err matches want, for table tests in which a nil want
// means success.
func Is(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}
