package session_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// TestRevokeRefused covers the refusals of SPEC §6: an unknown, malformed,
// already revoked or pending id is not found, whoever asks; a caller who is
// neither the subject nor an admin is forbidden; a failing admin check is
// an error. None of them changes a single row (table snapshot), and the
// session keeps working afterwards.
func TestRevokeRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client("Acme Desktop", false)
		live, resp := e.login(c, "alice")
		revoked, _ := e.login(e.client("Old Tool", false), "alice")
		if _, err := e.Manager.Revoke(ctx, []string{revoked.ID}, grant.ReasonTokenRevoked, "alice"); err != nil {
			t.Fatal(err)
		}
		pending := e.start(e.client("Half-Connected", true), "alice").Grant
		if pending.Status != store.GrantPending {
			t.Fatalf("fixture grant is %s, want pending", pending.Status)
		}
		e.Clock.Advance(time.Minute)

		errHost := errors.New("directory unavailable")
		failingAdmin := func(context.Context, session.Caller) (bool, error) { return false, errHost }
		cases := []struct {
			name    string
			cfg     session.Config
			caller  string
			id      string
			wantErr error
		}{
			{name: "unknown id", caller: "alice", id: testdb.NewID(), wantErr: session.ErrNotFound},
			{name: "unknown id, admin", cfg: session.Config{IsAdmin: admins("root")}, caller: "root",
				id: testdb.NewID(), wantErr: session.ErrNotFound},
			{name: "malformed id", caller: "alice", id: "not-a-uuid", wantErr: session.ErrNotFound},
			{name: "empty id", caller: "alice", id: "", wantErr: session.ErrNotFound},
			{name: "malformed id, SQL", caller: "alice", id: live.ID + "' OR '1'='1", wantErr: session.ErrNotFound},
			{name: "already revoked", caller: "alice", id: revoked.ID, wantErr: session.ErrNotFound},
			{name: "already revoked, by a stranger", caller: "mallory", id: revoked.ID, wantErr: session.ErrNotFound},
			{name: "pending", caller: "alice", id: pending.ID, wantErr: session.ErrNotFound},
			{name: "stranger, no admin check", caller: "mallory", id: live.ID, wantErr: session.ErrForbidden},
			{name: "stranger, not an admin", cfg: session.Config{IsAdmin: admins("root")}, caller: "mallory",
				id: live.ID, wantErr: session.ErrForbidden},
			{name: "stranger, upper-case id", caller: "mallory", id: strings.ToUpper(live.ID),
				wantErr: session.ErrForbidden},
			{name: "stranger, admin check fails", cfg: session.Config{IsAdmin: failingAdmin}, caller: "mallory",
				id: live.ID, wantErr: errHost},
			{name: "no caller", cfg: session.Config{IsAdmin: admins("")}, caller: "", id: live.ID,
				wantErr: session.ErrForbidden},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := e.Snapshot()
				heard := len(e.Events.Events())
				err := e.service(tc.cfg).Revoke(ctx, user(tc.caller), tc.id)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Revoke = %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr == session.ErrNotFound && !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Revoke = %v, which does not wrap store.ErrNotFound", err)
				}
				if tc.wantErr == errHost && (errors.Is(err, session.ErrForbidden) || errors.Is(err, session.ErrNotFound)) {
					t.Errorf("a failing admin check answered %v, a refusal", err)
				}
				if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
					t.Errorf("a refused revocation changed the database (-before +after):\n%s", diff)
				}
				if n := len(e.Events.Events()); n != heard {
					t.Errorf("a refused revocation told the observer %d events", n-heard)
				}
			})
		}

		// The session the strangers aimed at still works.
		if _, err := e.Verifier.Verify(ctx, resp.AccessToken); err != nil {
			t.Errorf("access token after the refusals: %v", err)
		}
		if _, err := e.refresh(c, resp.RefreshToken); err != nil {
			t.Errorf("refresh after the refusals: %v", err)
		}
		if g := e.Grant(live.ID); g.Status != store.GrantActive {
			t.Errorf("grant is %s after the refusals", g.Status)
		}
	})
}

// TestRevoke revokes a session as its subject and as an admin (SPEC §6):
// the grant is revoked through the cascade with reason user_revoked and
// the caller as actor, grant.revoked and session.revoked are audited and
// reported; the session leaves the listing, its refresh token fails with
// invalid_grant and its access token fails the Verifier, while the
// subject's other session is untouched. A second revocation is not found.
func TestRevoke(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		for _, tc := range []struct {
			name   string
			caller string
		}{
			{"subject", "alice"},
			{"admin", "root"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, db)
				desktop, bot := e.client("Acme Desktop", false), e.client("Helper", true)
				target, first := e.login(desktop, "alice")
				other, otherResp := e.login(bot, "alice")
				e.Clock.Advance(time.Minute)
				// The session works before: the access token verifies and the
				// refresh token rotates (the tests below use the newest pair).
				if _, err := e.Verifier.Verify(ctx, first.AccessToken); err != nil {
					t.Fatalf("Verify before: %v", err)
				}
				resp, err := e.refresh(desktop, first.RefreshToken)
				if err != nil {
					t.Fatalf("Refresh before: %v", err)
				}
				svc := e.service(session.Config{IsAdmin: admins("root")})
				p, err := svc.List(ctx, user("alice"), session.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]string{other.ID, target.ID}, ids(p.Sessions)); diff != "" {
					t.Fatalf("listing before (-want +got):\n%s", diff)
				}

				e.Clock.Advance(time.Minute)
				at := e.Manager.Now()
				heard := len(e.Events.Events())
				if err := svc.Revoke(ctx, user(tc.caller), target.ID); err != nil {
					t.Fatalf("Revoke: %v", err)
				}

				g := e.Grant(target.ID)
				if g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonUserRevoked || !g.RevokedAt.Equal(at) {
					t.Errorf("grant after Revoke: %s, reason %q, at %v", g.Status, g.RevokeReason, g.RevokedAt)
				}
				audit, err := e.Store.ListAuditEvents(ctx, store.AuditFilter{GrantID: target.ID}, store.Page{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				var gotAudit []store.AuditEvent
				for _, ev := range audit.Items {
					if ev.Type == grant.EventGrantRevoked || ev.Type == grant.EventSessionRevoked {
						ev.ID = ""
						gotAudit = append(gotAudit, ev)
					}
				}
				wantAudit := []store.AuditEvent{
					{GrantID: target.ID, ClientID: desktop.ID, Subject: "alice", Type: grant.EventGrantRevoked,
						Reason: grant.ReasonUserRevoked, Actor: tc.caller, OccurredAt: at},
					{GrantID: target.ID, ClientID: desktop.ID, Subject: "alice", Type: grant.EventSessionRevoked,
						Reason: grant.ReasonUserRevoked, Actor: tc.caller, OccurredAt: at},
				}
				byType := cmpopts.SortSlices(func(a, b store.AuditEvent) bool { return a.Type < b.Type })
				if diff := cmp.Diff(wantAudit, gotAudit, byType, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("audit events (-want +got):\n%s", diff)
				}
				// Reported after the commit, in the order the transaction
				// wrote them: the cascade's grant.revoked, then session.revoked.
				wantHeard := []grant.Event{
					{Type: grant.EventGrantRevoked, Reason: grant.ReasonUserRevoked, Count: 1, ClientID: desktop.ID,
						Subject: "alice", GrantID: target.ID},
					{Type: grant.EventSessionRevoked, Reason: grant.ReasonUserRevoked, Count: 1, ClientID: desktop.ID,
						Subject: "alice", GrantID: target.ID},
				}
				if diff := cmp.Diff(wantHeard, e.Events.Events()[heard:]); diff != "" {
					t.Errorf("observer (-want +got):\n%s", diff)
				}
				for _, r := range testenv.ActiveRefresh(e.Snapshot(), "grant_id", target.ID) {
					t.Errorf("refresh token %v of the revoked grant is still active", r["id"])
				}

				// Gone from the list; the other session stays.
				p, err = svc.List(ctx, user("alice"), session.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]string{other.ID}, ids(p.Sessions)); diff != "" {
					t.Errorf("listing after (-want +got):\n%s", diff)
				}
				// Its tokens fail.
				if _, err := e.refresh(desktop, resp.RefreshToken); !errors.Is(err, token.ErrInvalidGrant) {
					t.Errorf("Refresh after Revoke = %v, want token.ErrInvalidGrant", err)
				}
				for name, raw := range map[string]string{"first": first.AccessToken, "latest": resp.AccessToken} {
					if _, err := e.Verifier.Verify(ctx, raw); !errors.Is(err, token.ErrGrantInactive) {
						t.Errorf("Verify(%s access token) after Revoke = %v, want token.ErrGrantInactive", name, err)
					}
				}
				// The other session's do not.
				if _, err := e.Verifier.Verify(ctx, otherResp.AccessToken); err != nil {
					t.Errorf("the other session's access token: %v", err)
				}
				if _, err := e.refresh(bot, otherResp.RefreshToken); err != nil {
					t.Errorf("the other session's refresh: %v", err)
				}

				// Twice: not found, nothing more written.
				before := e.Snapshot()
				if err := svc.Revoke(ctx, user(tc.caller), target.ID); !errors.Is(err, session.ErrNotFound) {
					t.Errorf("second Revoke = %v, want session.ErrNotFound", err)
				}
				if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
					t.Errorf("second Revoke changed the database (-before +after):\n%s", diff)
				}
			})
		}
	})
}

// TestRevokeConcurrent races 16 revocations of one session — by its
// subject and by an admin — released at once: exactly one succeeds, the
// others are not found, and the revocation is audited once.
func TestRevokeConcurrent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		target, _ := e.login(e.client("Acme Desktop", false), "alice")
		svc := e.service(session.Config{IsAdmin: admins("root")})
		const n = 16
		var (
			mu   sync.Mutex
			errs []error
			fns  []func()
		)
		for i := range n {
			caller := "alice"
			if i%2 == 1 {
				caller = "root"
			}
			fns = append(fns, func() {
				err := svc.Revoke(ctx, user(caller), target.ID)
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
			})
		}
		testdb.Together(fns...)

		succeeded, notFound := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				succeeded++
			case errors.Is(err, session.ErrNotFound):
				notFound++
			default:
				t.Errorf("Revoke: %v", err)
			}
		}
		if succeeded != 1 || notFound != n-1 {
			t.Errorf("%d succeeded and %d were not found, want 1 and %d", succeeded, notFound, n-1)
		}
		count := testenv.AuditCounts(e.Snapshot(), target.ID)
		if count[grant.EventSessionRevoked] != 1 || count[grant.EventGrantRevoked] != 1 {
			t.Errorf("audit events of the grant: %v, want one %s and one %s", count, grant.EventSessionRevoked,
				grant.EventGrantRevoked)
		}
		if g := e.Grant(target.ID); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonUserRevoked {
			t.Errorf("grant: %s, reason %q", g.Status, g.RevokeReason)
		}
	})
}

// revokedMeanwhile is a store whose GetGrant runs meanwhile after reading
// the grant and returns what it read: the session service then holds a
// grant that another revocation ends before the service's own transaction
// starts — the window a concurrent revocation can hit, made deterministic.
type revokedMeanwhile struct {
	store.Store
	meanwhile func()
}

func (s revokedMeanwhile) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	g, err := s.Store.GetGrant(ctx, id)
	s.meanwhile()
	return g, err
}

// TestRevokeRevokedMeanwhile: a session revoked by someone else between
// the service's read and its transaction is not found, and the service
// writes nothing (no session.revoked, the other revocation's reason and
// actor stay) and reports nothing.
func TestRevokeRevokedMeanwhile(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		for _, tc := range []struct {
			name      string
			reason    string
			meanwhile func(e *env, id string) error
		}{
			{"client deleted", grant.ReasonClientDeleted, func(e *env, id string) error {
				_, err := e.Manager.DeleteClient(context.Background(), e.Grant(id).ClientID, "operator")
				return err
			}},
			{"revoked by an admin", grant.ReasonUserRevoked, func(e *env, id string) error {
				return e.service(session.Config{IsAdmin: admins("operator")}).Revoke(context.Background(), user("operator"), id)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, db)
				target, _ := e.login(e.client("Acme Desktop", false), "alice")
				var (
					once   sync.Once
					before map[string][]map[string]any // the database after the other revocation
					heard  int                         // the events heard by then
				)
				m := e.ManagerOver(revokedMeanwhile{e.Store, func() {
					once.Do(func() {
						if err := tc.meanwhile(e, target.ID); err != nil {
							t.Errorf("revoking meanwhile: %v", err)
						}
						before, heard = e.Snapshot(), len(e.Events.Events())
					})
				}})
				svc, err := session.New(m, session.Config{})
				if err != nil {
					t.Fatal(err)
				}
				if err := svc.Revoke(ctx, user("alice"), target.ID); !errors.Is(err, session.ErrNotFound) {
					t.Fatalf("Revoke = %v, want session.ErrNotFound", err)
				}
				if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
					t.Errorf("the late revocation changed the database (-before +after):\n%s", diff)
				}
				if n := len(e.Events.Events()); n != heard {
					t.Errorf("the late revocation told the observer %d events", n-heard)
				}
				g := e.Grant(target.ID)
				if g.Status != store.GrantRevoked || g.RevokeReason != tc.reason {
					t.Errorf("grant: %s, reason %q, want revoked with %q", g.Status, g.RevokeReason, tc.reason)
				}
				snap := e.Snapshot()
				count := testenv.AuditCounts(snap, target.ID)
				for _, r := range testenv.Rows(snap, "audit_events", "grant_id", target.ID) {
					if r["type"] == grant.EventGrantRevoked && r["actor"] != "operator" {
						t.Errorf("grant.revoked by %v, want operator", r["actor"])
					}
				}
				wantSession := 0
				if tc.reason == grant.ReasonUserRevoked {
					wantSession = 1 // the admin's
				}
				if count[grant.EventGrantRevoked] != 1 || count[grant.EventSessionRevoked] != wantSession {
					t.Errorf("audit events of the grant: %v", count)
				}
			})
		}
	})
}

// TestSubjectKindOwnership: where a host's user ids and API-key ids can
// collide, user "42" neither lists nor revokes the sessions of api_key
// "42", and each kind sees only its own.
func TestSubjectKindOwnership(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client("Agent", false)
		keyGrant := e.put(c, "42", func(g *store.Grant) { g.SubjectKind = "api_key" })
		userGrant := e.put(c, "42")
		svc := e.service(session.Config{})
		asUser, asKey := user("42"), session.Caller{Subject: "42", Kind: "api_key"}

		for _, tc := range []struct {
			caller session.Caller
			want   []string
		}{{asUser, []string{userGrant.ID}}, {asKey, []string{keyGrant.ID}}} {
			p, err := svc.List(ctx, tc.caller, session.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range p.Sessions {
				got = append(got, s.GrantID)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("List as %+v (-want +got):\n%s", tc.caller, diff)
			}
		}
		before := testdb.Snapshot(t, e.Store)
		if err := svc.Revoke(ctx, asUser, keyGrant.ID); !errors.Is(err, session.ErrForbidden) {
			t.Fatalf("user 42 revoking api_key 42's session = %v, want ErrForbidden", err)
		}
		if diff := cmp.Diff(before, testdb.Snapshot(t, e.Store)); diff != "" {
			t.Errorf("a forbidden revocation changed the database (-before +after):\n%s", diff)
		}
		if err := svc.Revoke(ctx, asKey, keyGrant.ID); err != nil {
			t.Fatalf("api_key 42 revoking its own session: %v", err)
		}
		if g := e.Grant(userGrant.ID); g.Status != store.GrantActive {
			t.Errorf("user 42's grant is %s after api_key 42 revoked its own", g.Status)
		}
	})
}
