package storetest

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("GrantRoundTrip", testGrantRoundTrip)
}

func testGrantRoundTrip(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID, func(g *store.Grant) {
		g.CreatedAt, g.ActivatedAt = base, base
		g.Context = []byte(`{"workspace":"w1"}`)
		g.ConfigVersion = 7
		g.Tenant = "org-1"
	})
	got, err := s.GetGrant(ctx(t), g.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := g
	want.CreatedAt, want.ActivatedAt = micro, micro
	want.Context = got.Context // compared semantically below
	if d := diff(want, got); d != "" {
		t.Errorf("GetGrant (-want +got):\n%s", d)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
	}
	if _, err := s.GetGrant(ctx(t), "not-a-uuid"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetGrant(malformed) = %v, want ErrNotFound", err)
	}
}

func init() {
	register("GrantCreateConflict", testGrantCreateConflict)
	register("GrantCreateInvalidID", testGrantCreateInvalidID)
	register("GrantTimestamps", testGrantTimestamps)
	register("GrantFindActive", testGrantFindActive)
	register("GrantActivate", testGrantActivate)
	register("GrantActivateRace", testGrantActivateRace)
	register("GrantActiveBindingUnique", testGrantActiveBindingUnique)
	register("GrantActivateRaceSameBinding", testGrantActivateRaceSameBinding)
	register("GrantSelect", testGrantSelect)
	register("GrantSelectInvalid", testGrantSelectInvalid)
	register("GrantRevoke", testGrantRevoke)
	register("GrantTouch", testGrantTouch)
	register("GrantIDCase", testGrantIDCase)
}

// grantGet reads a grant and fails the test on error.
func grantGet(t *testing.T, s store.Ops, id string) store.Grant {
	t.Helper()
	g, err := s.GetGrant(ctx(t), id)
	if err != nil {
		t.Fatalf("GetGrant(%s): %v", id, err)
	}
	return g
}

// grantPending makes a fixture grant pending.
func grantPending(g *store.Grant) { g.Status, g.ActivatedAt = store.GrantPending, time.Time{} }

// grantRevoked makes a fixture grant revoked an hour before base.
func grantRevoked(g *store.Grant) {
	g.Status, g.RevokedAt, g.RevokeReason = store.GrantRevoked, micro.Add(-time.Hour), "earlier"
}

func testGrantCreateConflict(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	dup := g
	dup.Subject, dup.Status, dup.ActivatedAt = "bob", store.GrantPending, time.Time{} // another binding
	if err := s.CreateGrant(ctx(t), dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateGrant(duplicate id) = %v, want ErrConflict", err)
	}
	if d := diff(g, grantGet(t, s, g.ID)); d != "" {
		t.Errorf("grant changed by the refused insert (-want +got):\n%s", d)
	}
}

func testGrantCreateInvalidID(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	for _, id := range []string{
		"",
		"not-a-uuid",
		"0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5",   // one digit short
		"0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5bb", // one digit long
		"0190a0b1-2c3d-7e4f-8a9b-0c1d2e3f4a5g",  // not hex
		"0190a0b12c3d-7e4f-8a9b-0c1d2e3f4a5b0",  // dash misplaced
	} {
		g := store.Grant{
			ID: id, ClientID: c.ID, Subject: "alice", RedirectURI: "https://app.example/cb",
			Status: store.GrantPending, CreatedAt: micro,
		}
		if err := s.CreateGrant(ctx(t), g); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("CreateGrant(id %q) = %v, want ErrInvalidArgument", id, err)
		}
	}
	ids, err := s.SelectGrants(ctx(t), store.Selector{ClientID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Errorf("refused grants were stored: %v", ids)
	}
}

func testGrantTimestamps(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	// Every timestamp column, written from a non-UTC time with nanoseconds.
	g := newGrant(t, s, c.ID, func(g *store.Grant) {
		g.Status = store.GrantRevoked
		g.CreatedAt = base.Add(-3 * time.Hour)
		g.ActivatedAt = base.Add(-2 * time.Hour)
		g.LastUsedAt = base.Add(-time.Hour)
		g.RevokedAt = base
		g.RevokeReason = "user_revoked"
	})
	got := grantGet(t, s, g.ID)
	want := g
	want.CreatedAt = micro.Add(-3 * time.Hour)
	want.ActivatedAt = micro.Add(-2 * time.Hour)
	want.LastUsedAt = micro.Add(-time.Hour)
	want.RevokedAt = micro
	if d := diff(want, got); d != "" {
		t.Errorf("GetGrant (-want +got):\n%s", d)
	}
	for name, ts := range map[string]time.Time{
		"CreatedAt": got.CreatedAt, "ActivatedAt": got.ActivatedAt, "LastUsedAt": got.LastUsedAt, "RevokedAt": got.RevokedAt,
	} {
		if ts.Location() != time.UTC {
			t.Errorf("%s location = %v, want UTC", name, ts.Location())
		}
		if ts.Nanosecond()%1000 != 0 {
			t.Errorf("%s = %v, not truncated to microseconds", name, ts)
		}
	}

	// Zero times stay zero.
	p := newGrant(t, s, c.ID, grantPending)
	got = grantGet(t, s, p.ID)
	for name, ts := range map[string]time.Time{"ActivatedAt": got.ActivatedAt, "LastUsedAt": got.LastUsedAt, "RevokedAt": got.RevokedAt} {
		if !ts.IsZero() {
			t.Errorf("pending grant %s = %v, want zero", name, ts)
		}
	}
}

func testGrantFindActive(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	c2 := newClient(t, s)
	active := newGrant(t, s, c.ID, func(g *store.Grant) { g.Tenant = "org-1" })
	// Siblings on the same binding that must not be found.
	newGrant(t, s, c.ID, func(g *store.Grant) { g.Tenant = "org-1"; grantPending(g) })
	newGrant(t, s, c.ID, func(g *store.Grant) { g.Tenant = "org-1"; grantRevoked(g) })

	got, err := s.FindActiveGrant(ctx(t), active.Binding())
	if err != nil {
		t.Fatalf("FindActiveGrant: %v", err)
	}
	if d := diff(active, got); d != "" {
		t.Errorf("FindActiveGrant (-want +got):\n%s", d)
	}

	pendingOnly := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "pending-only"; grantPending(g) })
	revokedOnly := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "revoked-only"; grantRevoked(g) })
	for _, tc := range []struct {
		name string
		mut  func(*store.Binding)
	}{
		{"client", func(b *store.Binding) { b.ClientID = c2.ID }},
		{"subject", func(b *store.Binding) { b.Subject = "bob" }},
		{"tenant", func(b *store.Binding) { b.Tenant = "" }},
		{"resource", func(b *store.Binding) { b.Resource = "https://mcp.example" }},
		{"redirect_uri", func(b *store.Binding) { b.RedirectURI = "https://app.example/cb/" }},
		{"pending only", func(b *store.Binding) { *b = pendingOnly.Binding() }},
		{"revoked only", func(b *store.Binding) { *b = revokedOnly.Binding() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := active.Binding()
			tc.mut(&b)
			if g, err := s.FindActiveGrant(ctx(t), b); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("FindActiveGrant(%+v) = %s, %v; want ErrNotFound", b, g.ID, err)
			}
		})
	}
}

func testGrantActivate(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	at := base.Add(time.Minute)
	for _, tc := range []struct {
		name   string
		mut    func(*store.Grant)
		wantOK bool
	}{
		{"pending", grantPending, true},
		{"active", func(*store.Grant) {}, false},
		{"revoked", grantRevoked, false},
		{"revoked before activation", func(g *store.Grant) { grantPending(g); grantRevoked(g) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = tc.name; tc.mut(g) })
			ok, err := s.ActivateGrant(ctx(t), g.ID, at)
			if err != nil || ok != tc.wantOK {
				t.Fatalf("ActivateGrant = %v, %v; want %v, nil", ok, err, tc.wantOK)
			}
			want := g
			if tc.wantOK {
				want.Status, want.ActivatedAt = store.GrantActive, micro.Add(time.Minute)
			}
			if d := diff(want, grantGet(t, s, g.ID)); d != "" {
				t.Errorf("grant after ActivateGrant (-want +got):\n%s", d)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		for _, id := range []string{newID(t), "not-a-uuid", ""} {
			if ok, err := s.ActivateGrant(ctx(t), id, at); ok || err != nil {
				t.Errorf("ActivateGrant(%q) = %v, %v; want false, nil", id, ok, err)
			}
		}
	})
}

func testGrantActivateRace(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID, grantPending)
	wins := race(t, Contenders, func(i int) (bool, error) {
		return s.ActivateGrant(ctx(t), g.ID, base.Add(time.Duration(i)*time.Second))
	})
	if wins != 1 {
		t.Errorf("%d of %d concurrent ActivateGrant calls won, want exactly 1", wins, Contenders)
	}
	got := grantGet(t, s, g.ID)
	if got.Status != store.GrantActive || got.ActivatedAt.IsZero() {
		t.Errorf("grant after the race: status %q, activated_at %v; want active with a time", got.Status, got.ActivatedAt)
	}
}

func testGrantActiveBindingUnique(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	c2 := newClient(t, s)
	first := newGrant(t, s, c.ID)

	t.Run("second active insert", func(t *testing.T) {
		g := first
		g.ID = newID(t)
		if err := s.CreateGrant(ctx(t), g); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateGrant(second active on binding) = %v, want ErrConflict", err)
		}
		if _, err := s.GetGrant(ctx(t), g.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetGrant(refused grant) = %v, want ErrNotFound", err)
		}
	})

	// Pending and revoked grants on the binding are allowed, any number.
	pending := newGrant(t, s, c.ID, grantPending)
	pending2 := newGrant(t, s, c.ID, grantPending)
	newGrant(t, s, c.ID, grantRevoked)
	newGrant(t, s, c.ID, grantRevoked)

	t.Run("activating a second", func(t *testing.T) {
		ok, err := s.ActivateGrant(ctx(t), pending.ID, base)
		if !errors.Is(err, store.ErrConflict) || ok {
			t.Errorf("ActivateGrant(second on binding) = %v, %v; want false, ErrConflict", ok, err)
		}
		if d := diff(pending, grantGet(t, s, pending.ID)); d != "" {
			t.Errorf("refused activation changed the grant (-want +got):\n%s", d)
		}
		got, err := s.FindActiveGrant(ctx(t), first.Binding())
		if err != nil || got.ID != first.ID {
			t.Errorf("FindActiveGrant = %s, %v; want %s", got.ID, err, first.ID)
		}
	})

	t.Run("after revoking the first", func(t *testing.T) {
		if _, err := s.RevokeGrants(ctx(t), []string{first.ID}, "superseded", base); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ActivateGrant(ctx(t), pending.ID, base); !ok || err != nil {
			t.Fatalf("ActivateGrant after revoking the active one = %v, %v; want true, nil", ok, err)
		}
		if ok, err := s.ActivateGrant(ctx(t), pending2.ID, base); !errors.Is(err, store.ErrConflict) || ok {
			t.Errorf("ActivateGrant(third) = %v, %v; want false, ErrConflict", ok, err)
		}
	})

	// Grants differing from pending's binding in one field may both be active.
	for _, tc := range []struct {
		field string
		mut   func(*store.Grant)
	}{
		{"client", func(g *store.Grant) { g.ClientID = c2.ID }},
		{"subject", func(g *store.Grant) { g.Subject = "Alice" }},
		{"tenant", func(g *store.Grant) { g.Tenant = "org-1" }},
		{"resource", func(g *store.Grant) { g.Resource = "https://mcp.example/other" }},
		{"redirect_uri", func(g *store.Grant) { g.RedirectURI = "https://app.example/cb/" }},
	} {
		t.Run("differing "+tc.field, func(t *testing.T) {
			// Once inserted active, once activated from pending.
			g := newGrant(t, s, c.ID, tc.mut)
			if g.Binding() == pending.Binding() {
				t.Fatal("fixture: binding does not differ")
			}
			found, err := s.FindActiveGrant(ctx(t), g.Binding())
			if err != nil || found.ID != g.ID {
				t.Errorf("FindActiveGrant(%s binding) = %s, %v; want %s", tc.field, found.ID, err, g.ID)
			}
			if _, err := s.RevokeGrants(ctx(t), []string{g.ID}, "test", base); err != nil {
				t.Fatal(err)
			}
			p := newGrant(t, s, c.ID, func(g *store.Grant) { tc.mut(g); grantPending(g) })
			if ok, err := s.ActivateGrant(ctx(t), p.ID, base); !ok || err != nil {
				t.Errorf("ActivateGrant(%s differs) = %v, %v; want true, nil", tc.field, ok, err)
			}
			found, err = s.FindActiveGrant(ctx(t), pending.Binding())
			if err != nil || found.ID != pending.ID {
				t.Errorf("FindActiveGrant(original binding) = %s, %v; want %s", found.ID, err, pending.ID)
			}
		})
	}
}

func testGrantActivateRaceSameBinding(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	grants := make([]store.Grant, Contenders)
	for i := range grants {
		grants[i] = newGrant(t, s, c.ID, grantPending)
	}
	won := make([]bool, Contenders)
	var conflicts atomic.Int64
	wins := race(t, Contenders, func(i int) (bool, error) {
		ok, err := s.ActivateGrant(ctx(t), grants[i].ID, base)
		if errors.Is(err, store.ErrConflict) {
			conflicts.Add(1)
			return false, nil
		}
		won[i] = ok
		return ok, err
	})
	if wins != 1 {
		t.Fatalf("%d of %d activations on one binding won (%d conflicts), want exactly 1", wins, Contenders, conflicts.Load())
	}
	winner := grants[slices.Index(won, true)]
	got, err := s.FindActiveGrant(ctx(t), winner.Binding())
	if err != nil || got.ID != winner.ID {
		t.Errorf("FindActiveGrant = %s, %v; want the winner %s", got.ID, err, winner.ID)
	}
	page, err := s.ListActiveGrants(ctx(t), store.GrantFilter{Subject: winner.Subject, SubjectKind: winner.SubjectKind}, store.Page{Limit: store.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != winner.ID {
		t.Errorf("active grants after the race: %d, want only the winner", len(page.Items))
	}
	for i, g := range grants {
		if i == slices.Index(won, true) {
			continue
		}
		if st := grantGet(t, s, g.ID).Status; st != store.GrantPending {
			t.Errorf("loser %d status = %q, want pending", i, st)
		}
	}
}

func testGrantSelect(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c1, c2 := newClient(t, s), newClient(t, s)
	const r1, r2 = "https://r1.example/", "https://r2.example/"
	mk := func(client, subject, kind, tenant, resource string, cv int64, mut ...func(*store.Grant)) string {
		return newGrant(t, s, client, append([]func(*store.Grant){func(g *store.Grant) {
			g.Subject, g.SubjectKind, g.Tenant, g.Resource, g.ConfigVersion = subject, kind, tenant, resource, cv
		}}, mut...)...).ID
	}
	a := mk(c1.ID, "alice", "user", "", r1, 1)
	b := mk(c1.ID, "alice", "user", "org-1", r2, 3)
	cc := mk(c2.ID, "alice", "api_key", "org-1", r1, 5, grantPending)
	d := mk(c2.ID, "bob", "user", "org-1", r1, 2)
	e := mk(c1.ID, "bob", "api_key", "", r2, 0)
	f := mk(c2.ID, "carol", "user", "org-2", r1, 1)
	// Revoked grants matching most selectors: never selected.
	mk(c1.ID, "alice", "api_key", "", r1, 0, grantRevoked)
	mk(c2.ID, "bob", "user", "org-1", r2, 1, grantRevoked)

	for _, tc := range []struct {
		name string
		sel  store.Selector
		want []string
	}{
		{"client c1", store.Selector{ClientID: c1.ID}, []string{a, b, e}},
		{"client c2", store.Selector{ClientID: c2.ID}, []string{cc, d, f}},
		{"client unknown", store.Selector{ClientID: "client-unknown"}, nil},
		{"subject", store.Selector{Subject: "alice"}, []string{a, b, cc}},
		{"subject unknown", store.Selector{Subject: "dave"}, nil},
		{"subject+tenant", store.Selector{Subject: "alice", Tenant: store.Tenant("org-1")}, []string{b, cc}},
		{"subject+personal tenant", store.Selector{Subject: "alice", Tenant: store.Tenant("")}, []string{a}},
		{"tenant", store.Selector{Tenant: store.Tenant("org-1")}, []string{b, cc, d}},
		{"personal tenant", store.Selector{Tenant: store.Tenant("")}, []string{a, e}},
		{"tenant unknown", store.Selector{Tenant: store.Tenant("org-9")}, nil},
		{"resource", store.Selector{Resource: r1}, []string{a, cc, d, f}},
		{"subject kind", store.Selector{SubjectKind: "api_key"}, []string{cc, e}},
		{"subject+subject kind", store.Selector{Subject: "alice", SubjectKind: "api_key"}, []string{cc}},
		{"resource+version below 2", store.Selector{Resource: r1, ConfigVersionBelow: 2}, []string{a, f}},
		{"resource+version below 5", store.Selector{Resource: r1, ConfigVersionBelow: 5}, []string{a, d, f}},
		{"resource+version below 1", store.Selector{Resource: r1, ConfigVersionBelow: 1}, nil},
		{"client+subject", store.Selector{ClientID: c1.ID, Subject: "bob"}, []string{e}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.SelectGrants(ctx(t), tc.sel)
			if err != nil {
				t.Fatalf("SelectGrants: %v", err)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if d := diff(want, got); d != "" {
				t.Errorf("SelectGrants(%+v) (-want +got):\n%s", tc.sel, d)
			}
		})
	}
}

func testGrantSelectInvalid(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	newGrant(t, s, c.ID)
	for _, tc := range []struct {
		name string
		sel  store.Selector
	}{
		{"empty", store.Selector{}},
		{"version below alone", store.Selector{ConfigVersionBelow: 3}},
		{"version below without resource", store.Selector{Subject: "alice", ConfigVersionBelow: 3}},
		{"negative version below", store.Selector{Resource: "https://mcp.example/", ConfigVersionBelow: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, err := s.SelectGrants(ctx(t), tc.sel)
			if !errors.Is(err, store.ErrInvalidArgument) {
				t.Errorf("SelectGrants(%+v) = %v, %v; want ErrInvalidArgument", tc.sel, ids, err)
			}
		})
	}
}

func testGrantRevoke(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	a := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "a"; g.LastUsedAt = micro })
	b := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "b" })
	p := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "p"; grantPending(g) })
	old := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "old"; grantRevoked(g) })
	untouched := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "untouched" })

	revoked := func(g store.Grant, reason string, at time.Time) store.Grant {
		g.Status, g.RevokeReason, g.RevokedAt = store.GrantRevoked, reason, at
		return g
	}
	sortByID := func(gs []store.Grant) []store.Grant {
		return slices.SortedFunc(slices.Values(gs), func(x, y store.Grant) int { return strings.Compare(x.ID, y.ID) })
	}

	// First revocation: an active and a pending grant; unknown and
	// malformed ids are ignored.
	got, err := s.RevokeGrants(ctx(t), []string{a.ID, p.ID, newID(t), "not-a-uuid", ""}, "user_revoked", base.Add(time.Hour))
	if err != nil {
		t.Fatalf("RevokeGrants: %v", err)
	}
	at1 := micro.Add(time.Hour)
	want := sortByID([]store.Grant{revoked(a, "user_revoked", at1), revoked(p, "user_revoked", at1)})
	if d := diff(want, sortByID(got)); d != "" {
		t.Errorf("RevokeGrants returned (-want +got):\n%s", d)
	}
	for _, g := range got {
		if g.RevokedAt.Location() != time.UTC {
			t.Errorf("returned RevokedAt location = %v, want UTC", g.RevokedAt.Location())
		}
	}
	for _, w := range want {
		if d := diff(w, grantGet(t, s, w.ID)); d != "" {
			t.Errorf("GetGrant after RevokeGrants (-want +got):\n%s", d)
		}
	}

	// Idempotent: nothing returned, first revocation kept.
	got, err = s.RevokeGrants(ctx(t), []string{a.ID, p.ID}, "admin", base.Add(2*time.Hour))
	if err != nil || len(got) != 0 {
		t.Errorf("second RevokeGrants = %d grants, %v; want none, nil", len(got), err)
	}
	for _, w := range want {
		if d := diff(w, grantGet(t, s, w.ID)); d != "" {
			t.Errorf("second RevokeGrants changed a grant (-want +got):\n%s", d)
		}
	}

	// Mixed: only the not-yet-revoked grant is changed and returned, once.
	got, err = s.RevokeGrants(ctx(t), []string{a.ID, b.ID, old.ID, b.ID}, "admin", base.Add(3*time.Hour))
	if err != nil {
		t.Fatalf("RevokeGrants(mixed): %v", err)
	}
	wantB := revoked(b, "admin", micro.Add(3*time.Hour))
	if d := diff([]store.Grant{wantB}, got); d != "" {
		t.Errorf("RevokeGrants(mixed) returned (-want +got):\n%s", d)
	}
	if d := diff(old, grantGet(t, s, old.ID)); d != "" {
		t.Errorf("already revoked grant changed (-want +got):\n%s", d)
	}
	if d := diff(untouched, grantGet(t, s, untouched.ID)); d != "" {
		t.Errorf("grant not named was changed (-want +got):\n%s", d)
	}

	// Empty sets and sets of nothing.
	for _, tc := range []struct {
		name string
		ids  []string
	}{
		{"nil", nil},
		{"empty", []string{}},
		{"only unknown", []string{newID(t), "bogus"}},
	} {
		got, err := s.RevokeGrants(ctx(t), tc.ids, "x", base)
		if err != nil || len(got) != 0 {
			t.Errorf("RevokeGrants(%s) = %v, %v; want none, nil", tc.name, got, err)
		}
	}
	if d := diff(untouched, grantGet(t, s, untouched.ID)); d != "" {
		t.Errorf("grant changed by an empty revocation (-want +got):\n%s", d)
	}
}

func testGrantTouch(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	const window = 30 * time.Second
	touch := func(t *testing.T, ids []string, at time.Time, want int64) {
		t.Helper()
		n, err := s.TouchGrants(ctx(t), ids, at, window)
		if err != nil || n != want {
			t.Errorf("TouchGrants at %v = %d, %v; want %d, nil", at.Sub(base), n, err, want)
		}
	}
	lastUsed := func(t *testing.T, id string, want time.Time) {
		t.Helper()
		if got := grantGet(t, s, id).LastUsedAt; !got.Equal(want) || got.Location() != time.UTC && !got.IsZero() {
			t.Errorf("LastUsedAt = %v, want %v (UTC)", got, want)
		}
	}

	t.Run("debounce", func(t *testing.T) {
		g := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "debounce" })
		touch(t, []string{g.ID}, base, 1)
		lastUsed(t, g.ID, micro)
		touch(t, []string{g.ID}, base.Add(10*time.Second), 0)
		lastUsed(t, g.ID, micro)
		touch(t, []string{g.ID}, base.Add(window-time.Microsecond), 0)
		lastUsed(t, g.ID, micro)
		touch(t, []string{g.ID}, base.Add(window+time.Second), 1)
		lastUsed(t, g.ID, micro.Add(window+time.Second))
		// A clock behind the last write never moves it back.
		touch(t, []string{g.ID}, base, 0)
		lastUsed(t, g.ID, micro.Add(window+time.Second))
	})

	t.Run("only active", func(t *testing.T) {
		p := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "pending"; grantPending(g) })
		r := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "revoked"; grantRevoked(g) })
		touch(t, []string{p.ID, r.ID}, base, 0)
		lastUsed(t, p.ID, time.Time{})
		lastUsed(t, r.ID, time.Time{})
	})

	t.Run("several ids", func(t *testing.T) {
		g1 := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "g1" })
		g2 := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "g2"; g.LastUsedAt = micro.Add(-time.Hour) })
		recent := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "recent"; g.LastUsedAt = micro.Add(-time.Second) })
		p := newGrant(t, s, c.ID, func(g *store.Grant) { g.Subject = "pending2"; grantPending(g) })
		touch(t, []string{g1.ID, g2.ID, recent.ID, p.ID, newID(t), "bogus"}, base, 2)
		lastUsed(t, g1.ID, micro)
		lastUsed(t, g2.ID, micro)
		lastUsed(t, recent.ID, micro.Add(-time.Second))
		lastUsed(t, p.ID, time.Time{})
	})

	t.Run("empty", func(t *testing.T) {
		touch(t, nil, base, 0)
		touch(t, []string{}, base, 0)
	})
}

// testGrantIDCase checks that grant ids are UUIDs whatever their letter case:
// a grant created with an upper-case id is found, selected and revoked like
// any other, so a selection fed to the cascade never skips it.
func testGrantIDCase(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	lower := newID(t)
	upper := strings.ToUpper(lower)
	if upper == lower {
		t.Fatal("fixture: id has no letters")
	}
	g := newGrant(t, s, c.ID, func(g *store.Grant) { g.ID = upper; grantPending(g) })
	for _, id := range []string{upper, lower} {
		got, err := s.GetGrant(ctx(t), id)
		if err != nil || got.ID != lower {
			t.Errorf("GetGrant(%s) = %q, %v; want the canonical id %q", id, got.ID, err, lower)
		}
	}
	if ok, err := s.ActivateGrant(ctx(t), upper, base); !ok || err != nil {
		t.Errorf("ActivateGrant(upper-case id) = %v, %v; want true, nil", ok, err)
	}
	if n, err := s.TouchGrants(ctx(t), []string{upper}, base, time.Second); n != 1 || err != nil {
		t.Errorf("TouchGrants(upper-case id) = %d, %v; want 1, nil", n, err)
	}
	ids, err := s.SelectGrants(ctx(t), store.Selector{ClientID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if d := diff([]string{lower}, ids); d != "" {
		t.Errorf("SelectGrants (-want +got):\n%s", d)
	}
	revoked, err := s.RevokeGrants(ctx(t), ids, "user_revoked", base)
	if err != nil || len(revoked) != 1 || revoked[0].ID != lower {
		t.Errorf("RevokeGrants(selected ids) = %v, %v; want the grant revoked", revoked, err)
	}
	if st := grantGet(t, s, g.ID).Status; st != store.GrantRevoked {
		t.Errorf("status after revocation = %q, want revoked", st)
	}
}
