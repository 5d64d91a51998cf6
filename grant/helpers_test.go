package grant_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

// t0 is the tests' starting time.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

const (
	redirectURI = "https://app.example/cb"
	resource    = "https://api.example/mcp"
)

func newClock() *testdb.Clock { return testdb.NewClock(t0) }

// quiet discards the managers' logs.
var quiet = slog.New(slog.DiscardHandler)

// equateJSON compares JSON documents by value: PostgreSQL's jsonb returns
// them re-serialised.
var equateJSON = cmp.Comparer(func(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && cmp.Equal(va, vb)
})

// env is one test's store, manager and clock.
type env struct {
	t   *testing.T
	s   store.Store
	m   *grant.Manager
	clk *testdb.Clock
}

// newEnv opens a fresh store on db and a manager over it with a test clock;
// opts adjust the manager's config.
func newEnv(t *testing.T, db testdb.DB, opts ...func(*grant.Config)) *env {
	t.Helper()
	return envOver(t, db.Harness.Open(t, nil), opts...)
}

// envOver is newEnv over an open store.
func envOver(t *testing.T, s store.Store, opts ...func(*grant.Config)) *env {
	t.Helper()
	e := &env{t: t, s: s, clk: newClock()}
	e.m = e.manager(s, opts...)
	return e
}

// manager returns a manager over s with e's clock.
func (e *env) manager(s store.Store, opts ...func(*grant.Config)) *grant.Manager {
	e.t.Helper()
	cfg := grant.Config{Store: s, Now: e.clk.Now, Logger: quiet}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := grant.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) snapshot() map[string][]map[string]any {
	e.t.Helper()
	return testdb.Snapshot(e.t, e.s)
}

// client registers a public client allowed the authorization code and
// refresh token grants for redirectURI with scopes read and write; mut
// adjusts its metadata.
func (e *env) client(mut ...func(*grant.ClientMetadata)) store.Client {
	e.t.Helper()
	md := grant.ClientMetadata{Name: "Test client", RedirectURIs: []string{redirectURI}, Scopes: []string{"read", "write"}}
	for _, f := range mut {
		f(&md)
	}
	c, _, err := e.m.RegisterClient(context.Background(), md)
	if err != nil {
		e.t.Fatalf("RegisterClient: %v", err)
	}
	return c
}

// challenge is a valid S256 PKCE challenge (RFC 7636 §4.2).
var challenge = func() string {
	sum := sha256.Sum256([]byte("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

// request returns a valid authorization request of subject for client.
func request(clientID, subject string) grant.AuthorizationRequest {
	return grant.AuthorizationRequest{ClientID: clientID, RedirectURI: redirectURI, Scopes: []string{"read"},
		State: "state-" + subject, CodeChallenge: challenge, CodeChallengeMethod: grant.CodeChallengeS256,
		Resource: resource, Subject: subject, SubjectKind: "user"}
}

func (e *env) start(req grant.AuthorizationRequest) grant.Authorization {
	e.t.Helper()
	a, err := e.m.Start(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	return a
}

// activeGrant starts and approves req and returns the approval.
func (e *env) activeGrant(req grant.AuthorizationRequest) grant.Approval {
	e.t.Helper()
	a := e.start(req)
	ap, err := e.m.Approve(context.Background(), a.Request.ID, nil)
	if err != nil {
		e.t.Fatalf("Approve: %v", err)
	}
	return ap
}

// refreshTokens inserts n active refresh tokens of grantID, each the head
// of its own family, and returns their hashes.
func (e *env) refreshTokens(grantID string, n int) [][]byte {
	e.t.Helper()
	var hashes [][]byte
	err := e.s.InTx(context.Background(), func(tx store.Tx) error {
		for range n {
			_, h := secret.New(secret.RefreshPrefix)
			hashes = append(hashes, h)
			if err := tx.CreateRefreshToken(context.Background(), store.RefreshToken{ID: newID(), Hash: h,
				GrantID: grantID, FamilyID: newID(), CreatedAt: e.clk.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("inserting refresh tokens: %v", err)
	}
	return hashes
}

func (e *env) grant(id string) store.Grant {
	e.t.Helper()
	g, err := e.s.GetGrant(context.Background(), id)
	if err != nil {
		e.t.Fatalf("GetGrant(%s): %v", id, err)
	}
	return g
}

// auditTypes returns the types of grantID's audit events, oldest first.
func (e *env) auditTypes(grantID string) []string {
	e.t.Helper()
	p, err := e.s.ListAuditEvents(context.Background(), store.AuditFilter{GrantID: grantID}, store.Page{Limit: store.MaxPageLimit})
	if err != nil {
		e.t.Fatalf("ListAuditEvents: %v", err)
	}
	var out []string
	for i := len(p.Items) - 1; i >= 0; i-- {
		out = append(out, p.Items[i].Type)
	}
	return out
}

// rowsOfType returns the audit rows of a snapshot with the given type.
func rowsOfType(snap map[string][]map[string]any, typ string) []map[string]any {
	var out []map[string]any
	for _, r := range snap["audit_events"] {
		if r["type"] == typ {
			out = append(out, r)
		}
	}
	return out
}

// seed inserts, in one transaction straight through the store, n active
// grants of client on distinct bindings, each with 5 active refresh tokens
// (one family each), 1 unused authorization code and 1 open authorization
// request, and returns the grant ids.
func seed(tb testing.TB, s store.Store, clientID string, n int, at time.Time) []string {
	tb.Helper()
	ctx := context.Background()
	ids := make([]string, n)
	err := s.InTx(ctx, func(tx store.Tx) error {
		for i := range ids {
			g := store.Grant{ID: newID(), ClientID: clientID, Subject: "user-" + uuid.NewString(), SubjectKind: "user",
				Resource: resource, RedirectURI: redirectURI, Scopes: []string{"read"}, Status: store.GrantActive,
				CreatedAt: at, ActivatedAt: at}
			ids[i] = g.ID
			if err := tx.CreateGrant(ctx, g); err != nil {
				return err
			}
			if err := tx.CreateAuthRequest(ctx, store.AuthRequest{ID: newID(), GrantID: g.ID, ClientID: clientID,
				RedirectURI: redirectURI, Scopes: g.Scopes, CodeChallenge: challenge,
				CodeChallengeMethod: grant.CodeChallengeS256, Resource: resource, CreatedAt: at,
				ExpiresAt: at.Add(time.Hour)}); err != nil {
				return err
			}
			_, h := secret.New(secret.CodePrefix)
			if err := tx.CreateAuthCode(ctx, store.AuthCode{ID: newID(), Hash: h, GrantID: g.ID, ClientID: clientID,
				RedirectURI: redirectURI, Scopes: g.Scopes, CodeChallenge: challenge,
				CodeChallengeMethod: grant.CodeChallengeS256, CreatedAt: at, ExpiresAt: at.Add(time.Minute)}); err != nil {
				return err
			}
			for range 5 {
				_, h := secret.New(secret.RefreshPrefix)
				if err := tx.CreateRefreshToken(ctx, store.RefreshToken{ID: newID(), Hash: h, GrantID: g.ID,
					FamilyID: newID(), CreatedAt: at}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seeding %d grants: %v", n, err)
	}
	return ids
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// tableDiff returns cmp.Diff of one table of two snapshots.
func tableDiff(before, after map[string][]map[string]any, table string) string {
	return cmp.Diff(before[table], after[table])
}

// is reports whether err matches target, for table tests with a nil target
// meaning success.
func is(err, target error) bool {
	if target == nil {
		return err == nil
	}
	return errors.Is(err, target)
}
