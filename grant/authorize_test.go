package grant_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

func TestStartApprove(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		req := request(c.ID, "alice")
		req.Tenant, req.Context, req.ConfigVersion = "org-1", json.RawMessage(`{"workspace": "w1"}`), 7

		a := e.start(req)
		if a.Reused || a.Grant.Status != store.GrantPending {
			t.Fatalf("Start: reused %v, status %s; want a new pending grant", a.Reused, a.Grant.Status)
		}
		if diff := cmp.Diff(a.Grant, e.grant(a.Grant.ID), equateJSON); diff != "" {
			t.Errorf("stored grant (-returned +stored):\n%s", diff)
		}
		wantReq := store.AuthRequest{ID: a.Request.ID, GrantID: a.Grant.ID, ClientID: c.ID, RedirectURI: redirectURI,
			Scopes: []string{"read"}, State: "state-alice", CodeChallenge: challenge, CodeChallengeMethod: "S256",
			Resource: resource, CreatedAt: t0, ExpiresAt: t0.Add(grant.DefaultAuthRequestTTL)}
		gotReq, err := e.s.GetAuthRequest(ctx, a.Request.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantReq, gotReq); diff != "" {
			t.Errorf("stored request (-want +got):\n%s", diff)
		}
		if string(a.Grant.Context) != `{"workspace":"w1"}` {
			t.Errorf("context %s, want it compacted", a.Grant.Context)
		}

		e.clk.Advance(time.Second)
		ap, err := e.m.Approve(ctx, a.Request.ID, nil)
		if err != nil {
			t.Fatalf("Approve: %v", err)
		}
		if !strings.HasPrefix(ap.Code, secret.CodePrefix) || ap.State != "state-alice" || ap.RedirectURI != redirectURI {
			t.Errorf("Approval = %+v", ap)
		}
		now := t0.Add(time.Second)
		g := e.grant(a.Grant.ID)
		if g.Status != store.GrantActive || !g.ActivatedAt.Equal(now) {
			t.Errorf("grant after Approve: status %s activated %v", g.Status, g.ActivatedAt)
		}
		if diff := cmp.Diff(g, ap.Grant, equateJSON); diff != "" {
			t.Errorf("Approval.Grant (-stored +returned):\n%s", diff)
		}
		code, err := e.s.GetAuthCode(ctx, secret.Hash(ap.Code))
		if err != nil {
			t.Fatalf("GetAuthCode(SHA-256 of the code): %v", err)
		}
		wantCode := store.AuthCode{ID: code.ID, Hash: secret.Hash(ap.Code), GrantID: g.ID, ClientID: c.ID,
			RedirectURI: redirectURI, Scopes: []string{"read"}, CodeChallenge: challenge, CodeChallengeMethod: "S256",
			CreatedAt: now, ExpiresAt: now.Add(grant.DefaultCodeTTL)}
		if diff := cmp.Diff(wantCode, code); diff != "" {
			t.Errorf("stored code (-want +got):\n%s", diff)
		}
		if r, _ := e.s.GetAuthRequest(ctx, a.Request.ID); !r.ConsumedAt.Equal(now) {
			t.Errorf("request consumed at %v, want %v", r.ConsumedAt, now)
		}
		if diff := cmp.Diff([]string{grant.EventGrantCreated, grant.EventGrantActivated}, e.auditTypes(g.ID)); diff != "" {
			t.Errorf("audit events (-want +got):\n%s", diff)
		}
		snap := e.snapshot()
		assertNoSecrets(t, snap, testdb.Tables, ap.Code)
		assertNoSecrets(t, snap, []string{"audit_events"}, challenge, "state-alice")

		// Approving twice fails and changes nothing.
		before := e.snapshot()
		if _, err := e.m.Approve(ctx, a.Request.ID, nil); !errors.Is(err, grant.ErrRequestClosed) {
			t.Errorf("second Approve: %v, want ErrRequestClosed", err)
		}
		if _, err := e.m.Approve(ctx, newID(), nil); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Approve of an unknown request: %v, want store.ErrNotFound", err)
		}
		if diff := cmp.Diff(before, e.snapshot()); diff != "" {
			t.Errorf("failed Approve changed the database (-before +after):\n%s", diff)
		}
	})
}

// assertNoSecrets fails if a value of one of the tables of the snapshot
// contains one of the secrets (SPEC §2.6, §10: codes, tokens and client
// secrets are stored only as hashes; audit events carry no code, token,
// state or PKCE material).
func assertNoSecrets(t *testing.T, snap map[string][]map[string]any, tables []string, secrets ...string) {
	t.Helper()
	for _, table := range tables {
		for _, row := range snap[table] {
			for col, v := range row {
				for _, s := range secrets {
					if strings.Contains(fmt.Sprint(v), s) {
						t.Errorf("%s.%s holds a secret: %v", table, col, v)
					}
				}
			}
		}
	}
}

func TestApproveExpired(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db, func(c *grant.Config) { c.AuthRequestTTL = time.Minute })
		c := e.client()
		a := e.start(request(c.ID, "alice"))
		e.clk.Advance(time.Minute) // expires_at is exclusive
		before := e.snapshot()
		if _, err := e.m.Approve(ctx, a.Request.ID, nil); !errors.Is(err, grant.ErrRequestExpired) {
			t.Errorf("Approve: %v, want ErrRequestExpired", err)
		}
		if err := e.m.Deny(ctx, a.Request.ID, "no", "alice"); !errors.Is(err, grant.ErrRequestExpired) {
			t.Errorf("Deny: %v, want ErrRequestExpired", err)
		}
		if diff := cmp.Diff(before, e.snapshot()); diff != "" {
			t.Errorf("expired request changed the database (-before +after):\n%s", diff)
		}
	})
}

func TestStartReuse(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		base := request("", "alice")
		base.Scopes, base.Context, base.ConfigVersion = []string{"read", "write"}, json.RawMessage(`{"a":1,"b":[2]}`), 3
		for _, tt := range []struct {
			name  string
			mut   func(*grant.AuthorizationRequest)
			reuse bool
		}{
			{"identical", func(*grant.AuthorizationRequest) {}, true},
			{"scopes reordered and repeated", func(r *grant.AuthorizationRequest) { r.Scopes = []string{"write", "read", "write"} }, true},
			{"context formatted differently", func(r *grant.AuthorizationRequest) { r.Context = json.RawMessage(" {\"a\": 1, \"b\": [2]}\n") }, true},
			{"other state and challenge", func(r *grant.AuthorizationRequest) { r.State = "other"; r.CodeChallenge = strings.Repeat("A", 43) }, true},
			{"scope dropped", func(r *grant.AuthorizationRequest) { r.Scopes = []string{"read"} }, false},
			{"scope added", func(r *grant.AuthorizationRequest) { r.Scopes = append(r.Scopes, "admin") }, false},
			{"context changed", func(r *grant.AuthorizationRequest) { r.Context = json.RawMessage(`{"a":2,"b":[2]}`) }, false},
			{"no context", func(r *grant.AuthorizationRequest) { r.Context = nil }, false},
			{"config version bumped", func(r *grant.AuthorizationRequest) { r.ConfigVersion = 4 }, false},
			{"subject kind changed", func(r *grant.AuthorizationRequest) { r.SubjectKind = "api_key" }, false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, db)
				c := e.client(func(md *grant.ClientMetadata) { md.Scopes = []string{"read", "write", "admin"} })
				req := base
				req.ClientID = c.ID
				first := e.activeGrant(req).Grant

				next := req
				next.Scopes = append([]string(nil), req.Scopes...)
				tt.mut(&next)
				a := e.start(next)
				if a.Reused != tt.reuse || (a.Grant.ID == first.ID) != tt.reuse {
					t.Fatalf("Start: Reused %v, same grant %v; want %v", a.Reused, a.Grant.ID == first.ID, tt.reuse)
				}
				grants := len(e.snapshot()["grants"])
				if tt.reuse {
					if a.Grant.Status != store.GrantActive || grants != 1 {
						t.Fatalf("reuse: status %s, %d grants; want the active grant and no new one", a.Grant.Status, grants)
					}
					ap, err := e.m.Approve(ctx, a.Request.ID, nil)
					if err != nil || ap.Grant.ID != first.ID {
						t.Fatalf("Approve of the reused grant: %v, grant %s", err, ap.Grant.ID)
					}
					if g := e.grant(first.ID); g.Status != store.GrantActive || !g.ActivatedAt.Equal(first.ActivatedAt) {
						t.Errorf("reused grant changed: %+v", g)
					}
					return
				}
				if a.Grant.Status != store.GrantPending || grants != 2 {
					t.Fatalf("no reuse: status %s, %d grants; want a new pending grant", a.Grant.Status, grants)
				}
				if g := e.grant(first.ID); g.Status != store.GrantActive {
					t.Errorf("starting a new grant touched the active one: %s", g.Status)
				}
			})
		}
	})
}

// TestApproveSupersedes checks SPEC §2.2: activating a new grant on a
// binding revokes the active one (reason superseded) through the cascade.
func TestApproveSupersedes(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		old := e.activeGrant(request(c.ID, "alice"))
		oldTokens := e.refreshTokens(old.Grant.ID, 3)
		other := e.activeGrant(request(c.ID, "bob")) // another binding: untouched
		otherTokens := e.refreshTokens(other.Grant.ID, 1)

		req := request(c.ID, "alice")
		req.Scopes = []string{"read", "write"}
		a := e.start(req)
		e.clk.Advance(time.Second)
		ap, err := e.m.Approve(ctx, a.Request.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := ap.Grant.Binding()
		if got, err := e.s.FindActiveGrant(ctx, b); err != nil || got.ID != a.Grant.ID {
			t.Fatalf("active grant on the binding: %s, %v; want the new one", got.ID, err)
		}
		g := e.grant(old.Grant.ID)
		if g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonSuperseded {
			t.Errorf("old grant: %s %q, want revoked superseded", g.Status, g.RevokeReason)
		}
		for _, h := range oldTokens {
			if rt, _ := e.s.GetRefreshToken(ctx, h); rt.Active() || rt.RevokeReason != grant.ReasonSuperseded {
				t.Errorf("old grant's refresh token: revoked %v reason %q", rt.RevokedAt, rt.RevokeReason)
			}
		}
		if code, _ := e.s.GetAuthCode(ctx, secret.Hash(old.Code)); code.RevokedAt.IsZero() {
			t.Error("old grant's unused code not revoked")
		}
		if diff := cmp.Diff([]string{grant.EventGrantCreated, grant.EventGrantActivated, grant.EventGrantRevoked},
			e.auditTypes(old.Grant.ID)); diff != "" {
			t.Errorf("old grant's audit events (-want +got):\n%s", diff)
		}
		if o := e.grant(other.Grant.ID); o.Status != store.GrantActive {
			t.Errorf("grant on another binding: %s", o.Status)
		}
		if rt, _ := e.s.GetRefreshToken(ctx, otherTokens[0]); !rt.Active() {
			t.Error("another binding's refresh token was revoked")
		}
	})
}

// TestApproveFuncError checks that an ApproveFunc error rolls the whole
// approval back: the request stays open, nothing is activated or
// superseded, no code exists.
func TestApproveFuncError(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		old := e.activeGrant(request(c.ID, "alice"))
		e.refreshTokens(old.Grant.ID, 2)
		req := request(c.ID, "alice")
		req.Scopes = []string{"write"}
		a := e.start(req)
		before := e.snapshot()

		upstream := errors.New("upstream provider refused")
		var seen store.Grant
		_, err := e.m.Approve(ctx, a.Request.ID, func(ctx context.Context, tx store.Tx, g store.Grant) error {
			seen = g
			// The function runs inside the approval: it sees the grant
			// active and its code issued.
			if got, err := tx.GetGrant(ctx, g.ID); err != nil || got.Status != store.GrantActive {
				return fmt.Errorf("grant in the approval's transaction: %s, %v", got.Status, err)
			}
			return upstream
		})
		if !errors.Is(err, upstream) {
			t.Fatalf("Approve: %v, want the ApproveFunc's error", err)
		}
		if seen.ID != a.Grant.ID || seen.Status != store.GrantActive {
			t.Errorf("ApproveFunc got grant %s in state %s", seen.ID, seen.Status)
		}
		if diff := cmp.Diff(before, e.snapshot()); diff != "" {
			t.Errorf("failed approval changed the database (-before +after):\n%s", diff)
		}
		// The request is still open: a retry without the failure succeeds.
		if _, err := e.m.Approve(ctx, a.Request.ID, nil); err != nil {
			t.Errorf("Approve after the failure: %v", err)
		}
	})
}

// TestApproveRevokedGrant checks that no path activates a grant that left
// pending: a request left open on a revoked grant cannot be approved.
func TestApproveRevokedGrant(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		a := e.start(request(e.client().ID, "alice"))
		if _, err := e.s.RevokeGrants(ctx, []string{a.Grant.ID}, "test", t0); err != nil { // bypasses the cascade
			t.Fatal(err)
		}
		before := e.snapshot()
		if _, err := e.m.Approve(ctx, a.Request.ID, nil); !errors.Is(err, grant.ErrInvalidTransition) {
			t.Errorf("Approve: %v, want ErrInvalidTransition", err)
		}
		if diff := cmp.Diff(before, e.snapshot()); diff != "" {
			t.Errorf("refused approval changed the database (-before +after):\n%s", diff)
		}

		// Through the cascade, the request is revoked with the grant.
		b := e.start(request(e.client().ID, "bob"))
		if _, err := e.m.Revoke(ctx, []string{b.Grant.ID}, grant.ReasonUserRevoked, "bob"); err != nil {
			t.Fatal(err)
		}
		// The request's grant was revoked: that is the answer (the client
		// is told access_denied), not a closed request; Deny alike.
		before = e.snapshot()
		if _, err := e.m.Approve(ctx, b.Request.ID, nil); !errors.Is(err, grant.ErrInvalidTransition) {
			t.Errorf("Approve after the cascade: %v, want ErrInvalidTransition", err)
		}
		if err := e.m.Deny(ctx, b.Request.ID, "no", "bob"); !errors.Is(err, grant.ErrInvalidTransition) {
			t.Errorf("Deny after the cascade: %v, want ErrInvalidTransition", err)
		}
		if diff := cmp.Diff(before, e.snapshot()); diff != "" {
			t.Errorf("refused decisions changed the database (-before +after):\n%s", diff)
		}
	})
}

func TestDeny(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		a := e.start(request(c.ID, "alice"))
		e.clk.Advance(time.Second)
		before := e.snapshot()

		reason := "user said no\x00\n" + strings.Repeat("x", 300)
		if err := e.m.Deny(ctx, a.Request.ID, reason, "alice"); err != nil {
			t.Fatalf("Deny: %v", err)
		}
		after := e.snapshot()
		for _, table := range []string{"clients", "grants", "auth_codes", "refresh_tokens"} {
			if diff := tableDiff(before, after, table); diff != "" {
				t.Errorf("Deny changed %s (-before +after):\n%s", table, diff)
			}
		}
		// auth_requests: only consumed_at changed.
		if len(after["auth_requests"]) != 1 {
			t.Fatalf("%d requests", len(after["auth_requests"]))
		}
		consumed := after["auth_requests"][0]["consumed_at"]
		if consumed != t0.Add(time.Second).Format(time.RFC3339Nano) {
			t.Errorf("consumed_at = %v", consumed)
		}
		after["auth_requests"][0]["consumed_at"] = nil
		if diff := tableDiff(before, after, "auth_requests"); diff != "" {
			t.Errorf("Deny changed the request beyond consumed_at (-before +after):\n%s", diff)
		}
		// audit_events: exactly one row more, authorization.denied.
		if n := len(after["audit_events"]) - len(before["audit_events"]); n != 1 {
			t.Errorf("Deny wrote %d audit rows, want 1", n)
		}
		denied := rowsOfType(after, grant.EventAuthorizationDenied)
		if len(denied) != 1 {
			t.Fatalf("%d authorization.denied events", len(denied))
		}
		d := denied[0]
		wantReason := "user said no" + strings.Repeat("x", 188)
		if d["grant_id"] != a.Grant.ID || d["client_id"] != c.ID || d["subject"] != "alice" || d["actor"] != "alice" || d["reason"] != wantReason {
			t.Errorf("authorization.denied event = %v", d)
		}
		assertNoSecrets(t, after, []string{"audit_events"}, challenge, "state-alice")

		closed := e.snapshot()
		if _, err := e.m.Approve(ctx, a.Request.ID, nil); !errors.Is(err, grant.ErrRequestClosed) {
			t.Errorf("Approve after Deny: %v, want ErrRequestClosed", err)
		}
		if err := e.m.Deny(ctx, a.Request.ID, "again", "alice"); !errors.Is(err, grant.ErrRequestClosed) {
			t.Errorf("Deny twice: %v, want ErrRequestClosed", err)
		}
		if diff := cmp.Diff(closed, e.snapshot()); diff != "" {
			t.Errorf("refused Approve/Deny changed the database (-before +after):\n%s", diff)
		}
	})
}

// TestStartBadInput checks that a malformed authorization request is
// refused with the right error and changes no state.
func TestStartBadInput(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		noCode := e.client(func(md *grant.ClientMetadata) { md.GrantTypes = []string{grant.GrantTypeRefreshToken} })
		deleted := e.client()
		if _, err := e.m.DeleteClient(ctx, deleted.ID, "admin"); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			mut  func(*grant.AuthorizationRequest)
			want error
		}{
			{"plain PKCE", func(r *grant.AuthorizationRequest) { r.CodeChallengeMethod = "plain" }, grant.ErrInvalidRequest},
			{"no PKCE method", func(r *grant.AuthorizationRequest) { r.CodeChallengeMethod = "" }, grant.ErrInvalidRequest},
			{"missing challenge", func(r *grant.AuthorizationRequest) { r.CodeChallenge = "" }, grant.ErrInvalidRequest},
			{"short challenge", func(r *grant.AuthorizationRequest) { r.CodeChallenge = challenge[:42] }, grant.ErrInvalidRequest},
			{"challenge not base64url", func(r *grant.AuthorizationRequest) { r.CodeChallenge = challenge[:42] + "=" }, grant.ErrInvalidRequest},
			{"unknown client", func(r *grant.AuthorizationRequest) { r.ClientID = "nobody" }, grant.ErrInvalidClient},
			{"deleted client", func(r *grant.AuthorizationRequest) { r.ClientID = deleted.ID }, grant.ErrInvalidClient},
			{"client without authorization_code", func(r *grant.AuthorizationRequest) { r.ClientID = noCode.ID }, grant.ErrUnauthorizedClient},
			{"unregistered redirect URI", func(r *grant.AuthorizationRequest) { r.RedirectURI = "https://evil.example/cb" }, grant.ErrInvalidRedirectURI},
			{"/cb/ for /cb", func(r *grant.AuthorizationRequest) { r.RedirectURI = redirectURI + "/" }, grant.ErrInvalidRedirectURI},
			{"no redirect URI", func(r *grant.AuthorizationRequest) { r.RedirectURI = "" }, grant.ErrInvalidRedirectURI},
			{"unregistered scope", func(r *grant.AuthorizationRequest) { r.Scopes = []string{"read", "admin"} }, grant.ErrInvalidScope},
			{"no subject", func(r *grant.AuthorizationRequest) { r.Subject = "" }, grant.ErrInvalidRequest},
			{"NUL in state", func(r *grant.AuthorizationRequest) { r.State = "a\x00b" }, grant.ErrInvalidRequest},
			{"subject not UTF-8", func(r *grant.AuthorizationRequest) { r.Subject = "\xff\xfe" }, grant.ErrInvalidRequest},
			{"NUL in tenant", func(r *grant.AuthorizationRequest) { r.Tenant = "t\x00" }, grant.ErrInvalidRequest},
			{"NUL in client_id", func(r *grant.AuthorizationRequest) { r.ClientID = "a\x00b" }, grant.ErrInvalidClient},
			{"NUL escape in context", func(r *grant.AuthorizationRequest) { r.Context = json.RawMessage(`{"a":"x\u0000"}`) }, grant.ErrInvalidRequest},
			{"context not UTF-8", func(r *grant.AuthorizationRequest) { r.Context = json.RawMessage("{\"a\":\"\xff\"}") }, grant.ErrInvalidRequest},
			{"context not JSON", func(r *grant.AuthorizationRequest) { r.Context = json.RawMessage(`{"a":`) }, grant.ErrInvalidRequest},
		} {
			t.Run(tt.name, func(t *testing.T) {
				req := request(c.ID, "alice")
				tt.mut(&req)
				before := e.snapshot()
				a, err := e.m.Start(ctx, req)
				if !errors.Is(err, tt.want) {
					t.Errorf("Start: %v, want %v", err, tt.want)
				}
				if a.Grant.ID != "" || a.Request.ID != "" {
					t.Errorf("Start returned %+v with its error", a)
				}
				if diff := cmp.Diff(before, e.snapshot()); diff != "" {
					t.Errorf("refused Start changed the database (-before +after):\n%s", diff)
				}
			})
		}
	})
}
