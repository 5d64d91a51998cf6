package sweep_test

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/sweep"
)

// t0 is the tests' reference time: rows are stamped relative to it and the
// worker's clock is set relative to it.
var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// quiet discards the worker's logs.
var quiet = slog.New(slog.DiscardHandler)

// The retention and grace durations of the rule tests: none is a default,
// so a worker that ignored the configuration would fail them.
const (
	testRevokedRetention  = 7 * 24 * time.Hour
	testOrphanClientGrace = 2 * time.Hour
	testPendingGrace      = 3 * time.Hour
)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newWorker builds a worker over a grant.Manager configured by g — the
// store the worker sweeps, its clock and its observer — or fails t. The
// manager's logger defaults to quiet.
func newWorker(t testing.TB, g grant.Config, cfg sweep.Config) *sweep.Worker {
	t.Helper()
	if g.Logger == nil {
		g.Logger = quiet
	}
	m, err := grant.New(g)
	if err != nil {
		t.Fatalf("grant.New: %v", err)
	}
	if cfg.BatchTime == 0 {
		// No pacing unless a test asks for it: under -race on a busy
		// machine a small batch can exceed the default BatchTime, which
		// would change the batch sizes the tests expect.
		cfg.BatchTime = time.Hour
	}
	if cfg.DutyCycle == 0 {
		cfg.DutyCycle = 1 // and no waits between batches, for speed
	}
	w, err := sweep.New(m, cfg)
	if err != nil {
		t.Fatalf("sweep.New: %v", err)
	}
	return w
}

// seeder inserts rows with exact timestamps through the store contract and
// remembers them by name, so a test can say which of them a run deletes.
type seeder struct {
	t    testing.TB
	s    store.Ops
	rows map[string]rowRef
	// grants and clients by name, for the rows that reference them.
	grants  map[string]store.Grant
	clients map[string]store.Client
}

// rowRef locates a row: its table (without prefix or schema) and id.
type rowRef struct{ table, id string }

func newSeeder(t testing.TB, s store.Ops) *seeder {
	return &seeder{t: t, s: s, rows: map[string]rowRef{}, grants: map[string]store.Grant{},
		clients: map[string]store.Client{}}
}

func (e *seeder) name(name string, r rowRef) {
	e.t.Helper()
	if _, dup := e.rows[name]; dup {
		e.t.Fatalf("seeder: row %q named twice", name)
	}
	e.rows[name] = r
}

// client inserts a client created at at.
func (e *seeder) client(name string, dynamic bool, at time.Time) store.Client {
	e.t.Helper()
	c := store.Client{ID: "client-" + newID(), Name: name, RedirectURIs: []string{"https://app.example/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		Scopes: []string{"read"}, Dynamic: dynamic, CreatedAt: at, UpdatedAt: at}
	if err := e.s.CreateClient(context.Background(), c); err != nil {
		e.t.Fatalf("CreateClient: %v", err)
	}
	e.name(name, rowRef{"clients", c.ID})
	e.clients[name] = c
	return c
}

// grant inserts a grant of client (a name given to client) in status st,
// created at created; a revoked grant is revoked at revoked.
func (e *seeder) grant(name, client string, st store.GrantStatus, created, revoked time.Time) store.Grant {
	e.t.Helper()
	c, ok := e.clients[client]
	if !ok {
		e.t.Fatalf("seeder: no client %q", client)
	}
	g := store.Grant{ID: newID(), ClientID: c.ID, Subject: "alice-" + name, SubjectKind: "user",
		Resource: "https://mcp.example/", RedirectURI: "https://app.example/cb", Scopes: []string{"read"},
		Status: st, CreatedAt: created}
	switch st {
	case store.GrantActive:
		g.ActivatedAt = created
	case store.GrantRevoked:
		g.ActivatedAt, g.RevokedAt, g.RevokeReason = created, revoked, "user_revoked"
	}
	if err := e.s.CreateGrant(context.Background(), g); err != nil {
		e.t.Fatalf("CreateGrant: %v", err)
	}
	e.name(name, rowRef{"grants", g.ID})
	e.grants[name] = g
	return g
}

func (e *seeder) grantOf(name string) store.Grant {
	e.t.Helper()
	g, ok := e.grants[name]
	if !ok {
		e.t.Fatalf("seeder: no grant %q", name)
	}
	return g
}

// request inserts an authorization request of grant g expiring at expires,
// changed by mut.
func (e *seeder) request(name, g string, expires time.Time, mut ...func(*store.AuthRequest)) {
	e.t.Helper()
	gr := e.grantOf(g)
	r := store.AuthRequest{ID: newID(), GrantID: gr.ID, ClientID: gr.ClientID, RedirectURI: gr.RedirectURI,
		Scopes: gr.Scopes, State: "st", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256", Resource: gr.Resource, CreatedAt: expires.Add(-10 * time.Minute),
		ExpiresAt: expires}
	for _, m := range mut {
		m(&r)
	}
	if err := e.s.CreateAuthRequest(context.Background(), r); err != nil {
		e.t.Fatalf("CreateAuthRequest: %v", err)
	}
	e.name(name, rowRef{"auth_requests", r.ID})
}

// code inserts an authorization code of grant g expiring at expires, used
// at used unless used is zero.
func (e *seeder) code(name, g string, expires, used time.Time) {
	e.t.Helper()
	gr := e.grantOf(g)
	id := newID()
	c := store.AuthCode{ID: id, Hash: hash("code-" + id), GrantID: gr.ID, ClientID: gr.ClientID,
		RedirectURI: gr.RedirectURI, Scopes: gr.Scopes, CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256", CreatedAt: expires.Add(-time.Minute), ExpiresAt: expires, UsedAt: used}
	if err := e.s.CreateAuthCode(context.Background(), c); err != nil {
		e.t.Fatalf("CreateAuthCode: %v", err)
	}
	e.name(name, rowRef{"auth_codes", c.ID})
}

// refresh inserts an active refresh token of grant g, without expiry, in
// a family of its own, changed by mut.
func (e *seeder) refresh(name, g string, mut func(*store.RefreshToken)) {
	e.t.Helper()
	gr := e.grantOf(g)
	id := newID()
	rt := store.RefreshToken{ID: id, Hash: hash("rt-" + id), GrantID: gr.ID, FamilyID: newID(),
		CreatedAt: gr.CreatedAt}
	if mut != nil {
		mut(&rt)
	}
	if err := e.s.CreateRefreshToken(context.Background(), rt); err != nil {
		e.t.Fatalf("CreateRefreshToken: %v", err)
	}
	e.name(name, rowRef{"refresh_tokens", rt.ID})
}

// event inserts an audit event that occurred at at.
func (e *seeder) event(name string, at time.Time) {
	e.t.Helper()
	ev := store.AuditEvent{ID: newID(), ClientID: "client-x", Subject: "alice", Type: grant.EventGrantRevoked,
		Reason: "user_revoked", Actor: "alice", OccurredAt: at}
	if err := e.s.AppendAuditEvents(context.Background(), []store.AuditEvent{ev}); err != nil {
		e.t.Fatalf("AppendAuditEvents: %v", err)
	}
	e.name(name, rowRef{"audit_events", ev.ID})
}

// revokedAt revokes a refresh token at at.
func revokedAt(at time.Time, reason string) func(*store.RefreshToken) {
	return func(rt *store.RefreshToken) { rt.RevokedAt, rt.RevokeReason = at, reason }
}

// ids returns the ids of every row of every grantkit table of s, sorted,
// per table.
func ids(t testing.TB, s store.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, rows := range testdb.Snapshot(t, s) {
		list := []string{}
		for _, r := range rows {
			id, ok := r["id"].(string)
			if !ok {
				t.Fatalf("%s: id %v (%T) is not a string", table, r["id"], r["id"])
			}
			list = append(list, id)
		}
		slices.Sort(list)
		out[table] = list
	}
	return out
}

// without returns the table ids of all minus the rows named by gone.
func without(all map[string][]string, rows map[string]rowRef, gone map[string]bool) map[string][]string {
	drop := map[rowRef]bool{}
	for name := range gone {
		drop[rows[name]] = true
	}
	out := map[string][]string{}
	for table, list := range all {
		kept := []string{}
		for _, id := range list {
			if !drop[rowRef{table, id}] {
				kept = append(kept, id)
			}
		}
		out[table] = kept
	}
	return out
}

// call is one sweep delete as a hooked store saw it.
type call struct {
	Limit int
	N     int64
}

// hooked is a store whose sweep deletes run before (which may block or
// fail the call) and after (which sees the result) around the real ones.
// Everything else, Exclusive included, is the embedded store's.
type hooked struct {
	store.Store
	before func(ctx context.Context, op string, limit int) error
	after  func(op string, limit int, n int64, err error)
}

// Unwrap lets testdb.Snapshot read the real store.
func (h *hooked) Unwrap() store.Store { return h.Store }

func (h *hooked) do(ctx context.Context, op string, limit int, del func() (int64, error)) (int64, error) {
	if h.before != nil {
		if err := h.before(ctx, op, limit); err != nil {
			return 0, err
		}
	}
	n, err := del()
	if h.after != nil {
		h.after(op, limit, n, err)
	}
	return n, err
}

func (h *hooked) DeleteExpiredAuthRequests(ctx context.Context, before time.Time, limit int) (int64, error) {
	return h.do(ctx, "DeleteExpiredAuthRequests", limit, func() (int64, error) {
		return h.Store.DeleteExpiredAuthRequests(ctx, before, limit)
	})
}

func (h *hooked) DeleteAbandonedGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	return h.do(ctx, "DeleteAbandonedGrants", limit, func() (int64, error) {
		return h.Store.DeleteAbandonedGrants(ctx, before, limit)
	})
}

func (h *hooked) DeleteExpiredAuthCodes(ctx context.Context, before time.Time, limit int) (int64, error) {
	return h.do(ctx, "DeleteExpiredAuthCodes", limit, func() (int64, error) {
		return h.Store.DeleteExpiredAuthCodes(ctx, before, limit)
	})
}

func (h *hooked) DeleteRefreshTokens(ctx context.Context, revokedBefore, expiredBefore time.Time, limit int) (int64, error) {
	return h.do(ctx, "DeleteRefreshTokens", limit, func() (int64, error) {
		return h.Store.DeleteRefreshTokens(ctx, revokedBefore, expiredBefore, limit)
	})
}

func (h *hooked) DeleteRevokedGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	return h.do(ctx, "DeleteRevokedGrants", limit, func() (int64, error) {
		return h.Store.DeleteRevokedGrants(ctx, before, limit)
	})
}

func (h *hooked) DeleteOrphanClients(ctx context.Context, registeredBefore time.Time, limit int) (int64, error) {
	return h.do(ctx, "DeleteOrphanClients", limit, func() (int64, error) {
		return h.Store.DeleteOrphanClients(ctx, registeredBefore, limit)
	})
}

func (h *hooked) DeleteAuditEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	return h.do(ctx, "DeleteAuditEvents", limit, func() (int64, error) {
		return h.Store.DeleteAuditEvents(ctx, before, limit)
	})
}

// recorder records the sweep deletes a hooked store ran, per operation.
type recorder struct {
	mu    sync.Mutex
	calls map[string][]call
}

func (r *recorder) after(op string, limit int, n int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string][]call{}
	}
	r.calls[op] = append(r.calls[op], call{limit, n})
}

func (r *recorder) get() map[string][]call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]call{}
	for op, c := range r.calls {
		out[op] = slices.Clone(c)
	}
	return out
}
