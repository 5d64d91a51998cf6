package grant_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
)

// The grant tests run on testenv's fixture. This file keeps the names the
// grant tests have always used (env's t, s, m and clk, newEnv, request,
// client, activeGrant, …) as thin wrappers over it, so that tests written
// against them keep compiling, and adds what only the grant tests need
// (seed, refreshTokens, equateJSON).

// t0 is the tests' starting time.
var t0 = testenv.T0

const (
	redirectURI = testenv.RedirectURI
	resource    = testenv.Resource
)

// challenge is a valid S256 PKCE challenge (RFC 7636 §4.2).
var challenge = testenv.Challenge

func newClock() *testdb.Clock { return testdb.NewClock(t0) }

// quiet discards the managers' logs.
var quiet = testenv.Quiet

// equateJSON compares JSON documents by value: PostgreSQL's jsonb returns
// them re-serialised.
var equateJSON = cmp.Comparer(func(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && cmp.Equal(va, vb)
})

// env is one test's testenv.Env; t, s, m and clk are its T, Store, Manager
// and Clock.
type env struct {
	*testenv.Env
	t   *testing.T
	s   store.Store
	m   *grant.Manager
	clk *testdb.Clock
}

// newEnv opens a fresh store on db and an env over it; opts adjust the
// manager's config.
func newEnv(t *testing.T, db testdb.DB, opts ...func(*grant.Config)) *env {
	t.Helper()
	return wrapEnv(testenv.New(t, db, testenv.WithGrantConfig(opts...)))
}

// envOver is newEnv over an open store.
func envOver(t *testing.T, s store.Store, opts ...func(*grant.Config)) *env {
	t.Helper()
	return wrapEnv(testenv.Over(t, s, testenv.WithGrantConfig(opts...)))
}

func wrapEnv(e *testenv.Env) *env {
	return &env{Env: e, t: e.T, s: e.Store, m: e.Manager, clk: e.Clock}
}

// manager returns a manager over s with e's clock (testenv.ManagerOver:
// opts adjust it, newEnv's options do not).
func (e *env) manager(s store.Store, opts ...func(*grant.Config)) *grant.Manager {
	e.t.Helper()
	return e.ManagerOver(s, opts...)
}

func (e *env) snapshot() testenv.Snap { e.t.Helper(); return e.Snapshot() }

// client registers a public client allowed the authorization code and
// refresh token grants for redirectURI with scopes read and write; mut
// adjusts its metadata.
func (e *env) client(mut ...func(*grant.ClientMetadata)) store.Client {
	e.t.Helper()
	return e.Client(mut...).Client
}

// request returns a valid authorization request of subject for client,
// with scope read and state "state-" + subject.
func request(clientID, subject string) grant.AuthorizationRequest {
	req := testenv.Request(clientID, subject)
	req.Scopes, req.State = []string{"read"}, "state-"+subject
	return req
}

func (e *env) start(req grant.AuthorizationRequest) grant.Authorization {
	e.t.Helper()
	return e.Start(req)
}

// activeGrant starts and approves req and returns the approval.
func (e *env) activeGrant(req grant.AuthorizationRequest) grant.Approval {
	e.t.Helper()
	return e.ActiveGrant(req)
}

func (e *env) grant(id string) store.Grant { e.t.Helper(); return e.Grant(id) }

// auditTypes returns the types of grantID's audit events, oldest first.
func (e *env) auditTypes(grantID string) []string { e.t.Helper(); return e.AuditTypes(grantID) }

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

// rowsOfType returns the audit rows of a snapshot with the given type.
var rowsOfType = testenv.AuditRows

// is reports whether err matches target, for table tests with a nil target
// meaning success.
var is = testenv.Is

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

func newID() string { return testdb.NewID() }

// tableDiff returns cmp.Diff of one table of two snapshots.
func tableDiff(before, after testenv.Snap, table string) string {
	return cmp.Diff(before[table], after[table])
}
