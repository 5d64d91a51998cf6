package storetest

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("GrantListJoin", testGrantListJoin)
	register("GrantListFilters", testGrantListFilters)
	register("GrantListLimits", testGrantListLimits)
	register("GrantListKeyset", testGrantListKeyset)
	register("GrantListInsertWhilePaging", testGrantListInsertWhilePaging)
	register("GrantListForgedCursor", testGrantListForgedCursor)
	register("GrantListCursorScope", testGrantListCursorScope)
	register("GrantListSubjectKind", testGrantListSubjectKind)
}

// grantListingOrder sorts gs as a session listing does: created_at DESC,
// id DESC.
func grantListingOrder(gs []store.Grant) []string {
	gs = slices.Clone(gs)
	slices.SortFunc(gs, func(a, b store.Grant) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

// grantListIDs returns the grant ids of a page, in order.
func grantListIDs(p store.GrantPage) []string {
	ids := make([]string, len(p.Items))
	for i, l := range p.Items {
		ids[i] = l.ID
	}
	return ids
}

// grantListAll pages through a listing with page size limit and returns the
// ids in order, failing on a duplicate, an empty non-final page or an
// endless listing.
func grantListAll(t *testing.T, s store.Ops, f store.GrantFilter, limit int) []string {
	t.Helper()
	var (
		ids    []string
		seen   = map[string]bool{}
		cursor string
	)
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("listing does not end")
		}
		p, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("ListActiveGrants(page %d): %v", pages, err)
		}
		if len(p.Items) > limit {
			t.Fatalf("page %d has %d items, limit %d", pages, len(p.Items), limit)
		}
		if p.Next != "" && len(p.Items) != limit {
			t.Errorf("page %d has %d items and a Next cursor; want a full page of %d", pages, len(p.Items), limit)
		}
		for _, id := range grantListIDs(p) {
			if seen[id] {
				t.Errorf("grant %s listed twice", id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		if p.Next == "" {
			return ids
		}
		cursor = p.Next
	}
}

// grantWithResource gives a fixture grant its own binding.
func grantWithResource(i int) func(*store.Grant) {
	return func(g *store.Grant) { g.Resource = fmt.Sprintf("https://mcp.example/r%d", i) }
}

func testGrantListJoin(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	static := newClient(t, s, func(c *store.Client) { c.Name = "Static App" })
	dyn := newClient(t, s, func(c *store.Client) { c.Name = "Totally Legit App"; c.Dynamic = true; c.SecretHash = nil })
	older := newGrant(t, s, static.ID, func(g *store.Grant) {
		g.CreatedAt = base.Add(-time.Hour)
		g.Scopes = []string{"read", "write"}
		g.LastUsedAt = base.Add(-time.Minute)
		g.ConfigVersion = 4
		g.Tenant = "org-1"
	})
	newer := newGrant(t, s, dyn.ID, func(g *store.Grant) { g.CreatedAt = base })

	p, err := s.ListActiveGrants(ctx(t), store.GrantFilter{Subject: "alice", SubjectKind: "user"}, store.Page{})
	if err != nil {
		t.Fatalf("ListActiveGrants: %v", err)
	}
	wantOlder := older
	wantOlder.CreatedAt, wantOlder.LastUsedAt = micro.Add(-time.Hour), micro.Add(-time.Minute)
	wantNewer := newer
	wantNewer.CreatedAt = micro
	want := store.GrantPage{Items: []store.GrantListing{
		{Grant: wantNewer, ClientName: "Totally Legit App", ClientDynamic: true},
		{Grant: wantOlder, ClientName: "Static App", ClientDynamic: false},
	}}
	if d := diff(want, p); d != "" {
		t.Errorf("ListActiveGrants (-want +got):\n%s", d)
	}
	for _, l := range p.Items {
		if l.CreatedAt.Location() != time.UTC {
			t.Errorf("CreatedAt location = %v, want UTC", l.CreatedAt.Location())
		}
	}

	// The join reads the client's current name.
	upd := static
	upd.Name = "Renamed App"
	if err := s.UpdateClient(ctx(t), upd); err != nil {
		t.Fatal(err)
	}
	p, err = s.ListActiveGrants(ctx(t), store.GrantFilter{Subject: "alice", SubjectKind: "user"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 2 || p.Items[1].ClientName != "Renamed App" {
		t.Errorf("after renaming the client, listing = %+v; want the second item named %q", p.Items, "Renamed App")
	}
}

func testGrantListFilters(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	var n int
	mk := func(subject, tenant string, mut ...func(*store.Grant)) store.Grant {
		n++
		return newGrant(t, s, c.ID, append([]func(*store.Grant){grantWithResource(n), func(g *store.Grant) {
			g.Subject, g.Tenant = subject, tenant
			g.CreatedAt = micro.Add(time.Duration(n) * time.Second)
		}}, mut...)...)
	}
	alicePersonal := mk("alice", "")
	aliceOrg1 := mk("alice", "org-1")
	aliceOrg2 := mk("alice", "org-2")
	bobOrg1 := mk("bob", "org-1")
	bobPersonal := mk("bob", "")
	// Never listed: not active.
	mk("alice", "", grantPending)
	mk("alice", "org-1", grantRevoked)
	mk("bob", "", grantPending)

	for _, tc := range []struct {
		name string
		f    store.GrantFilter
		want []store.Grant
	}{
		{"subject", store.GrantFilter{Subject: "alice", SubjectKind: "user"}, []store.Grant{alicePersonal, aliceOrg1, aliceOrg2}},
		{"other subject", store.GrantFilter{Subject: "bob", SubjectKind: "user"}, []store.Grant{bobOrg1, bobPersonal}},
		{"unknown subject", store.GrantFilter{Subject: "carol", SubjectKind: "user"}, nil},
		{"subject case", store.GrantFilter{Subject: "Alice", SubjectKind: "user"}, nil},
		{"subject+tenant", store.GrantFilter{Subject: "alice", SubjectKind: "user", Tenant: store.Tenant("org-1")}, []store.Grant{aliceOrg1}},
		{"subject+personal tenant", store.GrantFilter{Subject: "alice", SubjectKind: "user", Tenant: store.Tenant("")}, []store.Grant{alicePersonal}},
		{"subject+unknown tenant", store.GrantFilter{Subject: "alice", SubjectKind: "user", Tenant: store.Tenant("org-9")}, nil},
		{"all subjects", store.GrantFilter{AllSubjects: true}, []store.Grant{alicePersonal, aliceOrg1, aliceOrg2, bobOrg1, bobPersonal}},
		{"all subjects+tenant", store.GrantFilter{AllSubjects: true, Tenant: store.Tenant("org-1")}, []store.Grant{aliceOrg1, bobOrg1}},
		{"all subjects+personal tenant", store.GrantFilter{AllSubjects: true, Tenant: store.Tenant("")}, []store.Grant{alicePersonal, bobPersonal}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.ListActiveGrants(ctx(t), tc.f, store.Page{})
			if err != nil {
				t.Fatalf("ListActiveGrants: %v", err)
			}
			if d := diff(grantListingOrder(tc.want), grantListIDs(p)); d != "" {
				t.Errorf("ListActiveGrants(%+v) ids (-want +got):\n%s", tc.f, d)
			}
			for _, l := range p.Items {
				if l.Status != store.GrantActive {
					t.Errorf("listed grant %s has status %q", l.ID, l.Status)
				}
			}
			if p.Next != "" {
				t.Errorf("Next = %q on the only page", p.Next)
			}
		})
	}

	t.Run("no subject", func(t *testing.T) {
		for _, f := range []store.GrantFilter{{}, {Tenant: store.Tenant("org-1")}, {Tenant: store.Tenant("")}} {
			if p, err := s.ListActiveGrants(ctx(t), f, store.Page{}); !errors.Is(err, store.ErrInvalidArgument) {
				t.Errorf("ListActiveGrants(%+v) = %d items, %v; want ErrInvalidArgument", f, len(p.Items), err)
			}
		}
	})
}

func testGrantListLimits(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	var all []store.Grant
	for i := range store.MaxPageLimit + 5 {
		all = append(all, newGrant(t, s, c.ID, grantWithResource(i), func(g *store.Grant) {
			g.CreatedAt = micro.Add(time.Duration(i%7) * time.Minute)
		}))
	}
	order := grantListingOrder(all)
	f := store.GrantFilter{Subject: "alice", SubjectKind: "user"}
	for _, tc := range []struct {
		limit, want int
	}{
		{0, store.DefaultPageLimit},
		{1, 1},
		{store.MaxPageLimit, store.MaxPageLimit},
	} {
		t.Run(fmt.Sprint("limit ", tc.limit), func(t *testing.T) {
			p, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: tc.limit})
			if err != nil {
				t.Fatalf("ListActiveGrants: %v", err)
			}
			if d := diff(order[:tc.want], grantListIDs(p)); d != "" {
				t.Errorf("first page (-want +got):\n%s", d)
			}
			if p.Next == "" {
				t.Error("Next is empty although more grants follow")
			}
		})
	}
	for _, limit := range []int{store.MaxPageLimit + 1, -1} {
		if p, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: limit}); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("ListActiveGrants(limit %d) = %d items, %v; want ErrInvalidArgument", limit, len(p.Items), err)
		}
	}
}

func testGrantListKeyset(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	other := newClient(t, s, func(c *store.Client) { c.Name = "Other" })
	var (
		alice []store.Grant
		all   []store.Grant
		n     int
	)
	add := func(clientID, subject, tenant string, created time.Time, mut ...func(*store.Grant)) store.Grant {
		n++
		g := newGrant(t, s, clientID, append([]func(*store.Grant){grantWithResource(n), func(g *store.Grant) {
			g.Subject, g.Tenant, g.CreatedAt = subject, tenant, created
		}}, mut...)...)
		if g.Status == store.GrantActive {
			all = append(all, g)
			if subject == "alice" {
				alice = append(alice, g)
			}
		}
		return g
	}
	// 57 grants sharing one created_at (base, with nanoseconds: the store
	// truncates it, and the cursor must carry the stored value), spread
	// over two clients and two tenants.
	for i := range 57 {
		client, tenant := c.ID, ""
		if i%3 == 0 {
			client = other.ID
		}
		if i%4 == 0 {
			tenant = "org-1"
		}
		add(client, "alice", tenant, base)
	}
	// Others around it, some sharing other timestamps.
	for i, d := range []time.Duration{-time.Hour, -time.Hour, -time.Microsecond, time.Microsecond, time.Second, time.Second, time.Hour, -24 * time.Hour} {
		tenant := ""
		if i%2 == 0 {
			tenant = "org-1"
		}
		add(c.ID, "alice", tenant, base.Add(d))
	}
	// Interleaved rows the listing must skip.
	for i := range 6 {
		add(c.ID, "bob", "", base.Add(time.Duration(i-3)*time.Second))
		add(c.ID, "alice", "", base, grantPending)
		add(c.ID, "alice", "", base, grantRevoked)
	}

	for _, tc := range []struct {
		name string
		f    store.GrantFilter
		want []store.Grant
	}{
		{"subject", store.GrantFilter{Subject: "alice", SubjectKind: "user"}, alice},
		{"subject+tenant", store.GrantFilter{Subject: "alice", SubjectKind: "user", Tenant: store.Tenant("org-1")},
			slices.DeleteFunc(slices.Clone(alice), func(g store.Grant) bool { return g.Tenant != "org-1" })},
		{"subject+personal tenant", store.GrantFilter{Subject: "alice", SubjectKind: "user", Tenant: store.Tenant("")},
			slices.DeleteFunc(slices.Clone(alice), func(g store.Grant) bool { return g.Tenant != "" })},
		{"all subjects", store.GrantFilter{AllSubjects: true}, all},
	} {
		want := grantListingOrder(tc.want)
		for _, limit := range []int{1, 7, 10, len(want) - 1, len(want), store.MaxPageLimit} {
			t.Run(fmt.Sprintf("%s/limit %d", tc.name, limit), func(t *testing.T) {
				got := grantListAll(t, s, tc.f, limit)
				if d := diff(want, got); d != "" {
					t.Errorf("pages concatenated (-want +got):\n%s", d)
				}
			})
		}
	}
	if len(alice) != 65 {
		t.Fatalf("fixture: %d active grants of alice, want 65", len(alice))
	}

	// Page size 10 over 65 rows: 6 full pages and one of 5; a listing of
	// exactly a multiple of the page size ends without an empty page.
	t.Run("page shapes", func(t *testing.T) {
		f := store.GrantFilter{Subject: "alice", SubjectKind: "user"}
		var sizes []int
		var cursor string
		for {
			p, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: 10, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(p.Items))
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		if d := diff([]int{10, 10, 10, 10, 10, 10, 5}, sizes); d != "" {
			t.Errorf("page sizes (-want +got):\n%s", d)
		}
		sizes, cursor = nil, ""
		for {
			p, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: 13, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, len(p.Items))
			if p.Next == "" {
				break
			}
			cursor = p.Next
		}
		if d := diff([]int{13, 13, 13, 13, 13}, sizes); d != "" {
			t.Errorf("page sizes (-want +got):\n%s", d)
		}
	})
}

func testGrantListInsertWhilePaging(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	var before []store.Grant
	for i := range 35 {
		created := base
		if i%5 == 0 {
			created = base.Add(-time.Duration(i) * time.Minute)
		}
		before = append(before, newGrant(t, s, c.ID, grantWithResource(i), func(g *store.Grant) { g.CreatedAt = created }))
	}
	want := grantListingOrder(before)
	f := store.GrantFilter{Subject: "alice", SubjectKind: "user"}

	p, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := grantListIDs(p)
	// New grants arrive while the user pages: newer than every listed row,
	// and some with the same created_at as the page boundary but a larger
	// id (UUIDv7 ids grow), which sort before the cursor too.
	for i := range 5 {
		newGrant(t, s, c.ID, grantWithResource(100+i), func(g *store.Grant) { g.CreatedAt = base.Add(time.Hour) })
		newGrant(t, s, c.ID, grantWithResource(200+i), func(g *store.Grant) { g.CreatedAt = base })
	}
	for cursor := p.Next; cursor != ""; cursor = p.Next {
		if p, err = s.ListActiveGrants(ctx(t), f, store.Page{Limit: 10, Cursor: cursor}); err != nil {
			t.Fatal(err)
		}
		got = append(got, grantListIDs(p)...)
	}
	if d := diff(want, got); d != "" {
		t.Errorf("pages across concurrent inserts (-want +got):\n%s", d)
	}
}

func testGrantListForgedCursor(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	for i := range 5 {
		newGrant(t, s, c.ID, grantWithResource(i))
	}
	f := store.GrantFilter{Subject: "alice", SubjectKind: "user"}
	p, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p.Next == "" {
		t.Fatal("no Next cursor on a partial listing")
	}
	raw, err := base64.RawURLEncoding.DecodeString(p.Next)
	if err != nil {
		t.Fatalf("cursor %q is not unpadded base64url: %v", p.Next, err)
	}
	random := make([]byte, len(raw))
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	forged := map[string]string{
		"random":             base64.RawURLEncoding.EncodeToString(random),
		"random short":       base64.RawURLEncoding.EncodeToString(random[:8]),
		"not base64":         "!!not*base64!!",
		"padded std base64":  base64.StdEncoding.EncodeToString(raw),
		"truncated text":     p.Next[:len(p.Next)-2],
		"truncated bytes":    base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]),
		"extended":           base64.RawURLEncoding.EncodeToString(append(slices.Clone(raw), 0)),
		"sql":                "' OR 1=1 --",
		"whitespace wrapped": " " + p.Next + " ",
	}
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			b := slices.Clone(raw)
			b[i] ^= bit
			forged[fmt.Sprintf("byte %d bit %#x flipped", i, bit)] = base64.RawURLEncoding.EncodeToString(b)
		}
	}
	for name, cursor := range forged {
		t.Run(name, func(t *testing.T) {
			got, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: 2, Cursor: cursor})
			if !errors.Is(err, store.ErrInvalidCursor) {
				t.Errorf("ListActiveGrants(cursor %q) = %v, %v; want ErrInvalidCursor", cursor, grantListIDs(got), err)
			}
		})
	}

	// The genuine cursor still works.
	if _, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: 2, Cursor: p.Next}); err != nil {
		t.Errorf("ListActiveGrants(genuine cursor) = %v", err)
	}
}

func testGrantListCursorScope(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	for i := range 4 {
		for _, subject := range []string{"alice", "bob"} {
			for _, tenant := range []string{"", "org-1"} {
				newGrant(t, s, c.ID, grantWithResource(i), func(g *store.Grant) { g.Subject, g.Tenant = subject, tenant })
			}
		}
	}
	filters := map[string]store.GrantFilter{
		"alice":              {Subject: "alice", SubjectKind: "user"},
		"bob":                {Subject: "bob", SubjectKind: "user"},
		"alice personal":     {Subject: "alice", SubjectKind: "user", Tenant: store.Tenant("")},
		"alice org-1":        {Subject: "alice", SubjectKind: "user", Tenant: store.Tenant("org-1")},
		"bob org-1":          {Subject: "bob", SubjectKind: "user", Tenant: store.Tenant("org-1")},
		"all subjects":       {AllSubjects: true},
		"all subjects org-1": {AllSubjects: true, Tenant: store.Tenant("org-1")},
	}
	cursors := map[string]string{}
	for name, f := range filters {
		p, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: 1})
		if err != nil {
			t.Fatalf("ListActiveGrants(%s): %v", name, err)
		}
		if p.Next == "" {
			t.Fatalf("ListActiveGrants(%s): no Next cursor", name)
		}
		cursors[name] = p.Next
	}
	for from, cursor := range cursors {
		for to, f := range filters {
			t.Run(from+" → "+to, func(t *testing.T) {
				p, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: 1, Cursor: cursor})
				if from == to {
					if err != nil || len(p.Items) != 1 {
						t.Errorf("own cursor: %d items, %v; want 1, nil", len(p.Items), err)
					}
					return
				}
				if !errors.Is(err, store.ErrInvalidCursor) {
					t.Errorf("cursor of %q presented to %q = %v, %v; want ErrInvalidCursor", from, to, grantListIDs(p), err)
				}
			})
		}
	}
}

// testGrantListSubjectKind checks that a subject's listing shows only the
// grants of its kind: user 42 does not list api_key 42's grants (a host's
// user ids and API-key ids may collide), and an empty kind is a kind of
// its own, not a wildcard.
func testGrantListSubjectKind(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	var n int
	mk := func(kind, tenant string) store.Grant {
		n++
		return newGrant(t, s, c.ID, grantWithResource(n), func(g *store.Grant) {
			g.Subject, g.SubjectKind, g.Tenant = "42", kind, tenant
			g.CreatedAt = micro.Add(time.Duration(n) * time.Second)
		})
	}
	user1, user2, userOrg := mk("user", ""), mk("user", ""), mk("user", "org-1")
	key1, keyOrg := mk("api_key", ""), mk("api_key", "org-1")
	none := mk("", "")
	revoked := newGrant(t, s, c.ID, grantWithResource(100), func(g *store.Grant) {
		g.Subject, g.SubjectKind = "42", "user"
	})
	if _, err := s.RevokeGrants(ctx(t), []string{revoked.ID}, "test", micro); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		f    store.GrantFilter
		want []store.Grant
	}{
		{"user", store.GrantFilter{Subject: "42", SubjectKind: "user"}, []store.Grant{user1, user2, userOrg}},
		{"api key", store.GrantFilter{Subject: "42", SubjectKind: "api_key"}, []store.Grant{key1, keyOrg}},
		{"empty kind is not a wildcard", store.GrantFilter{Subject: "42"}, []store.Grant{none}},
		{"kind case", store.GrantFilter{Subject: "42", SubjectKind: "User"}, nil},
		{"unknown kind", store.GrantFilter{Subject: "42", SubjectKind: "service"}, nil},
		{"user+tenant", store.GrantFilter{Subject: "42", SubjectKind: "user", Tenant: store.Tenant("org-1")}, []store.Grant{userOrg}},
		{"api key+tenant", store.GrantFilter{Subject: "42", SubjectKind: "api_key", Tenant: store.Tenant("org-1")}, []store.Grant{keyOrg}},
		{"api key+personal tenant", store.GrantFilter{Subject: "42", SubjectKind: "api_key", Tenant: store.Tenant("")}, []store.Grant{key1}},
		{"all subjects ignore the kind", store.GrantFilter{AllSubjects: true, SubjectKind: "user"},
			[]store.Grant{user1, user2, userOrg, key1, keyOrg, none}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := grantListingOrder(tc.want)
			for _, limit := range []int{1, 2, store.DefaultPageLimit} {
				if d := diff(want, grantListAll(t, s, tc.f, limit)); d != "" {
					t.Errorf("ListActiveGrants(%+v, limit %d) ids (-want +got):\n%s", tc.f, limit, d)
				}
			}
		})
	}

	// A cursor of the user's listing is refused by the API key's.
	p, err := s.ListActiveGrants(ctx(t), store.GrantFilter{Subject: "42", SubjectKind: "user"}, store.Page{Limit: 1})
	if err != nil || p.Next == "" {
		t.Fatalf("ListActiveGrants(user, limit 1) = %v, Next %q; want a Next cursor", err, p.Next)
	}
	for _, kind := range []string{"api_key", ""} {
		f := store.GrantFilter{Subject: "42", SubjectKind: kind}
		if got, err := s.ListActiveGrants(ctx(t), f, store.Page{Limit: 1, Cursor: p.Next}); !errors.Is(err, store.ErrInvalidCursor) {
			t.Errorf("user cursor presented to kind %q = %v, %v; want ErrInvalidCursor", kind, grantListIDs(got), err)
		}
	}
}
