package token_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// TestRefreshRotation rotates a refresh token twice (SPEC §2.5, §4.2): each
// rotation returns a new gk_rt_ token and an access token that verifies;
// the presented token is revoked with reason rotated and its child is
// inserted in the same family with parent_id pointing at it, so the family
// always has exactly one active token; presenting a rotated token
// afterwards is reuse.
func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		sess := e.login("alice", testenv.Confidential)
		chain := []string{sess.Resp.RefreshToken}
		for i := range 2 {
			e.Clock.Advance(time.Minute)
			resp := e.MustRefresh(sess.Client, chain[i])
			if !strings.HasPrefix(resp.RefreshToken, "gk_rt_") || resp.RefreshToken == chain[i] {
				t.Fatalf("rotation %d returned refresh token %.10q…", i+1, resp.RefreshToken)
			}
			claims, err := e.Verify(resp.AccessToken)
			if err != nil {
				t.Fatalf("rotation %d: access token: %v", i+1, err)
			}
			if claims.GrantID != sess.Grant.ID || resp.Scope != "read write" || !claims.IssuedAt.Time().Equal(e.Clock.Now()) {
				t.Errorf("rotation %d: claims %+v, scope %q", i+1, claims, resp.Scope)
			}
			chain = append(chain, resp.RefreshToken)
		}

		rows := make([]store.RefreshToken, len(chain))
		for i, raw := range chain {
			rows[i] = e.refreshRow(raw)
		}
		for i, r := range rows {
			if r.FamilyID != rows[0].FamilyID || r.GrantID != sess.Grant.ID {
				t.Errorf("token %d: family %s grant %s, want %s %s", i, r.FamilyID, r.GrantID, rows[0].FamilyID, sess.Grant.ID)
			}
			wantParent, wantReason := "", "rotated"
			if i > 0 {
				wantParent = rows[i-1].ID
			}
			if i == len(rows)-1 {
				wantReason = ""
			}
			if r.ParentID != wantParent || r.RevokeReason != wantReason || r.Active() != (i == len(rows)-1) {
				t.Errorf("token %d: parent %q reason %q active %v; want parent %q reason %q", i, r.ParentID,
					r.RevokeReason, r.Active(), wantParent, wantReason)
			}
		}
		head, err := e.Store.GetRefreshFamilyHead(context.Background(), rows[0].FamilyID)
		if err != nil || head.ID != rows[2].ID {
			t.Fatalf("family head %v, %v; want the last token", head.ID, err)
		}
		if act := testenv.ActiveRefresh(e.Snapshot(), "family_id", rows[0].FamilyID); len(act) != 1 {
			t.Errorf("%d active tokens in the family, want 1", len(act))
		}
		noMaterial(t, e.Snapshot(), chain...)

		_, err = e.Server.Refresh(context.Background(), sess.RefreshRequest(chain[0]))
		if !errors.Is(err, token.ErrReused) || errCode(err) != "invalid_grant" {
			t.Fatalf("rotated token presented again: got %v (%s), want ErrReused (invalid_grant)", err, errCode(err))
		}
	})
}

// TestRefreshReusePolicy presents a rotated token (RFC 9700 §4.14.2, SPEC
// §4.2 step 1) under both policies. RevokeGrant (the default) revokes the
// grant through the cascade: every family of the grant dies and the access
// tokens fail the Verifier. RevokeFamily revokes only the token's family:
// the grant stays active, another family of it keeps refreshing, and
// family.revoked is audited. Both audit refresh.reused and tell the
// observer.
func TestRefreshReusePolicy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		policy    token.ReusePolicy
		wantGrant store.GrantStatus
		wantAudit map[string]int
	}{
		{"RevokeGrant", token.RevokeGrant, store.GrantRevoked, map[string]int{grant.EventGrantCreated: 1,
			grant.EventGrantActivated: 1, grant.EventRefreshReused: 1, grant.EventGrantRevoked: 1}},
		{"RevokeFamily", token.RevokeFamily, store.GrantActive, map[string]int{grant.EventGrantCreated: 1,
			grant.EventGrantActivated: 1, grant.EventRefreshReused: 1, grant.EventFamilyRevoked: 1}},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, db, func(c *token.ServerConfig) { c.ReusePolicy = tt.policy })
				sess := e.login("alice")
				// A second family on the same grant: the same authorization
				// again reuses the active grant.
				ap := e.Authorize(sess.Client, "alice")
				if ap.Grant.ID != sess.Grant.ID {
					t.Fatalf("second authorization made grant %s, want the active %s", ap.Grant.ID, sess.Grant.ID)
				}
				other := e.Exchange(testenv.CodeRequest(sess.Client, ap))

				next := e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
				e.Clock.Advance(time.Second)
				resp, err := e.Server.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken))
				if !errors.Is(err, token.ErrReused) || errCode(err) != "invalid_grant" {
					t.Fatalf("reuse: got %v (%s), want ErrReused (invalid_grant)", err, errCode(err))
				}
				if diff := cmp.Diff(token.Response{}, resp); diff != "" {
					t.Errorf("tokens returned on reuse:\n%s", diff)
				}

				g := e.Grant(sess.Grant.ID)
				if g.Status != tt.wantGrant {
					t.Fatalf("grant is %s, want %s", g.Status, tt.wantGrant)
				}
				snap := e.Snapshot()
				if diff := cmp.Diff(tt.wantAudit, testenv.AuditCounts(snap, g.ID)); diff != "" {
					t.Errorf("audit trail (-want +got):\n%s", diff)
				}
				if n := e.Events.Count(grant.EventRefreshReused); n != 1 {
					t.Errorf("observer heard %d refresh.reused, want 1: %v", n, e.Events.Types())
				}
				// The observer hears the revocation the policy caused, like
				// the audit trail records it.
				if n, want := e.Events.Count(grant.EventGrantRevoked), tt.wantAudit[grant.EventGrantRevoked]; n != want {
					t.Errorf("observer heard %d grant.revoked, want %d: %v", n, want, e.Events.Types())
				}
				family := e.refreshRow(next.RefreshToken).FamilyID
				if act := testenv.ActiveRefresh(snap, "family_id", family); len(act) != 0 {
					t.Errorf("%d active tokens left in the reused family", len(act))
				}
				if r := e.refreshRow(next.RefreshToken); r.Active() {
					t.Errorf("the successor of the reused token is still active")
				}

				_, errOther := e.Server.Refresh(ctx, sess.RefreshRequest(other.RefreshToken))
				_, errAT := e.Verify(next.AccessToken)
				switch tt.policy {
				case token.RevokeGrant:
					if g.RevokeReason != grant.ReasonRefreshReused {
						t.Errorf("revoke reason %q, want %q", g.RevokeReason, grant.ReasonRefreshReused)
					}
					if !errors.Is(errOther, token.ErrInvalidGrant) {
						t.Errorf("the grant's other family: got %v, want invalid_grant", errOther)
					}
					if !errors.Is(errAT, token.ErrGrantInactive) {
						t.Errorf("access token after the grant's revocation: got %v, want ErrGrantInactive", errAT)
					}
				case token.RevokeFamily:
					if errOther != nil {
						t.Errorf("the grant's other family: %v", errOther)
					}
					if errAT != nil {
						t.Errorf("access token of the still active grant: %v", errAT)
					}
				}
			})
		}
	})
}

// TestRefreshOvertaken replays deterministically the interleaving of two
// concurrent presentations of one token where the second read the token
// before the first's rotation committed (staleStore): its conditional
// rotation changes nothing (SPEC §4.2 step 4). Without a leeway that is
// reuse; within the leeway it is a retry, answered as a retry that did not
// overlap would be: a fresh pair, and the family keeps exactly one active
// token.
func TestRefreshOvertaken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		leeway time.Duration
		want   error
	}{
		{"strict", 0, token.ErrReused},
		{"within the leeway", time.Minute, nil},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, db, func(c *token.ServerConfig) { c.ReuseLeeway = tt.leeway })
				sess := e.login("alice")
				first := e.MustRefresh(sess.Client, sess.Resp.RefreshToken) // the request that won
				_, srv := e.ServerOver(staleStore{e.Store})
				resp, err := srv.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken))
				if !testenv.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
				family := e.refreshRow(first.RefreshToken).FamilyID
				act := testenv.ActiveRefresh(e.Snapshot(), "family_id", family)
				g := e.Grant(sess.Grant.ID)
				if tt.want != nil {
					if len(act) != 0 || g.Status != store.GrantRevoked {
						t.Errorf("after reuse: %d active tokens, grant %s", len(act), g.Status)
					}
					return
				}
				if len(act) != 1 || !e.refreshRow(resp.RefreshToken).Active() || e.refreshRow(first.RefreshToken).Active() {
					t.Errorf("after the retry: %d active tokens in the family; want only the retry's", len(act))
				}
				if g.Status != store.GrantActive {
					t.Errorf("grant %s after a retry", g.Status)
				}
			})
		}
	})
}

// TestRefreshScope narrows the scope of the refreshed access token (RFC
// 6749 §6, SPEC §4.2 step 5): a subset of the grant's scopes is granted
// and the grant keeps its scopes; anything beyond is ErrInvalidScope
// (invalid_scope) and changes nothing.
func TestRefreshScope(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		requested []string
		wantScope string
		want      error
	}{
		{"none requested", nil, "read write", nil},
		{"subset", []string{"read"}, "read", nil},
		{"other subset", []string{"write"}, "write", nil},
		{"same set reordered", []string{"write", "read"}, "write read", nil},
		{"superset", []string{"read", "write", "admin"}, "", grant.ErrInvalidScope},
		{"disjoint", []string{"admin"}, "", grant.ErrInvalidScope},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db)
				sess := e.login("alice")
				req := sess.RefreshRequest(sess.Resp.RefreshToken)
				req.Scopes = tt.requested
				before := e.Snapshot()
				resp, err := e.Server.Refresh(context.Background(), req)
				if !testenv.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
				if tt.want != nil {
					if got := errCode(err); got != "invalid_scope" {
						t.Errorf("ErrorCode = %q, want invalid_scope", got)
					}
					if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
						t.Fatalf("a refused refresh changed the database (-before +after):\n%s", diff)
					}
					e.MustRefresh(sess.Client, sess.Resp.RefreshToken) // still the family's live token
					return
				}
				if resp.Scope != tt.wantScope || resp.Claims.Scope != tt.wantScope {
					t.Errorf("scope %q, claims scope %q; want %q", resp.Scope, resp.Claims.Scope, tt.wantScope)
				}
				if _, err := e.Verify(resp.AccessToken); err != nil {
					t.Errorf("narrowed access token: %v", err)
				}
				if got := e.Grant(sess.Grant.ID).Scopes; !cmp.Equal(got, []string{"read", "write"}) {
					t.Errorf("grant scopes changed to %v", got)
				}
				if again := e.MustRefresh(sess.Client, resp.RefreshToken); again.Scope != "read write" {
					t.Errorf("next refresh without scope: %q, want the grant's", again.Scope)
				}
			})
		}
	})
}

// TestRefreshLifetimes checks the idle lifetime of each refresh token and
// the absolute lifetime of a family (SPEC §2.5, §4.2 step 2) on an
// injected clock: a refresh at or after either expiry is ErrExpired
// (invalid_grant) and changes nothing; before both it rotates, and each
// rotation restarts the idle lifetime but not the absolute one.
func TestRefreshLifetimes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		idle, abs time.Duration
		// waits are the clock advances before each refresh; the last one
		// is refused when expired.
		waits   []time.Duration
		expired bool
	}{
		{"within idle", time.Hour, 0, []time.Duration{59 * time.Minute}, false},
		{"idle reached", time.Hour, 0, []time.Duration{time.Hour}, true},
		{"idle restarts on rotation", time.Hour, 0, []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, false},
		{"idle passed after rotations", time.Hour, 0, []time.Duration{50 * time.Minute, 61 * time.Minute}, true},
		{"within absolute", time.Hour, 3 * time.Hour, []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 29 * time.Minute}, false},
		{"absolute reached despite rotations", time.Hour, 3 * time.Hour, []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 30 * time.Minute}, true},
		{"absolute only", 0, 2 * time.Hour, []time.Duration{2*time.Hour - time.Microsecond, time.Microsecond}, true},
		{"no lifetimes", token.Unlimited, token.Unlimited, []time.Duration{24 * time.Hour, 365 * 24 * time.Hour}, false},
		{"default idle within", 0, 0, []time.Duration{token.DefaultRefreshIdleTTL - time.Microsecond}, false},
		{"default idle reached", 0, 0, []time.Duration{token.DefaultRefreshIdleTTL}, true},
		{"default absolute reached", token.Unlimited, 0, []time.Duration{token.DefaultRefreshAbsoluteTTL - time.Microsecond, time.Microsecond}, true},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db, func(c *token.ServerConfig) { c.RefreshIdleTTL, c.RefreshAbsoluteTTL = tt.idle, tt.abs })
				sess := e.login("alice")
				rt := sess.Resp.RefreshToken
				for i, w := range tt.waits {
					e.Clock.Advance(w)
					last := i == len(tt.waits)-1
					if !last || !tt.expired {
						rt = e.MustRefresh(sess.Client, rt).RefreshToken
						continue
					}
					before := e.Snapshot()
					resp, err := e.Server.Refresh(context.Background(), sess.RefreshRequest(rt))
					if !errors.Is(err, token.ErrGrantExpired) || errCode(err) != "invalid_grant" {
						t.Fatalf("refresh %d: got %v (%s), want ErrExpired (invalid_grant)", i+1, err, errCode(err))
					}
					if errors.Is(err, token.ErrReused) {
						t.Errorf("expiry reported as reuse")
					}
					if diff := cmp.Diff(token.Response{}, resp); diff != "" {
						t.Errorf("tokens returned with the error:\n%s", diff)
					}
					if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
						t.Errorf("an expired refresh changed the database (-before +after):\n%s", diff)
					}
				}
			})
		}
	})
}

// TestRefreshLiveness asks the host's liveness check on refresh (SPEC §4.2
// step 3, CVE-2023-22492): not live → ErrNotLive (invalid_grant); a
// failing check → server_error, never invalid_grant. Neither rotates the
// token or changes any row, and the token refreshes once the subject is
// live again. A refusal is handed to the observer (SPEC §10).
func TestRefreshLiveness(t *testing.T) {
	t.Parallel()
	errCheck := errors.New("directory unreachable")
	cases := []struct {
		name    string
		live    token.LivenessFunc
		want    error
		code    string
		invalid bool
	}{
		{"not live", func(context.Context, store.Grant) (bool, error) { return false, nil }, token.ErrNotLive, "invalid_grant", true},
		{"check fails", func(context.Context, store.Grant) (bool, error) { return true, errCheck }, errCheck, "server_error", false},
		{"check fails saying not live", func(context.Context, store.Grant) (bool, error) { return false, errCheck }, errCheck, "server_error", false},
		{"check sees the grant", func(_ context.Context, g store.Grant) (bool, error) {
			return g.Subject == "alice" && g.Status == store.GrantActive && g.ClientID != "", nil
		}, nil, "", false},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db)
				sess := e.login("alice")
				before := e.Snapshot()
				e.setLive(tt.live)
				resp, err := e.Server.Refresh(context.Background(), sess.RefreshRequest(sess.Resp.RefreshToken))
				if tt.want == nil {
					if err != nil {
						t.Fatalf("live subject: %v", err)
					}
					return
				}
				if !errors.Is(err, tt.want) || errCode(err) != tt.code || errors.Is(err, token.ErrInvalidGrant) != tt.invalid {
					t.Fatalf("got %v (%s), want %v (%s)", err, errCode(err), tt.want, tt.code)
				}
				if diff := cmp.Diff(token.Response{}, resp); diff != "" {
					t.Errorf("tokens returned with the error:\n%s", diff)
				}
				if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
					t.Fatalf("a refused refresh changed the database (-before +after):\n%s", diff)
				}
				wantEvents := 0
				if tt.invalid {
					wantEvents = 1
				}
				if n := e.Events.Count(grant.EventLivenessRefused); n != wantEvents {
					t.Errorf("observer heard %d %s events, want %d", n, grant.EventLivenessRefused, wantEvents)
				}
				e.setLive(nil)
				e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
			})
		}
	})
}

// TestRefreshRefused presents refresh requests the token endpoint refuses
// without touching the token (RFC 6749 §5.2): another client's token, bad
// client credentials, a client not registered for refresh_token, unknown
// and missing tokens. Each gets its error code, changes no row — in
// particular another client's presentation is not treated as reuse — and
// the rightful client still refreshes afterwards.
func TestRefreshRefused(t *testing.T) {
	t.Parallel()
	type fixture struct {
		sess            testenv.Session // confidential
		other, noRotate testenv.Client
	}
	cases := []struct {
		name string
		req  func(f *fixture, r *token.RefreshRequest)
		want error
		code string
	}{
		{"another client's token", func(f *fixture, r *token.RefreshRequest) {
			r.ClientID, r.ClientSecret = f.other.ID, f.other.Secret
		}, token.ErrInvalidGrant, "invalid_grant"},
		{"wrong secret", func(_ *fixture, r *token.RefreshRequest) { r.ClientSecret = "gk_cs_wrong" },
			grant.ErrInvalidClient, "invalid_client"},
		{"missing secret", func(_ *fixture, r *token.RefreshRequest) { r.ClientSecret = "" },
			grant.ErrInvalidClient, "invalid_client"},
		{"client without refresh_token grant type", func(f *fixture, r *token.RefreshRequest) {
			r.ClientID, r.ClientSecret = f.noRotate.ID, ""
		}, grant.ErrUnauthorizedClient, "unauthorized_client"},
		{"unknown token", func(_ *fixture, r *token.RefreshRequest) { r.RefreshToken = "gk_rt_unknown" },
			token.ErrInvalidGrant, "invalid_grant"},
		{"missing token", func(_ *fixture, r *token.RefreshRequest) { r.RefreshToken = "" },
			grant.ErrInvalidRequest, "invalid_request"},
		{"another resource", func(_ *fixture, r *token.RefreshRequest) { r.Resource = "https://other.example/" },
			token.ErrInvalidTarget, "invalid_target"},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db)
				f := &fixture{sess: e.login("alice", testenv.Confidential), other: e.client(testenv.Confidential), noRotate: e.client(testenv.NoRefresh)}
				good := f.sess.RefreshRequest(f.sess.Resp.RefreshToken)
				bad := good
				tt.req(f, &bad)
				before := e.Snapshot()
				resp, err := e.Server.Refresh(context.Background(), bad)
				if !errors.Is(err, tt.want) || errCode(err) != tt.code {
					t.Fatalf("got %v (%s), want %v (%s)", err, errCode(err), tt.want, tt.code)
				}
				if errors.Is(err, token.ErrReused) {
					t.Errorf("refused as reuse: %v", err)
				}
				if diff := cmp.Diff(token.Response{}, resp); diff != "" {
					t.Errorf("tokens returned with the error:\n%s", diff)
				}
				if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
					t.Fatalf("a refused refresh changed the database (-before +after):\n%s", diff)
				}
				if _, err := e.Server.Refresh(context.Background(), good); err != nil {
					t.Errorf("the rightful refresh afterwards: %v", err)
				}
			})
		}
	})
}

// TestRefreshLeeway presents a just-rotated token again within the reuse
// leeway (SPEC §4.2 step 6): the retry succeeds with a fresh pair in the
// same family, the successor issued the first time is revoked, and the
// family has exactly one active token — the retry's — so it never forks.
// Presenting the original token a third time is reuse. So is any retry at
// or after the leeway, and a retry of a token revoked for another reason.
func TestRefreshLeeway(t *testing.T) {
	t.Parallel()
	const leeway = 10 * time.Second
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		t.Run("retry within the leeway", func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t, db, func(c *token.ServerConfig) { c.ReuseLeeway = leeway })
			sess := e.login("alice")
			orig := sess.Resp.RefreshToken
			first := e.MustRefresh(sess.Client, orig)
			e.Clock.Advance(leeway - time.Millisecond)

			retry, err := e.Server.Refresh(ctx, sess.RefreshRequest(orig))
			if err != nil {
				t.Fatalf("retry within the leeway: %v", err)
			}
			if retry.RefreshToken == first.RefreshToken || retry.RefreshToken == orig {
				t.Fatalf("the retry returned an old refresh token")
			}
			if _, err := e.Verify(retry.AccessToken); err != nil {
				t.Errorf("retry's access token: %v", err)
			}
			family := e.refreshRow(orig).FamilyID
			onlyHead := func(want string) {
				t.Helper()
				head, err := e.Store.GetRefreshFamilyHead(ctx, family)
				if err != nil {
					t.Fatalf("family head: %v", err)
				}
				if want := e.refreshRow(want); head.ID != want.ID || head.FamilyID != family {
					t.Errorf("family head %s, want %s", head.ID, want.ID)
				}
				if act := testenv.ActiveRefresh(e.Snapshot(), "family_id", family); len(act) != 1 {
					t.Errorf("the family has %d active tokens, want exactly 1", len(act))
				}
			}
			onlyHead(retry.RefreshToken)
			dead := e.refreshRow(first.RefreshToken)
			if dead.Active() || dead.RevokeReason == "" {
				t.Errorf("first successor after the retry: active %v reason %q, want revoked", dead.Active(), dead.RevokeReason)
			}
			if e.Grant(sess.Grant.ID).Status != store.GrantActive || e.Events.Count(grant.EventRefreshReused) != 0 {
				t.Errorf("a retry within the leeway was treated as reuse")
			}

			// The retry's token rotates normally.
			next := e.MustRefresh(sess.Client, retry.RefreshToken)
			onlyHead(next.RefreshToken)

			// A third presentation of the original token is reuse.
			_, err = e.Server.Refresh(ctx, sess.RefreshRequest(orig))
			if !errors.Is(err, token.ErrReused) {
				t.Fatalf("third presentation: got %v, want ErrReused", err)
			}
			if g := e.Grant(sess.Grant.ID); g.Status != store.GrantRevoked {
				t.Errorf("grant after the third presentation: %s", g.Status)
			}
			if act := testenv.ActiveRefresh(e.Snapshot(), "family_id", family); len(act) != 0 {
				t.Errorf("%d active tokens after reuse", len(act))
			}
		})

		cases := []struct {
			name  string
			delay time.Duration
			// prepare, when set, runs after the delay, before the retry.
			prepare func(t *testing.T, e *env, sess testenv.Session, first token.Response)
		}{
			{name: "retry at the leeway", delay: leeway},
			{name: "retry after the leeway", delay: leeway + time.Second},
			{name: "retry of a token the successor already rotated", delay: time.Second,
				prepare: func(t *testing.T, e *env, sess testenv.Session, first token.Response) {
					e.MustRefresh(sess.Client, first.RefreshToken)
				}},
			{name: "retry after a retry", delay: time.Second,
				prepare: func(t *testing.T, e *env, sess testenv.Session, _ token.Response) {
					e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
				}},
		}
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db, func(c *token.ServerConfig) { c.ReuseLeeway = leeway })
				sess := e.login("alice")
				first := e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
				e.Clock.Advance(tt.delay)
				if tt.prepare != nil {
					tt.prepare(t, e, sess, first)
				}
				resp, err := e.Server.Refresh(context.Background(), sess.RefreshRequest(sess.Resp.RefreshToken))
				if !errors.Is(err, token.ErrReused) {
					t.Fatalf("got %v, want ErrReused", err)
				}
				if diff := cmp.Diff(token.Response{}, resp); diff != "" {
					t.Errorf("tokens returned on reuse:\n%s", diff)
				}
				g := e.Grant(sess.Grant.ID)
				if g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonRefreshReused {
					t.Errorf("grant %s (%q), want revoked for reuse", g.Status, g.RevokeReason)
				}
				if act := testenv.ActiveRefresh(e.Snapshot(), "grant_id", g.ID); len(act) != 0 {
					t.Errorf("%d active refresh tokens after reuse", len(act))
				}
			})
		}
	})
}

// TestRefreshReuseAfterRevocation: a refresh token rotated away and
// presented after its grant was revoked (by the user here) is still reuse
// (SPEC §4.2 step 1): ErrReused (invalid_grant), a refresh.reused audit
// event and observer event each time, and no other row changes. The head
// the cascade revoked is not: its client just does not know yet
// (TestRaceRevokeRefresh), nor are presentations after a grant revoked for
// reuse, which belong to that incident (TestRaceRefresh counts one event).
func TestRefreshReuseAfterRevocation(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		sess := e.login("alice")
		rotatedAway := sess.Resp.RefreshToken
		head := e.MustRefresh(sess.Client, rotatedAway).RefreshToken
		if _, err := e.Manager.Revoke(ctx, []string{sess.Grant.ID}, grant.ReasonUserRevoked, "alice"); err != nil {
			t.Fatal(err)
		}
		for i, tc := range []struct {
			rt     string
			reuse  bool
			events int
		}{{head, false, 0}, {rotatedAway, true, 1}, {rotatedAway, true, 1}, {rotatedAway, true, 1}} {
			before := e.Snapshot()
			resp, err := e.Server.Refresh(ctx, sess.RefreshRequest(tc.rt))
			if !errors.Is(err, token.ErrInvalidGrant) || errors.Is(err, token.ErrReused) != tc.reuse {
				t.Fatalf("presentation %d: Refresh = %v, want invalid_grant (reuse: %v)", i, err, tc.reuse)
			}
			if diff := cmp.Diff(token.Response{}, resp); diff != "" {
				t.Errorf("tokens returned:\n%s", diff)
			}
			after := e.Snapshot()
			if n := testenv.AuditCounts(after, sess.Grant.ID)[grant.EventRefreshReused]; n != tc.events {
				t.Errorf("after presentation %d: %d refresh.reused audit events, want %d", i, n, tc.events)
			}
			if n := e.Events.Count(grant.EventRefreshReused); n != tc.events {
				t.Errorf("after presentation %d: observer heard %d refresh.reused events, want %d", i, n, tc.events)
			}
			// Only the reuse mark may change, and only at the first reuse.
			ignoreMark := cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return i == 1 && k == "reuse_reported_at" })
			for _, table := range []string{"grants", "refresh_tokens", "auth_codes", "auth_requests"} {
				if diff := cmp.Diff(before[table], after[table], ignoreMark); diff != "" {
					t.Errorf("presentation %d changed %s:\n%s", i, table, diff)
				}
			}
		}
	})
}

// TestRefreshRetryAfterRevocation: a retry within ReuseLeeway of a token
// whose grant was revoked meanwhile is refused as a revoked grant, not
// reported as reuse — with the grant alive it would have been accepted.
func TestRefreshRetryAfterRevocation(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db, func(c *token.ServerConfig) { c.ReuseLeeway = 10 * time.Second })
		sess := e.login("alice")
		e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
		if _, err := e.Manager.Revoke(ctx, []string{sess.Grant.ID}, grant.ReasonUserRevoked, "alice"); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Second)
		_, err := e.Server.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken))
		if !errors.Is(err, token.ErrInvalidGrant) || errors.Is(err, token.ErrReused) {
			t.Fatalf("retry within the leeway after revocation = %v, want invalid_grant, not reuse", err)
		}
		if n := e.Events.Count(grant.EventRefreshReused); n != 0 {
			t.Errorf("observer heard %d refresh.reused events, want none", n)
		}
		if n := testenv.AuditCounts(e.Snapshot(), sess.Grant.ID)[grant.EventRefreshReused]; n != 0 {
			t.Errorf("%d refresh.reused audit events, want none", n)
		}
	})
}
