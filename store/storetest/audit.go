package storetest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("AuditRoundTrip", testAuditRoundTrip)
	register("AuditDetails", testAuditDetails)
	register("AuditOneStatement", testAuditOneStatement)
	register("AuditInvalid", testAuditInvalid)
	register("AuditListing", testAuditListing)
	register("AuditListingErrors", testAuditListingErrors)
}

// auditFixture returns (without appending) an event of subject "alice".
func auditFixture(t *testing.T, grantID string, mut ...func(*store.AuditEvent)) store.AuditEvent {
	t.Helper()
	e := store.AuditEvent{
		ID:         newID(t),
		GrantID:    grantID,
		ClientID:   "client-1",
		Subject:    "alice",
		Type:       "grant.revoked",
		Reason:     "user_revoked",
		Actor:      "alice",
		OccurredAt: micro,
	}
	for _, m := range mut {
		m(&e)
	}
	return e
}

// listAllAudit pages through a listing with limit, failing t on error and
// on a page that breaks the limit or repeats an event.
func listAllAudit(t *testing.T, s store.Ops, f store.AuditFilter, limit int) (all []store.AuditEvent, pages []int) {
	t.Helper()
	seen := map[string]bool{}
	p := store.Page{Limit: limit}
	for {
		page, err := s.ListAuditEvents(ctx(t), f, p)
		if err != nil {
			t.Fatalf("ListAuditEvents(%+v, page %d): %v", f, len(pages)+1, err)
		}
		if len(page.Items) > limit {
			t.Fatalf("page %d has %d items, limit %d", len(pages)+1, len(page.Items), limit)
		}
		for _, e := range page.Items {
			if seen[e.ID] {
				t.Fatalf("event %s appears on two pages", e.ID)
			}
			seen[e.ID] = true
		}
		all = append(all, page.Items...)
		pages = append(pages, len(page.Items))
		if page.Next == "" {
			return all, pages
		}
		if len(pages) > 1000 {
			t.Fatal("listing does not end")
		}
		p.Cursor = page.Next
	}
}

// sortAudit orders events as a listing does: occurred_at DESC, id DESC.
func sortAudit(events []store.AuditEvent) {
	sort.Slice(events, func(i, j int) bool {
		a, b := events[i], events[j]
		if !a.OccurredAt.Equal(b.OccurredAt) {
			return a.OccurredAt.After(b.OccurredAt)
		}
		return a.ID > b.ID
	})
}

// auditAsStored is e as a store returns it, with Details removed: callers
// compare details semantically with sameJSON.
func auditAsStored(e store.AuditEvent) store.AuditEvent {
	e.OccurredAt = utc(e.OccurredAt)
	e.Details = nil
	return e
}

// sameJSON reports a difference between two JSON documents compared as
// values (whitespace and key order do not matter). No details (nil, empty
// or JSON null) must read back as nil.
func sameJSON(want, got json.RawMessage) string {
	if len(want) == 0 || len(got) == 0 || string(bytes.TrimSpace(want)) == "null" {
		if (len(want) == 0 || string(bytes.TrimSpace(want)) == "null") && got == nil {
			return ""
		}
		return fmt.Sprintf("details = %q, want %q", got, want)
	}
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		return "want: " + err.Error()
	}
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Sprintf("got %q: %v", got, err)
	}
	return diff(w, g)
}

func testAuditRoundTrip(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	grantID := newID(t) // audit events outlive grants: no foreign key
	events := []store.AuditEvent{
		auditFixture(t, grantID, func(e *store.AuditEvent) {
			e.OccurredAt = base
			e.Details = json.RawMessage(`{"count": 2, "scopes": ["read", "write"]}`)
		}),
		auditFixture(t, "", func(e *store.AuditEvent) {
			e.Type, e.Reason, e.Actor, e.ClientID = "client.deleted", "", "admin:bob", "client-2"
			e.OccurredAt = base.Add(-time.Second)
		}),
		auditFixture(t, grantID, func(e *store.AuditEvent) {
			e.Type = "grant.created"
			e.OccurredAt = base.Add(-time.Minute + 1)
		}),
	}
	if err := s.AppendAuditEvents(ctx(t), events); err != nil {
		t.Fatalf("AppendAuditEvents: %v", err)
	}
	page, err := s.ListAuditEvents(ctx(t), store.AuditFilter{Subject: "alice"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Next != "" {
		t.Errorf("Next = %q on the only page", page.Next)
	}
	if len(page.Items) != len(events) {
		t.Fatalf("listed %d events, want %d", len(page.Items), len(events))
	}
	var want, got []store.AuditEvent
	for i, e := range events {
		want = append(want, auditAsStored(e))
		if d := sameJSON(e.Details, page.Items[i].Details); d != "" {
			t.Errorf("event %d details: %s", i, d)
		}
		got = append(got, auditAsStored(page.Items[i]))
		checkUTC(t, "OccurredAt", page.Items[i].OccurredAt)
	}
	if d := diff(want, got); d != "" {
		t.Errorf("ListAuditEvents (-want +got):\n%s", d)
	}
	if page.Items[1].GrantID != "" {
		t.Errorf("GrantID = %q, want \"\"", page.Items[1].GrantID)
	}

	byGrant, err := s.ListAuditEvents(ctx(t), store.AuditFilter{GrantID: grantID}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, e := range byGrant.Items {
		gotIDs = append(gotIDs, e.ID)
	}
	if d := diff([]string{events[0].ID, events[2].ID}, gotIDs); d != "" {
		t.Errorf("listing by grant (-want +got ids):\n%s", d)
	}
	if err := s.AppendAuditEvents(ctx(t), nil); err != nil {
		t.Errorf("AppendAuditEvents(nil) = %v, want nil", err)
	}
}

func testAuditDetails(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	cases := []struct {
		name    string
		details json.RawMessage
	}{
		{"object", json.RawMessage(`{ "b" : [1, 2, 3],   "a": "x" }`)},
		{"nested", json.RawMessage(`{"n": 1.5, "nested": {"deep": [true, false, null, {"k": -7}]}}`)},
		{"empty object", json.RawMessage(`{}`)},
		{"array", json.RawMessage(`["a", 1, null]`)},
		{"string", json.RawMessage(`"text"`)},
		{"number", json.RawMessage(`42`)},
		{"unicode and escapes", json.RawMessage(`{"name": "José ✓ \u00e9", "esc": "a\"b\\c\n"}`)},
		{"nil", nil},
		{"empty", json.RawMessage{}},
		{"JSON null", json.RawMessage(` null `)},
	}
	events := make([]store.AuditEvent, len(cases))
	for i, tc := range cases {
		events[i] = auditFixture(t, "", func(e *store.AuditEvent) {
			e.Subject = "details"
			e.Details = tc.details
			e.OccurredAt = micro.Add(-time.Duration(i) * time.Second) // listing order = case order
		})
	}
	if err := s.AppendAuditEvents(ctx(t), events); err != nil {
		t.Fatalf("AppendAuditEvents: %v", err)
	}
	page, err := s.ListAuditEvents(ctx(t), store.AuditFilter{Subject: "details"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != len(cases) {
		t.Fatalf("listed %d events, want %d", len(page.Items), len(cases))
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := page.Items[i]
			if got.ID != events[i].ID {
				t.Fatalf("item %d is %s, want %s", i, got.ID, events[i].ID)
			}
			if d := sameJSON(tc.details, got.Details); d != "" {
				t.Errorf("details round trip: %s", d)
			}
		})
	}
}

func testAuditOneStatement(t *testing.T, h Harness) {
	var counter store.Counter
	s := h.Open(t, &counter)
	appendN := func(n int) int64 {
		t.Helper()
		events := make([]store.AuditEvent, n)
		for i := range events {
			events[i] = auditFixture(t, newID(t), func(e *store.AuditEvent) {
				e.Subject = "bulk"
				e.Details = json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))
				e.OccurredAt = micro.Add(time.Duration(i) * time.Millisecond)
			})
		}
		before := counter.Load()
		if err := s.AppendAuditEvents(ctx(t), events); err != nil {
			t.Fatalf("AppendAuditEvents(%d): %v", n, err)
		}
		return counter.Load() - before
	}
	one := appendN(1)
	many := appendN(500)
	if one < 1 || one > 3 {
		t.Errorf("appending 1 event took %d statements, want 1 (3 with BEGIN and COMMIT)", one)
	}
	if many != one {
		t.Errorf("appending 500 events took %d statements, appending 1 took %d: want the same", many, one)
	}
	all, _ := listAllAudit(t, s, store.AuditFilter{Subject: "bulk"}, store.MaxPageLimit)
	if len(all) != 501 {
		t.Errorf("listed %d events, want 501", len(all))
	}
}

func testAuditInvalid(t *testing.T, h Harness) {
	var counter store.Counter
	s := h.Open(t, &counter)
	valid := func(t *testing.T) store.AuditEvent { return auditFixture(t, newID(t)) }
	for _, tc := range []struct {
		name string
		bad  func(*store.AuditEvent)
	}{
		{"invalid JSON details", func(e *store.AuditEvent) { e.Details = json.RawMessage(`{"a":`) }},
		{"details not JSON", func(e *store.AuditEvent) { e.Details = json.RawMessage(`gk_rt_secret`) }},
		{"id not a UUID", func(e *store.AuditEvent) { e.ID = "event-1" }},
		{"empty id", func(e *store.AuditEvent) { e.ID = "" }},
		{"grant id not a UUID", func(e *store.AuditEvent) { e.GrantID = "grant-1" }},
		{"no type", func(e *store.AuditEvent) { e.Type = "" }},
		{"no time", func(e *store.AuditEvent) { e.OccurredAt = time.Time{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := valid(t)
			tc.bad(&bad)
			for _, batch := range [][]store.AuditEvent{
				{bad},
				{valid(t), valid(t), bad},
				{bad, valid(t)},
			} {
				before := counter.Load()
				if err := s.AppendAuditEvents(ctx(t), batch); !errors.Is(err, store.ErrInvalidArgument) {
					t.Errorf("AppendAuditEvents = %v, want ErrInvalidArgument", err)
				}
				if n := counter.Load() - before; n != 0 {
					t.Errorf("a refused append sent %d statements, want 0", n)
				}
			}
		})
	}
	page, err := s.ListAuditEvents(ctx(t), store.AuditFilter{Subject: "alice"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 {
		t.Errorf("%d events written by refused appends, want 0", len(page.Items))
	}
}

func testAuditListing(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	g1, g2 := newID(t), newID(t)
	var events, ofG1, ofAlice []store.AuditEvent
	add := func(grantID, subject string, at time.Time) {
		e := auditFixture(t, grantID, func(e *store.AuditEvent) { e.Subject, e.OccurredAt = subject, at })
		events = append(events, e)
		if grantID == g1 {
			ofG1 = append(ofG1, auditAsStored(e))
		}
		if subject == "alice" {
			ofAlice = append(ofAlice, auditAsStored(e))
		}
	}
	// 28 events of g1, 16 of them at one instant (a cascade writes many
	// events at once), 5 of g2 for alice, 4 of g2 for bob.
	for range 16 {
		add(g1, "alice", base)
	}
	for i := range 12 {
		add(g1, "alice", base.Add(time.Duration(i%4-2)*time.Second))
	}
	for i := range 5 {
		add(g2, "alice", base.Add(time.Duration(i)*time.Microsecond))
	}
	for range 4 {
		add(g2, "bob", base)
	}
	// Appended in a shuffled order, so the listing order cannot come from
	// insertion order.
	shuffled := append([]store.AuditEvent(nil), events...)
	for i := range shuffled {
		j := (i*7 + 3) % len(shuffled)
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	if err := s.AppendAuditEvents(ctx(t), shuffled); err != nil {
		t.Fatal(err)
	}
	sortAudit(ofG1)
	sortAudit(ofAlice)

	for _, tc := range []struct {
		name  string
		f     store.AuditFilter
		limit int
		want  []store.AuditEvent
		pages []int
	}{
		{"grant, limit 7", store.AuditFilter{GrantID: g1}, 7, ofG1, []int{7, 7, 7, 7}},
		{"grant, limit 5", store.AuditFilter{GrantID: g1}, 5, ofG1, []int{5, 5, 5, 5, 5, 3}},
		{"grant, limit 100", store.AuditFilter{GrantID: g1}, 100, ofG1, []int{28}},
		{"subject, limit 10", store.AuditFilter{Subject: "alice"}, 10, ofAlice, []int{10, 10, 10, 3}},
		{"subject, limit 1", store.AuditFilter{Subject: "alice"}, 1, ofAlice, nil},
		{"unknown grant", store.AuditFilter{GrantID: newID(t)}, 10, nil, []int{0}},
		{"grant not a UUID", store.AuditFilter{GrantID: "grant-1"}, 10, nil, []int{0}},
		{"unknown subject", store.AuditFilter{Subject: "carol"}, 10, nil, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all, pages := listAllAudit(t, s, tc.f, tc.limit)
			var got []store.AuditEvent
			for _, e := range all {
				got = append(got, auditAsStored(e))
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("concatenated pages (-want +got):\n%s", d)
			}
			if tc.pages != nil {
				if d := diff(tc.pages, pages); d != "" {
					t.Errorf("page sizes (-want +got):\n%s", d)
				}
			}
		})
	}
	t.Run("default limit", func(t *testing.T) {
		page, err := s.ListAuditEvents(ctx(t), store.AuditFilter{Subject: "alice"}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != store.DefaultPageLimit || page.Next == "" {
			t.Errorf("first page: %d items, Next %q; want %d and a cursor", len(page.Items), page.Next, store.DefaultPageLimit)
		}
	})
}

func testAuditListingErrors(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	g1, g2 := newID(t), newID(t)
	var events []store.AuditEvent
	for i := range 6 {
		for _, g := range []string{g1, g2} {
			events = append(events, auditFixture(t, g, func(e *store.AuditEvent) {
				e.OccurredAt = micro.Add(time.Duration(i) * time.Second)
			}))
		}
	}
	if err := s.AppendAuditEvents(ctx(t), events); err != nil {
		t.Fatal(err)
	}
	first := func(f store.AuditFilter) string {
		t.Helper()
		page, err := s.ListAuditEvents(ctx(t), f, store.Page{Limit: 2})
		if err != nil || page.Next == "" {
			t.Fatalf("ListAuditEvents(%+v) = %d items, Next %q, %v", f, len(page.Items), page.Next, err)
		}
		return page.Next
	}
	grantCursor := first(store.AuditFilter{GrantID: g1})
	subjectCursor := first(store.AuditFilter{Subject: "alice"})
	raw, err := base64.RawURLEncoding.DecodeString(grantCursor)
	if err != nil {
		t.Fatalf("cursor is not base64url: %v", err)
	}
	flipped := append([]byte(nil), raw...)
	flipped[3] ^= 0xff // inside the listing fingerprint
	otherScope, err := store.EncodeCursor("grants\x00alice\x00false", store.Cursor{Time: micro, ID: events[0].ID})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		f      store.AuditFilter
		cursor string
	}{
		{"garbage", store.AuditFilter{GrantID: g1}, "not a cursor!"},
		{"truncated", store.AuditFilter{GrantID: g1}, grantCursor[:len(grantCursor)-4]},
		{"extended", store.AuditFilter{GrantID: g1}, grantCursor + "AAAA"},
		{"forged fingerprint", store.AuditFilter{GrantID: g1}, base64.RawURLEncoding.EncodeToString(flipped)},
		{"wrong version", store.AuditFilter{GrantID: g1}, base64.RawURLEncoding.EncodeToString(append([]byte{2}, raw[1:]...))},
		{"session listing cursor", store.AuditFilter{GrantID: g1}, otherScope},
		{"grant cursor on subject listing", store.AuditFilter{Subject: "alice"}, grantCursor},
		{"grant cursor on another grant", store.AuditFilter{GrantID: g2}, grantCursor},
		{"subject cursor on grant listing", store.AuditFilter{GrantID: g1}, subjectCursor},
		{"subject cursor on another subject", store.AuditFilter{Subject: "bob"}, subjectCursor},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.ListAuditEvents(ctx(t), tc.f, store.Page{Limit: 2, Cursor: tc.cursor})
			if !errors.Is(err, store.ErrInvalidCursor) {
				t.Errorf("ListAuditEvents = %d items, %v; want ErrInvalidCursor", len(page.Items), err)
			}
		})
	}
	for _, tc := range []struct {
		name string
		f    store.AuditFilter
		p    store.Page
	}{
		{"both fields", store.AuditFilter{GrantID: g1, Subject: "alice"}, store.Page{}},
		{"neither field", store.AuditFilter{}, store.Page{}},
		{"negative limit", store.AuditFilter{Subject: "alice"}, store.Page{Limit: -1}},
		{"limit above max", store.AuditFilter{Subject: "alice"}, store.Page{Limit: store.MaxPageLimit + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.ListAuditEvents(ctx(t), tc.f, tc.p); !errors.Is(err, store.ErrInvalidArgument) {
				t.Errorf("ListAuditEvents = %v, want ErrInvalidArgument", err)
			}
		})
	}
}
