package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("RefreshRoundTrip", testRefreshRoundTrip)
	register("RefreshConflict", testRefreshConflict)
	register("RefreshRotate", testRefreshRotate)
	register("RefreshRotateRefused", testRefreshRotateRefused)
	register("RefreshRotateRace", testRefreshRotateRace)
	register("RefreshRevokeFamily", testRefreshRevokeFamily)
	register("RefreshRevokeByGrant", testRefreshRevokeByGrant)
	register("RefreshHelpers", testRefreshHelpers)
}

// childToken returns (without inserting) the token that rotates parent,
// created at at.
func childToken(t *testing.T, parent store.RefreshToken, at time.Time) store.RefreshToken {
	t.Helper()
	id := newID(t)
	return store.RefreshToken{
		ID: id, Hash: hash("child-" + id), GrantID: parent.GrantID, FamilyID: parent.FamilyID, ParentID: parent.ID,
		CreatedAt: at, ExpiresAt: at.Add(time.Hour), FamilyExpiresAt: parent.FamilyExpiresAt,
	}
}

// refreshAsStored is rt as a store returns it.
func refreshAsStored(rt store.RefreshToken) store.RefreshToken {
	rt.CreatedAt, rt.ExpiresAt = utc(rt.CreatedAt), utc(rt.ExpiresAt)
	rt.FamilyExpiresAt, rt.RevokedAt = utc(rt.FamilyExpiresAt), utc(rt.RevokedAt)
	rt.ReuseReportedAt = utc(rt.ReuseReportedAt)
	return rt
}

// getRefresh reads a token by hash, failing t on any error.
func getRefresh(t *testing.T, s store.Ops, h []byte) store.RefreshToken {
	t.Helper()
	got, err := s.GetRefreshToken(ctx(t), h)
	if err != nil {
		t.Fatalf("GetRefreshToken: %v", err)
	}
	return got
}

func testRefreshRoundTrip(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)

	t.Run("active", func(t *testing.T) {
		family, parent := newID(t), newID(t)
		id := newID(t)
		rt := store.RefreshToken{
			ID: id, Hash: hash(id), GrantID: g.ID, FamilyID: family, ParentID: parent,
			CreatedAt: base, ExpiresAt: base.Add(time.Hour + 7*time.Nanosecond), FamilyExpiresAt: base.Add(24 * time.Hour),
		}
		if err := s.CreateRefreshToken(ctx(t), rt); err != nil {
			t.Fatal(err)
		}
		want := refreshAsStored(rt)
		for name, get := range map[string]func() (store.RefreshToken, error){
			"GetRefreshToken":      func() (store.RefreshToken, error) { return s.GetRefreshToken(ctx(t), rt.Hash) },
			"GetRefreshFamilyHead": func() (store.RefreshToken, error) { return s.GetRefreshFamilyHead(ctx(t), family) },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if d := diff(want, got); d != "" {
				t.Errorf("%s (-want +got):\n%s", name, d)
			}
			checkUTC(t, name, got.CreatedAt, got.ExpiresAt, got.FamilyExpiresAt)
		}
	})
	t.Run("no expiry no parent", func(t *testing.T) {
		id := newID(t)
		rt := store.RefreshToken{ID: id, Hash: hash(id), GrantID: g.ID, FamilyID: newID(t), CreatedAt: base}
		if err := s.CreateRefreshToken(ctx(t), rt); err != nil {
			t.Fatal(err)
		}
		got := getRefresh(t, s, rt.Hash)
		if d := diff(refreshAsStored(rt), got); d != "" {
			t.Errorf("GetRefreshToken (-want +got):\n%s", d)
		}
		if got.ParentID != "" || !got.ExpiresAt.IsZero() || !got.FamilyExpiresAt.IsZero() {
			t.Errorf("ParentID %q, ExpiresAt %v, FamilyExpiresAt %v: want empty and zero", got.ParentID, got.ExpiresAt, got.FamilyExpiresAt)
		}
	})
	t.Run("revoked visible only through GetRefreshToken", func(t *testing.T) {
		family := newID(t)
		id := newID(t)
		rt := store.RefreshToken{ID: id, Hash: hash(id), GrantID: g.ID, FamilyID: family,
			CreatedAt: base, ExpiresAt: base.Add(time.Hour), RevokedAt: base.Add(time.Minute), RevokeReason: "rotated",
			ReuseReportedAt: base.Add(2 * time.Minute)}
		if err := s.CreateRefreshToken(ctx(t), rt); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetRefreshFamilyHead(ctx(t), family); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRefreshFamilyHead(only revoked) = %v, want ErrNotFound", err)
		}
		got := getRefresh(t, s, rt.Hash)
		if d := diff(refreshAsStored(rt), got); d != "" {
			t.Errorf("GetRefreshToken(revoked) (-want +got):\n%s", d)
		}
		checkUTC(t, "RevokedAt", got.RevokedAt, got.ReuseReportedAt)
		if got.Active() {
			t.Error("revoked token reports Active")
		}
	})
	t.Run("unknown", func(t *testing.T) {
		if _, err := s.GetRefreshToken(ctx(t), hash("unknown")); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRefreshToken(unknown) = %v, want ErrNotFound", err)
		}
		for _, f := range []string{newID(t), "not-a-uuid"} {
			if _, err := s.GetRefreshFamilyHead(ctx(t), f); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetRefreshFamilyHead(%q) = %v, want ErrNotFound", f, err)
			}
		}
	})
}

func testRefreshConflict(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	head := newRefresh(t, s, g.ID, newID(t), "")

	for _, tc := range []struct {
		name string
		rt   store.RefreshToken
	}{
		{"same hash, other family", store.RefreshToken{ID: newID(t), Hash: head.Hash, FamilyID: newID(t)}},
		{"same hash, revoked", store.RefreshToken{ID: newID(t), Hash: head.Hash, FamilyID: newID(t), RevokedAt: micro}},
		{"same id", store.RefreshToken{ID: head.ID, Hash: hash("fresh"), FamilyID: newID(t)}},
		{"second active token in the family", store.RefreshToken{ID: newID(t), Hash: hash("second head"), FamilyID: head.FamilyID, ParentID: head.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := tc.rt
			rt.GrantID, rt.CreatedAt = g.ID, micro
			if err := s.CreateRefreshToken(ctx(t), rt); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("CreateRefreshToken = %v, want ErrConflict", err)
			}
			got, err := s.GetRefreshToken(ctx(t), rt.Hash)
			switch {
			case string(rt.Hash) == string(head.Hash):
				if err != nil || got.ID != head.ID {
					t.Errorf("GetRefreshToken(shared hash) = %s, %v; want the original %s", got.ID, err, head.ID)
				}
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("GetRefreshToken(refused token) = %v, want ErrNotFound", err)
			}
		})
	}
	got, err := s.GetRefreshFamilyHead(ctx(t), head.FamilyID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(head, got); d != "" {
		t.Errorf("family head after refused inserts (-want +got):\n%s", d)
	}

	// A revoked token may join a family beside its active head.
	id := newID(t)
	old := store.RefreshToken{ID: id, Hash: hash(id), GrantID: g.ID, FamilyID: head.FamilyID, CreatedAt: micro,
		RevokedAt: micro, RevokeReason: "rotated"}
	if err := s.CreateRefreshToken(ctx(t), old); err != nil {
		t.Errorf("CreateRefreshToken(revoked, same family) = %v, want nil", err)
	}
}

func testRefreshRotate(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	first := newRefresh(t, s, g.ID, newID(t), "")

	prev := first
	var chain []store.RefreshToken
	for i := range 3 {
		next := childToken(t, prev, base.Add(time.Duration(i+1)*time.Minute))
		ok, err := s.RotateRefreshToken(ctx(t), prev.ID, "rotated", next)
		if err != nil || !ok {
			t.Fatalf("RotateRefreshToken #%d = %v, %v; want true, nil", i+1, ok, err)
		}
		wantPrev := prev
		wantPrev.RevokedAt, wantPrev.RevokeReason = utc(next.CreatedAt), "rotated"
		gotPrev := getRefresh(t, s, prev.Hash)
		if d := diff(wantPrev, gotPrev); d != "" {
			t.Errorf("rotated token #%d (-want +got):\n%s", i+1, d)
		}
		checkUTC(t, "rotated RevokedAt", gotPrev.RevokedAt)
		if gotPrev.Active() {
			t.Errorf("rotated token #%d is still active", i+1)
		}
		wantNext := refreshAsStored(next)
		gotNext := getRefresh(t, s, next.Hash)
		if !gotNext.Active() {
			t.Errorf("child #%d is not active", i+1)
		}
		if d := diff(wantNext, gotNext); d != "" {
			t.Errorf("child #%d (-want +got):\n%s", i+1, d)
		}
		if gotNext.ParentID != prev.ID {
			t.Errorf("child ParentID = %q, want %q", gotNext.ParentID, prev.ID)
		}
		head, err := s.GetRefreshFamilyHead(ctx(t), first.FamilyID)
		if err != nil {
			t.Fatalf("GetRefreshFamilyHead: %v", err)
		}
		if d := diff(wantNext, head); d != "" {
			t.Errorf("family head after rotation #%d (-want +got):\n%s", i+1, d)
		}
		chain = append(chain, wantPrev)
		prev = wantNext
	}
	// Every token of the chain is still readable, and only the last is active.
	for i, rt := range chain {
		if got := getRefresh(t, s, rt.Hash); got.Active() {
			t.Errorf("token #%d of the chain is still active", i)
		}
	}
}

func testRefreshRotateRefused(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)

	t.Run("already rotated", func(t *testing.T) {
		old := newRefresh(t, s, g.ID, newID(t), "")
		winner := childToken(t, old, micro.Add(time.Minute))
		if ok, err := s.RotateRefreshToken(ctx(t), old.ID, "rotated", winner); err != nil || !ok {
			t.Fatalf("first RotateRefreshToken = %v, %v; want true, nil", ok, err)
		}
		late := childToken(t, old, micro.Add(2*time.Minute))
		if ok, err := s.RotateRefreshToken(ctx(t), old.ID, "rotated", late); err != nil || ok {
			t.Fatalf("second RotateRefreshToken = %v, %v; want false, nil", ok, err)
		}
		if _, err := s.GetRefreshToken(ctx(t), late.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRefreshToken(losing child) = %v, want ErrNotFound", err)
		}
		got := getRefresh(t, s, old.Hash)
		if !got.RevokedAt.Equal(utc(winner.CreatedAt)) {
			t.Errorf("old RevokedAt = %v, want the first rotation's %v", got.RevokedAt, utc(winner.CreatedAt))
		}
		head, err := s.GetRefreshFamilyHead(ctx(t), old.FamilyID)
		if err != nil || head.ID != winner.ID {
			t.Errorf("family head = %s, %v; want %s", head.ID, err, winner.ID)
		}
	})
	t.Run("family revoked", func(t *testing.T) {
		old := newRefresh(t, s, g.ID, newID(t), "")
		if n, err := s.RevokeRefreshFamily(ctx(t), old.FamilyID, "reused", micro); err != nil || n != 1 {
			t.Fatalf("RevokeRefreshFamily = %d, %v; want 1, nil", n, err)
		}
		next := childToken(t, old, micro.Add(time.Minute))
		if ok, err := s.RotateRefreshToken(ctx(t), old.ID, "rotated", next); err != nil || ok {
			t.Fatalf("RotateRefreshToken(revoked) = %v, %v; want false, nil", ok, err)
		}
		if _, err := s.GetRefreshToken(ctx(t), next.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRefreshToken(child of revoked) = %v, want ErrNotFound", err)
		}
		if got := getRefresh(t, s, old.Hash); got.RevokeReason != "reused" {
			t.Errorf("RevokeReason = %q, want the family revocation's %q", got.RevokeReason, "reused")
		}
	})
	t.Run("other family", func(t *testing.T) {
		old := newRefresh(t, s, g.ID, newID(t), "")
		stranger := childToken(t, store.RefreshToken{ID: old.ID, GrantID: g.ID, FamilyID: newID(t)}, micro)
		if ok, err := s.RotateRefreshToken(ctx(t), old.ID, "rotated", stranger); err != nil || ok {
			t.Fatalf("RotateRefreshToken(next of another family) = %v, %v; want false, nil", ok, err)
		}
		if _, err := s.GetRefreshToken(ctx(t), stranger.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRefreshToken(child of another family) = %v, want ErrNotFound", err)
		}
		if got := getRefresh(t, s, old.Hash); !got.RevokedAt.IsZero() {
			t.Errorf("old token revoked at %v by a rotation into another family", got.RevokedAt)
		}
	})
	for _, oldID := range []string{newID(t), "not-a-uuid"} {
		t.Run("unknown "+oldID, func(t *testing.T) {
			parent := store.RefreshToken{ID: newID(t), GrantID: g.ID, FamilyID: newID(t)}
			next := childToken(t, parent, micro)
			if ok, err := s.RotateRefreshToken(ctx(t), oldID, "rotated", next); err != nil || ok {
				t.Fatalf("RotateRefreshToken(unknown) = %v, %v; want false, nil", ok, err)
			}
			if _, err := s.GetRefreshToken(ctx(t), next.Hash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("GetRefreshToken(child of unknown) = %v, want ErrNotFound", err)
			}
		})
	}
	t.Run("invalid child", func(t *testing.T) {
		old := newRefresh(t, s, g.ID, newID(t), "")
		next := childToken(t, old, micro.Add(time.Minute))
		next.Hash = nil
		if _, err := s.RotateRefreshToken(ctx(t), old.ID, "rotated", next); !errors.Is(err, store.ErrInvalidArgument) {
			t.Fatalf("RotateRefreshToken(no hash) = %v, want ErrInvalidArgument", err)
		}
		if got := getRefresh(t, s, old.Hash); !got.Active() {
			t.Error("old token revoked by a refused rotation")
		}
	})
	t.Run("child hash conflict rolls back", func(t *testing.T) {
		other := newRefresh(t, s, g.ID, newID(t), "")
		old := newRefresh(t, s, g.ID, newID(t), "")
		next := childToken(t, old, micro.Add(time.Minute))
		next.Hash = other.Hash
		if _, err := s.RotateRefreshToken(ctx(t), old.ID, "rotated", next); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("RotateRefreshToken(duplicate child hash) = %v, want ErrConflict", err)
		}
		got := getRefresh(t, s, old.Hash)
		if d := diff(old, got); d != "" {
			t.Errorf("old token changed by a failed rotation (-want +got):\n%s", d)
		}
		head, err := s.GetRefreshFamilyHead(ctx(t), old.FamilyID)
		if err != nil || head.ID != old.ID {
			t.Errorf("family head = %s, %v; want %s", head.ID, err, old.ID)
		}
	})
}

func testRefreshRotateRace(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	old := newRefresh(t, s, g.ID, newID(t), "")
	children := make([]store.RefreshToken, Contenders)
	for i := range children {
		children[i] = childToken(t, old, micro.Add(time.Duration(i+1)*time.Second))
	}
	winner := make(chan int, Contenders)
	wins := race(t, Contenders, func(i int) (bool, error) {
		ok, err := s.RotateRefreshToken(ctx(t), old.ID, "rotated", children[i])
		if ok {
			winner <- i
		}
		return ok, err
	})
	if wins != 1 {
		t.Fatalf("%d of %d concurrent rotations won, want exactly 1", wins, Contenders)
	}
	w := <-winner

	active := 0
	for _, rt := range append([]store.RefreshToken{old}, children...) {
		got, err := s.GetRefreshToken(ctx(t), rt.Hash)
		if err == nil && got.Active() {
			active++
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("GetRefreshToken: %v", err)
		}
	}
	if active != 1 {
		t.Errorf("%d active tokens in the family after the race, want 1", active)
	}
	for i, child := range children {
		got, err := s.GetRefreshToken(ctx(t), child.Hash)
		switch {
		case i == w && err != nil:
			t.Errorf("winner's child: %v", err)
		case i == w:
			if d := diff(refreshAsStored(child), got); d != "" {
				t.Errorf("winner's child (-want +got):\n%s", d)
			}
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("loser %d's child: GetRefreshToken = %v, want ErrNotFound", i, err)
		}
	}
	head, err := s.GetRefreshFamilyHead(ctx(t), old.FamilyID)
	if err != nil || head.ID != children[w].ID {
		t.Errorf("family head = %s, %v; want the winner's child %s", head.ID, err, children[w].ID)
	}
	if got := getRefresh(t, s, old.Hash); !got.RevokedAt.Equal(utc(children[w].CreatedAt)) || got.RevokeReason != "rotated" {
		t.Errorf("old token revoked at %v (%q), want %v (%q)", got.RevokedAt, got.RevokeReason, utc(children[w].CreatedAt), "rotated")
	}
}

func testRefreshRevokeFamily(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	first := newRefresh(t, s, g.ID, newID(t), "")
	rotatedAt := micro.Add(time.Minute)
	head := childToken(t, first, rotatedAt)
	if ok, err := s.RotateRefreshToken(ctx(t), first.ID, "rotated", head); err != nil || !ok {
		t.Fatalf("RotateRefreshToken = %v, %v", ok, err)
	}
	other := newRefresh(t, s, g.ID, newID(t), "")

	for _, f := range []string{newID(t), "not-a-uuid", ""} {
		if n, err := s.RevokeRefreshFamily(ctx(t), f, "reused", base); err != nil || n != 0 {
			t.Errorf("RevokeRefreshFamily(%q) = %d, %v; want 0, nil", f, n, err)
		}
	}
	at := base.Add(time.Hour)
	if n, err := s.RevokeRefreshFamily(ctx(t), first.FamilyID, "reused", at); err != nil || n != 1 {
		t.Fatalf("RevokeRefreshFamily = %d, %v; want 1, nil", n, err)
	}
	wantFirst := first
	wantFirst.RevokedAt, wantFirst.RevokeReason = rotatedAt, "rotated"
	wantHead := refreshAsStored(head)
	wantHead.RevokedAt, wantHead.RevokeReason = utc(at), "reused"
	for _, tc := range []struct {
		name string
		want store.RefreshToken
	}{
		{"rotated keeps its reason", wantFirst},
		{"head revoked", wantHead},
		{"other family untouched", other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := diff(tc.want, getRefresh(t, s, tc.want.Hash)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if _, err := s.GetRefreshFamilyHead(ctx(t), first.FamilyID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRefreshFamilyHead(revoked family) = %v, want ErrNotFound", err)
	}
	if n, err := s.RevokeRefreshFamily(ctx(t), first.FamilyID, "again", at.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("second RevokeRefreshFamily = %d, %v; want 0, nil", n, err)
	}
}

func testRefreshRevokeByGrant(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g1 := newGrant(t, s, c.ID, pendingGrant)
	g2 := newGrant(t, s, c.ID, pendingGrant)
	g3 := newGrant(t, s, c.ID, pendingGrant)
	earlier := micro.Add(-time.Hour)
	a1 := newRefresh(t, s, g1.ID, newID(t), "")
	a2 := newRefresh(t, s, g1.ID, newID(t), "") // a second family of g1
	id := newID(t)
	old := store.RefreshToken{ID: id, Hash: hash(id), GrantID: g1.ID, FamilyID: a1.FamilyID, CreatedAt: earlier,
		RevokedAt: earlier, RevokeReason: "rotated"}
	if err := s.CreateRefreshToken(ctx(t), old); err != nil {
		t.Fatal(err)
	}
	b := newRefresh(t, s, g2.ID, newID(t), "")
	other := newRefresh(t, s, g3.ID, newID(t), "")

	for _, ids := range [][]string{nil, {}, {"not-a-uuid"}, {newID(t)}} {
		if n, err := s.RevokeRefreshTokens(ctx(t), ids, "grant_revoked", base); err != nil || n != 0 {
			t.Errorf("RevokeRefreshTokens(%q) = %d, %v; want 0, nil", ids, n, err)
		}
	}
	at := base.Add(time.Minute)
	n, err := s.RevokeRefreshTokens(ctx(t), []string{g1.ID, g2.ID}, "grant_revoked", at)
	if err != nil || n != 3 {
		t.Fatalf("RevokeRefreshTokens = %d, %v; want 3, nil", n, err)
	}
	revoked := func(rt store.RefreshToken) store.RefreshToken {
		rt.RevokedAt, rt.RevokeReason = utc(at), "grant_revoked"
		return rt
	}
	for _, tc := range []struct {
		name string
		want store.RefreshToken
	}{
		{"g1 family 1", revoked(a1)},
		{"g1 family 2", revoked(a2)},
		{"g1 already revoked", old},
		{"g2", revoked(b)},
		{"other grant", other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := getRefresh(t, s, tc.want.Hash)
			if d := diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			checkUTC(t, "RevokedAt", got.RevokedAt)
		})
	}
	if n, err := s.RevokeRefreshTokens(ctx(t), []string{g1.ID, g2.ID}, "again", at); err != nil || n != 0 {
		t.Errorf("second RevokeRefreshTokens = %d, %v; want 0, nil", n, err)
	}
}

func testRefreshHelpers(t *testing.T, _ Harness) {
	now := micro
	for _, tc := range []struct {
		idle, abs, revoked time.Time
		expired, active    bool
	}{
		{expired: false, active: true},
		{idle: now.Add(time.Microsecond), expired: false, active: true},
		{idle: now, expired: true, active: true},
		{idle: now.Add(-time.Microsecond), expired: true, active: true},
		{abs: now.Add(time.Hour), expired: false, active: true},
		{abs: now, expired: true, active: true},
		{idle: now.Add(time.Hour), abs: now.Add(-time.Second), expired: true, active: true},
		{idle: now.Add(-time.Second), abs: now.Add(time.Hour), expired: true, active: true},
		{idle: now.Add(time.Hour), abs: now.Add(time.Hour), revoked: now, expired: false, active: false},
		{revoked: now.Add(-time.Hour), expired: false, active: false},
	} {
		rt := store.RefreshToken{ExpiresAt: tc.idle, FamilyExpiresAt: tc.abs, RevokedAt: tc.revoked}
		name := fmt.Sprintf("idle=%v abs=%v revoked=%v", rel(tc.idle, now), rel(tc.abs, now), rel(tc.revoked, now))
		t.Run(name, func(t *testing.T) {
			if got := rt.Expired(now); got != tc.expired {
				t.Errorf("Expired(now) = %v, want %v", got, tc.expired)
			}
			if got := rt.Active(); got != tc.active {
				t.Errorf("Active() = %v, want %v", got, tc.active)
			}
		})
	}
}

// rel names tm relative to now for subtest names.
func rel(tm, now time.Time) string {
	if tm.IsZero() {
		return "none"
	}
	return tm.Sub(now).String()
}
