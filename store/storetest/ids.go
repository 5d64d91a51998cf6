package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("IDCaseEveryTable", testIDCaseEveryTable)
	register("MissingTimesRefused", testMissingTimesRefused)
}

// testIDCaseEveryTable checks that every table stores ids in canonical
// lower case, so an id given in upper case is found by its lower-case form
// (and the reverse) on every adapter, as PostgreSQL's uuid type does.
func testIDCaseEveryTable(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	upper := func(id string) string { return strings.ToUpper(id) }

	req := store.AuthRequest{ID: newID(t), GrantID: upper(g.ID), ClientID: c.ID, RedirectURI: "https://app.example/cb",
		CodeChallenge: "x", CodeChallengeMethod: "S256", CreatedAt: micro, ExpiresAt: micro.Add(time.Minute)}
	lowerReq := req.ID
	req.ID = upper(req.ID)
	if err := s.CreateAuthRequest(ctx(t), req); err != nil {
		t.Fatalf("CreateAuthRequest(upper-case ids): %v", err)
	}
	if got, err := s.GetAuthRequest(ctx(t), lowerReq); err != nil || got.ID != lowerReq || got.GrantID != g.ID {
		t.Errorf("GetAuthRequest(lower) = %q/%q, %v; want %q/%q", got.ID, got.GrantID, err, lowerReq, g.ID)
	}
	if ok, err := s.ConsumeAuthRequest(ctx(t), upper(lowerReq), micro); !ok || err != nil {
		t.Errorf("ConsumeAuthRequest(upper) = %v, %v; want true", ok, err)
	}

	code := store.AuthCode{ID: upper(newID(t)), Hash: hash("code"), GrantID: upper(g.ID), ClientID: c.ID,
		RedirectURI: "https://app.example/cb", CodeChallenge: "x", CodeChallengeMethod: "S256",
		CreatedAt: micro, ExpiresAt: micro.Add(time.Minute)}
	if err := s.CreateAuthCode(ctx(t), code); err != nil {
		t.Fatalf("CreateAuthCode(upper-case ids): %v", err)
	}
	if ok, err := s.RedeemAuthCode(ctx(t), strings.ToLower(code.ID), micro); !ok || err != nil {
		t.Errorf("RedeemAuthCode(lower) = %v, %v; want true", ok, err)
	}

	family := newID(t)
	rt := store.RefreshToken{ID: upper(newID(t)), Hash: hash("rt"), GrantID: upper(g.ID), FamilyID: upper(family),
		CreatedAt: micro}
	if err := s.CreateRefreshToken(ctx(t), rt); err != nil {
		t.Fatalf("CreateRefreshToken(upper-case ids): %v", err)
	}
	head, err := s.GetRefreshFamilyHead(ctx(t), family)
	if err != nil || head.ID != strings.ToLower(rt.ID) || head.GrantID != g.ID {
		t.Errorf("GetRefreshFamilyHead(lower) = %q/%q, %v; want %q/%q", head.ID, head.GrantID, err, strings.ToLower(rt.ID), g.ID)
	}
	if n, err := s.RevokeRefreshTokens(ctx(t), []string{g.ID}, "test", micro); n != 1 || err != nil {
		t.Errorf("RevokeRefreshTokens(grant) = %d, %v; want the upper-case-created token revoked", n, err)
	}

	ev := store.AuditEvent{ID: upper(newID(t)), GrantID: upper(g.ID), Type: "grant.created", OccurredAt: micro}
	if err := s.AppendAuditEvents(ctx(t), []store.AuditEvent{ev}); err != nil {
		t.Fatalf("AppendAuditEvents(upper-case ids): %v", err)
	}
	page, err := s.ListAuditEvents(ctx(t), store.AuditFilter{GrantID: g.ID}, store.Page{})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != strings.ToLower(ev.ID) {
		t.Errorf("ListAuditEvents(lower grant id) = %+v, %v; want the event with its lower-case id", page.Items, err)
	}
}

// testMissingTimesRefused checks that records without their required times
// are refused with ErrInvalidArgument before any statement, not with a raw
// NOT NULL error from the database.
func testMissingTimesRefused(t *testing.T, h Harness) {
	var n store.Counter
	s := h.Open(t, &n)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	for _, tc := range []struct {
		name string
		fn   func() error
	}{
		{"request without CreatedAt", func() error {
			return s.CreateAuthRequest(ctx(t), store.AuthRequest{ID: newID(t), GrantID: g.ID, ExpiresAt: micro})
		}},
		{"request without ExpiresAt", func() error {
			return s.CreateAuthRequest(ctx(t), store.AuthRequest{ID: newID(t), GrantID: g.ID, CreatedAt: micro})
		}},
		{"code without ExpiresAt", func() error {
			return s.CreateAuthCode(ctx(t), store.AuthCode{ID: newID(t), GrantID: g.ID, Hash: hash("c"), CreatedAt: micro})
		}},
		{"refresh token without CreatedAt", func() error {
			return s.CreateRefreshToken(ctx(t), store.RefreshToken{ID: newID(t), GrantID: g.ID, FamilyID: newID(t), Hash: hash("r")})
		}},
	} {
		before := n.Load()
		if err := tc.fn(); !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", tc.name, err)
		}
		if sent := n.Load() - before; sent != 0 {
			t.Errorf("%s: sent %d statements, want 0", tc.name, sent)
		}
	}
}
