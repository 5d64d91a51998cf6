package session_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
)

// listFixture is a store holding grants of alice, bob and nobody else, in
// the personal tenant and in org-1, in every state.
type listFixture struct {
	e            *env
	desktop, bot store.Client // bot registered dynamically
	// alice's active grants: old (personal), org (org-1), used (personal,
	// last used), tieA and tieB (personal, created at the same instant).
	old, org, used, tieA, tieB store.Grant
	// bob's active grants: bob (personal), bobOrg (org-1).
	bob, bobOrg store.Grant
	// alice's grants that must never be listed.
	pending, revoked store.Grant
}

func newListFixture(t *testing.T, db testdb.DB) *listFixture {
	t.Helper()
	ctx := context.Background()
	f := &listFixture{e: newEnv(t, db)}
	e := f.e
	f.desktop = e.client("Acme Desktop", false)
	f.bot = e.client("Totally Official Assistant", true)
	tenant := func(t string) func(*store.Grant) { return func(g *store.Grant) { g.Tenant = t } }

	f.old = e.put(f.desktop, "alice")
	e.Clock.Advance(time.Minute)
	f.org = e.put(f.bot, "alice", tenant("org-1"))
	e.Clock.Advance(time.Minute)
	f.used = e.put(f.desktop, "alice")
	if n, err := e.Store.TouchGrants(ctx, []string{f.used.ID}, testenv.T0.Add(90*time.Minute), time.Minute); err != nil || n != 1 {
		t.Fatalf("TouchGrants = %d, %v", n, err)
	}
	f.used = e.Grant(f.used.ID)
	e.Clock.Advance(time.Minute)
	f.tieA = e.put(f.bot, "alice")
	f.tieB = e.put(f.desktop, "alice")
	e.Clock.Advance(time.Minute)
	f.pending = e.put(f.desktop, "alice", func(g *store.Grant) {
		g.Status, g.ActivatedAt = store.GrantPending, time.Time{}
	})
	e.Clock.Advance(time.Minute)
	f.revoked = e.put(f.bot, "alice")
	if _, err := e.Manager.Revoke(ctx, []string{f.revoked.ID}, grant.ReasonTokenRevoked, "alice"); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Minute)
	f.bob = e.put(f.desktop, "bob")
	e.Clock.Advance(time.Minute)
	f.bobOrg = e.put(f.bot, "bob", tenant("org-1"))
	return f
}

// TestNew refuses a nil grant manager.
func TestNew(t *testing.T) {
	if svc, err := session.New(nil, session.Config{}); err == nil || svc != nil {
		t.Errorf("New without a manager = %v, %v; want an error", svc, err)
	}
}

// names are the host's display names: carol has none.
var names = map[string]string{"alice": "Alice Liddell", "bob": "Bob Dobbs"}

// TestListSessions lists the fixture as each caller with each filter: only
// active grants of the caller (or of everyone, for an admin) are shown,
// newest first, with every field of SPEC §6, and the display names are
// resolved with one call per page naming the page's distinct subjects.
func TestListSessions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		f := newListFixture(t, db)
		if f.tieA.ID < f.tieB.ID { // of two grants created at one instant, the greater id is listed first
			f.tieA, f.tieB = f.tieB, f.tieA
		}
		alice := func(g store.Grant, c store.Client) session.Session { return sessionOf(g, c, names["alice"]) }
		bob := func(g store.Grant, c store.Client) session.Session { return sessionOf(g, c, names["bob"]) }
		orgMembers := members(map[string][]string{"alice": {"", "org-1"}, "bob": {"org-1"}})
		cases := []struct {
			name      string
			cfg       session.Config
			caller    string
			opt       session.ListOptions
			want      []session.Session
			wantNames [][]string // the DisplayNames calls, subjects sorted
		}{
			{name: "own sessions, every tenant", caller: "alice",
				want: []session.Session{alice(f.tieA, f.desktopOrBot(f.tieA)), alice(f.tieB, f.desktopOrBot(f.tieB)),
					alice(f.used, f.desktop), alice(f.org, f.bot), alice(f.old, f.desktop)},
				wantNames: [][]string{{"alice"}}},
			{name: "another subject's own", caller: "bob",
				want:      []session.Session{bob(f.bobOrg, f.bot), bob(f.bob, f.desktop)},
				wantNames: [][]string{{"bob"}}},
			{name: "nothing to show", caller: "carol", want: nil, wantNames: nil},
			{name: "personal tenant", cfg: session.Config{IsMember: orgMembers}, caller: "alice",
				opt: session.ListOptions{Tenant: store.Tenant("")},
				want: []session.Session{alice(f.tieA, f.desktopOrBot(f.tieA)), alice(f.tieB, f.desktopOrBot(f.tieB)),
					alice(f.used, f.desktop), alice(f.old, f.desktop)},
				wantNames: [][]string{{"alice"}}},
			{name: "member's tenant", cfg: session.Config{IsMember: orgMembers}, caller: "alice",
				opt:       session.ListOptions{Tenant: store.Tenant("org-1")},
				want:      []session.Session{alice(f.org, f.bot)},
				wantNames: [][]string{{"alice"}}},
			{name: "admin's tenant without membership", cfg: session.Config{IsAdmin: admins("bob")}, caller: "bob",
				opt:       session.ListOptions{Tenant: store.Tenant("org-1")},
				want:      []session.Session{bob(f.bobOrg, f.bot)},
				wantNames: [][]string{{"bob"}}},
			{name: "admin, every subject", cfg: session.Config{IsAdmin: admins("root")}, caller: "root",
				opt: session.ListOptions{AllSubjects: true},
				want: []session.Session{bob(f.bobOrg, f.bot), bob(f.bob, f.desktop),
					alice(f.tieA, f.desktopOrBot(f.tieA)), alice(f.tieB, f.desktopOrBot(f.tieB)),
					alice(f.used, f.desktop), alice(f.org, f.bot), alice(f.old, f.desktop)},
				wantNames: [][]string{{"alice", "bob"}}},
			{name: "admin, every subject of a tenant", cfg: session.Config{IsAdmin: admins("root")}, caller: "root",
				opt:       session.ListOptions{AllSubjects: true, Tenant: store.Tenant("org-1")},
				want:      []session.Session{bob(f.bobOrg, f.bot), alice(f.org, f.bot)},
				wantNames: [][]string{{"alice", "bob"}}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := newResolver(names)
				tc.cfg.DisplayNames = r.DisplayNames
				p, err := f.e.service(tc.cfg).List(context.Background(), user(tc.caller), tc.opt)
				if err != nil {
					t.Fatalf("List: %v", err)
				}
				if diff := cmp.Diff(tc.want, p.Sessions, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("sessions (-want +got):\n%s", diff)
				}
				if p.Next != "" {
					t.Errorf("Next = %q on the only page", p.Next)
				}
				if diff := cmp.Diff(tc.wantNames, r.take()); diff != "" {
					t.Errorf("DisplayNames calls (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// desktopOrBot returns the client of one of the fixture's grants.
func (f *listFixture) desktopOrBot(g store.Grant) store.Client {
	if g.ClientID == f.bot.ID {
		return f.bot
	}
	return f.desktop
}

// TestListFieldsUnverifiedAndUnnamed pins the fields a listing must not
// invent: a dynamic client is flagged unverified, a subject the host does
// not name (or no DisplayNames at all) has no name, and a grant never
// used has a zero LastUsedAt.
func TestListFieldsUnverifiedAndUnnamed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		f := newListFixture(t, db)
		for _, tc := range []struct {
			name  string
			names func(context.Context, []string) (map[string]string, error)
		}{
			{"no resolver", nil},
			{"resolver without the subject", newResolver(map[string]string{"bob": "Bob Dobbs"}).DisplayNames},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p, err := f.e.service(session.Config{DisplayNames: tc.names}).List(context.Background(), user("alice"),
					session.ListOptions{Limit: 5})
				if err != nil {
					t.Fatal(err)
				}
				got := map[string]session.Session{}
				for _, s := range p.Sessions {
					got[s.GrantID] = s
				}
				for _, w := range []session.Session{sessionOf(f.org, f.bot, ""), sessionOf(f.used, f.desktop, "")} {
					if diff := cmp.Diff(w, got[w.GrantID]); diff != "" {
						t.Errorf("session %s (-want +got):\n%s", w.GrantID, diff)
					}
				}
				if org := got[f.org.ID]; org.ClientVerified || !org.LastUsedAt.IsZero() {
					t.Errorf("dynamic client's session: ClientVerified %t, LastUsedAt %v", org.ClientVerified, org.LastUsedAt)
				}
				if used := got[f.used.ID]; !used.ClientVerified || !used.LastUsedAt.Equal(testenv.T0.Add(90*time.Minute)) {
					t.Errorf("used session: ClientVerified %t, LastUsedAt %v", used.ClientVerified, used.LastUsedAt)
				}
			})
		}
	})
}

// TestListDisplayNamesError: a failing host resolver fails the listing
// (it is not a refusal) rather than showing a page without names.
func TestListDisplayNamesError(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		f := newListFixture(t, db)
		errHost := errors.New("directory unavailable")
		calls := 0
		svc := f.e.service(session.Config{DisplayNames: func(context.Context, []string) (map[string]string, error) {
			calls++
			return nil, errHost
		}})
		p, err := svc.List(context.Background(), user("alice"), session.ListOptions{})
		if !errors.Is(err, errHost) || errors.Is(err, session.ErrForbidden) || len(p.Sessions) != 0 {
			t.Fatalf("List = %d sessions, %v; want errHost", len(p.Sessions), err)
		}
		if calls != 1 {
			t.Errorf("DisplayNames called %d times, want 1", calls)
		}
	})
}

// TestListLimits checks the page size: 25 by default, 1 to 100 accepted,
// anything else refused with store.ErrInvalidArgument before any statement.
func TestListLimits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		c := e.client("Acme Desktop", false)
		const n = 130
		seeded := testdb.SeedGrants(t, e.Store, store.Grant{ClientID: c.ID, Subject: "alice", SubjectKind: "user",
			Resource: testenv.Resource + "/", RedirectURI: testenv.RedirectURI, Scopes: []string{"read"}, CreatedAt: testenv.T0}, n, time.Second)
		newest := func(k int) []string { // the ids of the k newest grants, newest first
			out := make([]string, k)
			for i := range out {
				out[i] = seeded.ID(n - 1 - i)
			}
			return out
		}
		svc := e.service(session.Config{})
		for _, tc := range []struct {
			limit   int
			want    []string
			wantErr error
		}{
			{limit: 0, want: newest(store.DefaultPageLimit)},
			{limit: 1, want: newest(1)},
			{limit: 25, want: newest(25)},
			{limit: 99, want: newest(99)},
			{limit: 100, want: newest(100)},
			{limit: 101, wantErr: store.ErrInvalidArgument},
			{limit: 1000, wantErr: store.ErrInvalidArgument},
			{limit: -1, wantErr: store.ErrInvalidArgument},
		} {
			t.Run(fmt.Sprintf("limit=%d", tc.limit), func(t *testing.T) {
				before := e.Counter.Load()
				p, err := svc.List(context.Background(), user("alice"), session.ListOptions{Limit: tc.limit})
				statements := e.Counter.Load() - before
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("List = %v, want %v", err, tc.wantErr)
					}
					if statements != 0 {
						t.Errorf("a refused limit sent %d statements", statements)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, ids(p.Sessions)); diff != "" {
					t.Errorf("page (-want +got):\n%s", diff)
				}
				if p.Next == "" {
					t.Error("no Next although more sessions remain")
				}
			})
		}
	})
}

// TestListPagesAcrossInserts walks a listing page by page while new grants
// are created between the fetches — newer ones, and ones created at the
// very instant of the newest grant and of the last row of the page just
// returned. The pages together are exactly the grants that existed when
// the walk began, in order, each once: keyset pagination, not offsets.
func TestListPagesAcrossInserts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		for _, size := range []int{1, 3, 7, 25} {
			t.Run(fmt.Sprintf("limit=%d", size), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db)
				desktop, bot := e.client("Acme Desktop", false), e.client("Helper", true)
				// 20 grants of alice, two per instant, among grants of others
				// and grants of hers that are not active.
				var initial []store.Grant
				for k := range 10 {
					initial = append(initial, e.put(desktop, "alice"), e.put(bot, "alice"))
					e.put(desktop, "bob")
					e.put(bot, "alice", func(g *store.Grant) { g.Status, g.ActivatedAt = store.GrantPending, time.Time{} })
					if k < 9 {
						e.Clock.Advance(time.Minute)
					}
				}
				latest := e.Manager.Now()
				want := grantIDs(newestFirst(initial)...)

				r := newResolver(names)
				svc := e.service(session.Config{DisplayNames: r.DisplayNames})
				inserted := 0
				pages := walk(t, svc, "alice", session.ListOptions{Limit: size}, func(p session.Page) {
					last := p.Sessions[len(p.Sessions)-1]
					switch inserted % 3 {
					case 0: // a newer grant
						e.Clock.Advance(time.Second)
						e.put(desktop, "alice")
					case 1: // at the instant of the newest grant
						e.put(bot, "alice", func(g *store.Grant) { g.CreatedAt, g.ActivatedAt = latest, latest })
					case 2: // at the instant of the cursor's row
						e.put(desktop, "alice", func(g *store.Grant) { g.CreatedAt, g.ActivatedAt = last.CreatedAt, last.CreatedAt })
					}
					inserted++
					e.put(bot, "bob")
				})

				var got []string
				for i, p := range pages {
					if len(p.Sessions) > size || (i < len(pages)-1 && len(p.Sessions) != size) {
						t.Errorf("page %d holds %d sessions with limit %d", i+1, len(p.Sessions), size)
					}
					got = append(got, ids(p.Sessions)...)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("the pages together (-want +got):\n%s", diff)
				}
				if wantPages := (len(initial) + size - 1) / size; len(pages) != wantPages {
					t.Errorf("%d pages, want %d", len(pages), wantPages)
				}
				calls := r.take()
				if len(calls) != len(pages) {
					t.Errorf("DisplayNames called %d times for %d pages", len(calls), len(pages))
				}
				for _, c := range calls {
					if !slices.Equal(c, []string{"alice"}) {
						t.Errorf("DisplayNames(%q), want [alice]", c)
					}
				}
				// The grants inserted meanwhile are there for the next walk.
				again := walk(t, svc, "alice", session.ListOptions{Limit: 100}, nil)
				if n := len(again[0].Sessions); n != len(initial)+inserted {
					t.Errorf("a new listing shows %d sessions, want %d + %d inserted", n, len(initial), inserted)
				}
			})
		}
	})
}

// TestListCursors refuses a cursor that is forged, altered, or issued for
// another listing (another subject, another tenant filter, the admin
// listing) with store.ErrInvalidCursor, after checking that each foreign
// cursor works in the listing that issued it.
func TestListCursors(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		c := e.client("Acme Desktop", false)
		for range 3 {
			for _, subject := range []string{"alice", "bob"} {
				for _, tenant := range []string{"", "org-1"} {
					e.put(c, subject, func(g *store.Grant) { g.Tenant = tenant })
				}
			}
			e.Clock.Advance(time.Second)
		}
		svc := e.service(session.Config{IsAdmin: admins("root"), IsMember: members(map[string][]string{
			"alice": {"", "org-1"}, "bob": {"", "org-1"}})})
		ctx := context.Background()
		// cursor returns the Next of the first page of caller's listing with opt.
		cursor := func(caller string, opt session.ListOptions) string {
			t.Helper()
			opt.Limit = 1
			p, err := svc.List(ctx, user(caller), opt)
			if err != nil || p.Next == "" {
				t.Fatalf("List(%s, %+v) = next %q, %v", caller, opt, p.Next, err)
			}
			// The cursor works where it was issued.
			opt.Cursor = p.Next
			if p2, err := svc.List(ctx, user(caller), opt); err != nil || len(p2.Sessions) != 1 {
				t.Fatalf("the cursor of List(%s) fails in its own listing: %d sessions, %v", caller, len(p2.Sessions), err)
			}
			return p.Next
		}
		own := cursor("alice", session.ListOptions{})
		raw, err := base64.RawURLEncoding.DecodeString(own)
		if err != nil {
			t.Fatalf("the cursor is not base64url: %v", err)
		}
		altered := func(i int) string {
			b := slices.Clone(raw)
			b[i] ^= 0x01
			return base64.RawURLEncoding.EncodeToString(b)
		}
		forged, err := store.EncodeCursor("forged", store.Cursor{Time: testenv.T0, ID: testdb.NewID()})
		if err != nil {
			t.Fatal(err)
		}
		org1 := session.ListOptions{Tenant: store.Tenant("org-1")}
		cases := []struct {
			name   string
			cursor string
			opt    session.ListOptions
		}{
			{name: "garbage", cursor: "not a cursor"},
			{name: "not base64url", cursor: own + "!"},
			{name: "truncated", cursor: own[:len(own)-2]},
			{name: "extended", cursor: base64.RawURLEncoding.EncodeToString(append(slices.Clone(raw), 0))},
			{name: "version altered", cursor: altered(0)},
			{name: "check altered", cursor: altered(3)},
			{name: "time altered", cursor: altered(14)},
			{name: "id altered", cursor: altered(len(raw) - 1)},
			{name: "forged for another scope", cursor: forged},
			{name: "another subject's", cursor: cursor("bob", session.ListOptions{})},
			{name: "another subject's in the same tenant", cursor: cursor("bob", org1), opt: org1},
			{name: "own, issued with a tenant filter, used without", cursor: cursor("alice", org1)},
			{name: "own, issued without a tenant filter, used with", cursor: own, opt: org1},
			{name: "own, issued for another tenant", cursor: cursor("alice", session.ListOptions{Tenant: store.Tenant("")}),
				opt: org1},
			{name: "the admin listing's", cursor: cursor("root", session.ListOptions{AllSubjects: true})},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				opt := tc.opt
				opt.Cursor = tc.cursor
				p, err := svc.List(ctx, user("alice"), opt)
				if !errors.Is(err, store.ErrInvalidCursor) {
					t.Errorf("List = %d sessions, %v; want store.ErrInvalidCursor", len(p.Sessions), err)
				}
			})
		}
	})
}

// TestListAccess covers who may list what (SPEC §6): a tenant filter only
// after the host confirms membership (or for an admin), every subject only
// for an admin; a refusal sends no statement and resolves no name, and a
// failing host check is an error, not a refusal.
func TestListAccess(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		c := e.client("Acme Desktop", false)
		var (
			alicePersonal = e.put(c, "alice")
			aliceOrg1     = e.put(c, "alice", func(g *store.Grant) { g.Tenant = "org-1" })
			aliceOrg2     = e.put(c, "alice", func(g *store.Grant) { g.Tenant = "org-2" })
			bobOrg1       = e.put(c, "bob", func(g *store.Grant) { g.Tenant = "org-1" })
		)
		errHost := errors.New("directory unavailable")
		failing := func(context.Context, session.Caller, string) (bool, error) { return false, errHost }
		failingAdmin := func(context.Context, session.Caller) (bool, error) { return false, errHost }
		var memberCalls [][2]string
		recording := func(_ context.Context, c session.Caller, tenant string) (bool, error) {
			caller := c.Subject
			memberCalls = append(memberCalls, [2]string{caller, tenant})
			return caller == "alice" && tenant == "org-1", nil
		}
		org1 := store.Tenant("org-1")
		cases := []struct {
			name            string
			cfg             session.Config
			caller          string
			opt             session.ListOptions
			want            []string // grant ids, as a set
			wantErr         error
			wantForbidden   bool
			wantMemberCalls [][2]string
		}{
			{name: "tenant filter without a membership check", caller: "alice", opt: session.ListOptions{Tenant: org1},
				wantForbidden: true},
			{name: "tenant filter, not a member", cfg: session.Config{IsMember: recording}, caller: "bob",
				opt: session.ListOptions{Tenant: store.Tenant("org-2")}, wantForbidden: true,
				wantMemberCalls: [][2]string{{"bob", "org-2"}}},
			{name: "tenant filter, membership check fails", cfg: session.Config{IsMember: failing}, caller: "alice",
				opt: session.ListOptions{Tenant: org1}, wantErr: errHost},
			{name: "tenant filter, member", cfg: session.Config{IsMember: recording}, caller: "alice",
				opt: session.ListOptions{Tenant: org1}, want: []string{aliceOrg1.ID},
				wantMemberCalls: [][2]string{{"alice", "org-1"}}},
			{name: "tenant filter, admin without membership",
				cfg:    session.Config{IsAdmin: admins("alice"), IsMember: recording},
				caller: "alice", opt: session.ListOptions{Tenant: store.Tenant("org-2")}, want: []string{aliceOrg2.ID}},
			{name: "tenant filter, admin check fails", cfg: session.Config{IsAdmin: failingAdmin, IsMember: recording},
				caller: "alice", opt: session.ListOptions{Tenant: org1}, wantErr: errHost},
			{name: "no filter needs no check", cfg: session.Config{IsMember: failing, IsAdmin: failingAdmin},
				caller: "alice", want: []string{alicePersonal.ID, aliceOrg1.ID, aliceOrg2.ID}},
			{name: "every subject without an admin check", caller: "alice",
				opt: session.ListOptions{AllSubjects: true}, wantForbidden: true},
			{name: "every subject, not an admin", cfg: session.Config{IsAdmin: admins("root")}, caller: "alice",
				opt: session.ListOptions{AllSubjects: true}, wantForbidden: true},
			{name: "every subject, not an admin, tenant member", cfg: session.Config{IsAdmin: admins("root"),
				IsMember: recording}, caller: "alice", opt: session.ListOptions{AllSubjects: true, Tenant: org1},
				wantForbidden: true},
			{name: "every subject, admin check fails", cfg: session.Config{IsAdmin: failingAdmin}, caller: "root",
				opt: session.ListOptions{AllSubjects: true}, wantErr: errHost},
			{name: "every subject, admin", cfg: session.Config{IsAdmin: admins("root")}, caller: "root",
				opt:  session.ListOptions{AllSubjects: true},
				want: []string{alicePersonal.ID, aliceOrg1.ID, aliceOrg2.ID, bobOrg1.ID}},
			{name: "every subject of a tenant, admin", cfg: session.Config{IsAdmin: admins("root")}, caller: "root",
				opt: session.ListOptions{AllSubjects: true, Tenant: org1}, want: []string{aliceOrg1.ID, bobOrg1.ID}},
			{name: "no caller", cfg: session.Config{IsAdmin: admins("")}, caller: "", wantForbidden: true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				memberCalls = nil
				r := newResolver(names)
				tc.cfg.DisplayNames = r.DisplayNames
				before := e.Counter.Load()
				p, err := e.service(tc.cfg).List(context.Background(), user(tc.caller), tc.opt)
				statements := e.Counter.Load() - before
				switch {
				case tc.wantForbidden:
					if !errors.Is(err, session.ErrForbidden) {
						t.Fatalf("List = %v, want session.ErrForbidden", err)
					}
				case tc.wantErr != nil:
					if !errors.Is(err, tc.wantErr) || errors.Is(err, session.ErrForbidden) {
						t.Fatalf("List = %v, want the host's error and not session.ErrForbidden", err)
					}
				case err != nil:
					t.Fatalf("List: %v", err)
				}
				if err != nil {
					if statements != 0 || len(p.Sessions) != 0 || len(r.take()) != 0 {
						t.Errorf("a failed listing sent %d statements, showed %d sessions or resolved names",
							statements, len(p.Sessions))
					}
				} else {
					got := ids(p.Sessions)
					slices.Sort(got)
					slices.Sort(tc.want)
					if diff := cmp.Diff(tc.want, got); diff != "" {
						t.Errorf("sessions (-want +got):\n%s", diff)
					}
				}
				if diff := cmp.Diff(tc.wantMemberCalls, memberCalls); diff != "" {
					t.Errorf("IsMember calls (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// TestListCost pins the listing's cost at one SQL statement per page
// whatever the page size, the filter and the page's position, and one
// DisplayNames call.
func TestListCost(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		desktop, bot := e.client("Acme Desktop", false), e.client("Helper", true)
		for _, s := range []struct {
			client  store.Client
			subject string
			tenant  string
			status  store.GrantStatus
			n       int
		}{
			{desktop, "alice", "", store.GrantActive, 250},
			{bot, "alice", "org-1", store.GrantActive, 250},
			{desktop, "bob", "", store.GrantActive, 250},
			{bot, "alice", "", store.GrantPending, 50},
			{desktop, "alice", "org-1", store.GrantRevoked, 50},
		} {
			testdb.SeedGrants(t, e.Store, store.Grant{ClientID: s.client.ID, Subject: s.subject, SubjectKind: "user",
				Tenant: s.tenant, Resource: testenv.Resource + "/", RedirectURI: testenv.RedirectURI, Scopes: []string{"read"},
				Status: s.status, RevokeReason: grant.ReasonClientChanged, CreatedAt: testenv.T0}, s.n, time.Second)
		}
		r := newResolver(names)
		svc := e.service(session.Config{DisplayNames: r.DisplayNames, IsAdmin: admins("root"),
			IsMember: members(map[string][]string{"alice": {"org-1"}})})
		ctx := context.Background()
		for _, tc := range []struct {
			name   string
			caller string
			opt    session.ListOptions
		}{
			{"own", "alice", session.ListOptions{}},
			{"tenant", "alice", session.ListOptions{Tenant: store.Tenant("org-1")}},
			{"every subject", "root", session.ListOptions{AllSubjects: true}},
		} {
			for _, limit := range []int{1, 25, 100} {
				t.Run(fmt.Sprintf("%s/limit=%d", tc.name, limit), func(t *testing.T) {
					opt := tc.opt
					opt.Limit = limit
					for page := 1; page <= 2; page++ {
						before := e.Counter.Load()
						p, err := svc.List(ctx, user(tc.caller), opt)
						if err != nil {
							t.Fatal(err)
						}
						if n := e.Counter.Load() - before; n != 1 {
							t.Errorf("page %d: %d statements, want 1", page, n)
						}
						if len(p.Sessions) != limit || p.Next == "" {
							t.Fatalf("page %d: %d sessions, next %q", page, len(p.Sessions), p.Next)
						}
						if calls := r.take(); len(calls) != 1 {
							t.Errorf("page %d: %d DisplayNames calls, want 1", page, len(calls))
						}
						opt.Cursor = p.Next
					}
				})
			}
		}
	})
}
