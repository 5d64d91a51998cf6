// Package testenv is the shared fixture of the core packages' tests
// (grant, token, session): one Env holds a test's store, settable clock,
// observer, grant.Manager and, for the token and session tests, the
// Minter, token Server and Verifier, wired the way a host wires them
// (README, "Wiring a host"); its methods are the operations those tests
// keep repeating — register a client, run an authorization (Start and
// Approve with an S256 PKCE challenge), exchange the code, refresh,
// snapshot the database, read a grant, count audit events.
//
// It is a normal package so that the test packages can share it, but only
// tests import it. Every helper fails the test (t.Fatal) on an unexpected
// error, so that a test reads as the steps it takes. Package-specific
// fixtures (grant's seeding, session's callbacks, token's liveness switch
// and stale-read store) stay in their packages, usually in a thin wrapper
// type embedding *Env.
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
	T *testing.T
	// Store is the store the Env's components run on (for Over, the store
	// it was given, maybe a wrapper).
	Store store.Store
	// Counter counts Store's statements; nil for an Env made with Over.
	Counter *store.Counter
	Clock   *testdb.Clock
	// Events records what the Manager's observer hears.
	Events  *testdb.Observer
	Manager *grant.Manager
	Minter  *token.Minter
	Server  *token.Server
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
// reads through wrappers with an Unwrap() store.Store method).
func Over(t *testing.T, s store.Store, opts ...Option) *Env {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	e := &Env{T: t, Store: s, Clock: testdb.NewClock(T0), Events: &testdb.Observer{}, grantOpts: o.grant}
	key, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	e.Minter, err = token.NewMinter(token.MinterConfig{Issuer: Issuer, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	e.serverCfg = token.ServerConfig{Minter: e.Minter}
	for _, fn := range o.server {
		fn(&e.serverCfg)
	}
	e.Manager, e.Server = e.ServerOver(s)
	e.Verifier, err = token.NewVerifier(e.Manager, e.Minter.VerifierConfig(Resource))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// ManagerOver returns a manager over s (the Env's store or a wrapper around
// it) with the Env's clock, quiet logger and observer, adjusted by opts but
// not by the Env's own WithGrantConfig options: a second manager configured
// differently, such as one that bypasses a hooked store or adds hooks.
func (e *Env) ManagerOver(s store.Store, opts ...func(*grant.Config)) *grant.Manager {
	e.T.Helper()
	cfg := grant.Config{Store: s, Now: e.Clock.Now, Logger: Quiet, Observer: e.Events}
	for _, fn := range opts {
		fn(&cfg)
	}
	m, err := grant.New(cfg)
	if err != nil {
		e.T.Fatal(err)
	}
	return m
}

// ServerOver returns a manager and a token server over s configured like
// the Env's own (all options applied): the Env's operations through a
// wrapper around its store, such as a fault-injecting one.
func (e *Env) ServerOver(s store.Store) (*grant.Manager, *token.Server) {
	e.T.Helper()
	m := e.ManagerOver(s, e.grantOpts...)
	srv, err := token.NewServer(m, e.serverCfg)
	if err != nil {
		e.T.Fatal(err)
	}
	return m, srv
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
	e.T.Helper()
	md := grant.ClientMetadata{Name: "Test client", RedirectURIs: []string{RedirectURI}, Scopes: []string{"read", "write"}}
	for _, fn := range mut {
		fn(&md)
	}
	c, secret, err := e.Manager.RegisterClient(context.Background(), md)
	if err != nil {
		e.T.Fatalf("RegisterClient: %v", err)
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
	e.T.Helper()
	a, err := e.Manager.Start(context.Background(), req)
	if err != nil {
		e.T.Fatalf("Start: %v", err)
	}
	return a
}

// ActiveGrant starts and approves req and returns the approval, with its
// code and active grant.
func (e *Env) ActiveGrant(req grant.AuthorizationRequest) grant.Approval {
	e.T.Helper()
	a := e.Start(req)
	ap, err := e.Manager.Approve(context.Background(), a.Request.ID, nil)
	if err != nil {
		e.T.Fatalf("Approve: %v", err)
	}
	return ap
}

// Authorize starts and approves Request(c.ID, subject).
func (e *Env) Authorize(c Client, subject string) grant.Approval {
	e.T.Helper()
	return e.ActiveGrant(Request(c.ID, subject))
}

// CodeRequest is the valid token request redeeming ap for c.
func CodeRequest(c Client, ap grant.Approval) token.CodeRequest {
	return token.CodeRequest{ClientID: c.ID, ClientSecret: c.Secret, Code: ap.Code, RedirectURI: ap.RedirectURI,
		CodeVerifier: PKCEVerifier}
}

// Exchange redeems req with the Env's Server.
func (e *Env) Exchange(req token.CodeRequest) token.Response {
	e.T.Helper()
	resp, err := e.Server.ExchangeCode(context.Background(), req)
	if err != nil {
		e.T.Fatalf("ExchangeCode: %v", err)
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
	e.T.Helper()
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
	e.T.Helper()
	resp, err := e.Refresh(c, rt)
	if err != nil {
		e.T.Fatalf("Refresh: %v", err)
	}
	return resp
}

// Verify checks an access token with the Env's Verifier.
func (e *Env) Verify(raw string) (token.Claims, error) {
	return e.Verifier.Verify(context.Background(), raw)
}

// Snapshot reads every grantkit table (testdb.Snapshot); take it outside
// transactions.
func (e *Env) Snapshot() Snap {
	e.T.Helper()
	return testdb.Snapshot(e.T, e.Store)
}

// Grant reads grant id from the store.
func (e *Env) Grant(id string) store.Grant {
	e.T.Helper()
	g, err := e.Store.GetGrant(context.Background(), id)
	if err != nil {
		e.T.Fatalf("GetGrant(%s): %v", id, err)
	}
	return g
}

// AuditTypes returns the types of grantID's audit events read through the
// store, oldest first.
func (e *Env) AuditTypes(grantID string) []string {
	e.T.Helper()
	p, err := e.Store.ListAuditEvents(context.Background(), store.AuditFilter{GrantID: grantID},
		store.Page{Limit: store.MaxPageLimit})
	if err != nil {
		e.T.Fatalf("ListAuditEvents: %v", err)
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
	e.T.Helper()
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
