package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("AuthRequestRoundTrip", testAuthRequestRoundTrip)
	register("AuthRequestInvalid", testAuthRequestInvalid)
	register("AuthRequestConsume", testAuthRequestConsume)
	register("AuthRequestConsumeRace", testAuthRequestConsumeRace)
	register("AuthRequestRevoke", testAuthRequestRevoke)
	register("AuthCodeRoundTrip", testAuthCodeRoundTrip)
	register("AuthCodeConflict", testAuthCodeConflict)
	register("AuthCodeRedeem", testAuthCodeRedeem)
	register("AuthCodeRedeemRace", testAuthCodeRedeemRace)
	register("AuthCodeRevoke", testAuthCodeRevoke)
}

// pendingGrant makes newGrant create a pending grant, so several grants of
// one client and binding can coexist.
func pendingGrant(g *store.Grant) {
	g.Status = store.GrantPending
	g.ActivatedAt = time.Time{}
}

// seedAuthRequest inserts an open authorization request of g.
func seedAuthRequest(t *testing.T, s store.Ops, g store.Grant, mut ...func(*store.AuthRequest)) store.AuthRequest {
	t.Helper()
	r := store.AuthRequest{
		ID:                  newID(t),
		GrantID:             g.ID,
		ClientID:            g.ClientID,
		RedirectURI:         g.RedirectURI,
		Scopes:              []string{"read"},
		State:               "state-" + newID(t),
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Resource:            g.Resource,
		CreatedAt:           micro,
		ExpiresAt:           micro.Add(10 * time.Minute),
	}
	for _, m := range mut {
		m(&r)
	}
	if err := s.CreateAuthRequest(t.Context(), r); err != nil {
		t.Fatalf("CreateAuthRequest: %v", err)
	}
	return r
}

// seedAuthCode inserts an unused authorization code of g.
func seedAuthCode(t *testing.T, s store.Ops, g store.Grant, mut ...func(*store.AuthCode)) store.AuthCode {
	t.Helper()
	id := newID(t)
	c := store.AuthCode{
		ID:                  id,
		Hash:                hash("code-" + id),
		GrantID:             g.ID,
		ClientID:            g.ClientID,
		RedirectURI:         g.RedirectURI,
		Scopes:              []string{"read"},
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		CreatedAt:           micro,
		ExpiresAt:           micro.Add(time.Minute),
	}
	for _, m := range mut {
		m(&c)
	}
	if err := s.CreateAuthCode(t.Context(), c); err != nil {
		t.Fatalf("CreateAuthCode: %v", err)
	}
	return c
}

// utc is t as a store returns it: UTC, truncated to microseconds; the zero
// time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// checkUTC fails t for every non-zero time that is not in UTC or carries
// sub-microsecond digits. cmp compares times with Equal, which ignores the
// location, so round-trip tests call this besides diff.
func checkUTC(t *testing.T, what string, times ...time.Time) {
	t.Helper()
	for i, tm := range times {
		if tm.IsZero() {
			continue
		}
		if tm.Location() != time.UTC {
			t.Errorf("%s: time #%d location = %v, want UTC", what, i, tm.Location())
		}
		if tm.Nanosecond()%1000 != 0 {
			t.Errorf("%s: time #%d = %v, not truncated to microseconds", what, i, tm)
		}
	}
}

func testAuthRequestRoundTrip(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID, pendingGrant)
	for _, tc := range []struct {
		name string
		mut  func(*store.AuthRequest)
	}{
		{"open", func(r *store.AuthRequest) {
			r.CreatedAt, r.ExpiresAt = base, base.Add(10*time.Minute)
		}},
		{"consumed and revoked", func(r *store.AuthRequest) {
			r.Scopes = []string{"read", "write", "admin"}
			r.State = ""
			r.Resource = "https://other.example/"
			r.CreatedAt, r.ExpiresAt = base, base.Add(5*time.Minute+333*time.Nanosecond)
			r.ConsumedAt, r.RevokedAt = base.Add(time.Minute), base.Add(2*time.Minute)
		}},
		{"no scopes", func(r *store.AuthRequest) { r.Scopes = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := seedAuthRequest(t, s, g, tc.mut)
			got, err := s.GetAuthRequest(ctx(t), r.ID)
			if err != nil {
				t.Fatalf("GetAuthRequest: %v", err)
			}
			want := r
			want.CreatedAt, want.ExpiresAt = utc(r.CreatedAt), utc(r.ExpiresAt)
			want.ConsumedAt, want.RevokedAt = utc(r.ConsumedAt), utc(r.RevokedAt)
			if d := diff(want, got); d != "" {
				t.Errorf("GetAuthRequest (-want +got):\n%s", d)
			}
			checkUTC(t, "GetAuthRequest", got.CreatedAt, got.ExpiresAt, got.ConsumedAt, got.RevokedAt)
		})
	}
	for _, id := range []string{newID(t), "not-a-uuid", ""} {
		if _, err := s.GetAuthRequest(ctx(t), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetAuthRequest(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

// testAuthRequestInvalid covers requests, codes and refresh tokens naming a
// grant that does not exist (the foreign key) and malformed ids.
func testAuthRequestInvalid(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	missing := newID(t)

	t.Run("request of a missing grant", func(t *testing.T) {
		r := store.AuthRequest{ID: newID(t), GrantID: missing, ClientID: c.ID, RedirectURI: "https://app.example/cb",
			CodeChallenge: "x", CodeChallengeMethod: "S256", CreatedAt: micro, ExpiresAt: micro.Add(time.Minute)}
		if err := s.CreateAuthRequest(ctx(t), r); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("CreateAuthRequest(missing grant) = %v, want ErrNotFound", err)
		}
		if _, err := s.GetAuthRequest(ctx(t), r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetAuthRequest after refused create = %v, want ErrNotFound", err)
		}
	})
	t.Run("code of a missing grant", func(t *testing.T) {
		code := store.AuthCode{ID: newID(t), Hash: hash("orphan code"), GrantID: missing, ClientID: c.ID,
			RedirectURI: "https://app.example/cb", CodeChallenge: "x", CodeChallengeMethod: "S256",
			CreatedAt: micro, ExpiresAt: micro.Add(time.Minute)}
		if err := s.CreateAuthCode(ctx(t), code); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("CreateAuthCode(missing grant) = %v, want ErrNotFound", err)
		}
		if _, err := s.GetAuthCode(ctx(t), code.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetAuthCode after refused create = %v, want ErrNotFound", err)
		}
	})
	t.Run("refresh token of a missing grant", func(t *testing.T) {
		id := newID(t)
		rt := store.RefreshToken{ID: id, Hash: hash(id), GrantID: missing, FamilyID: newID(t), CreatedAt: micro}
		if err := s.CreateRefreshToken(ctx(t), rt); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("CreateRefreshToken(missing grant) = %v, want ErrNotFound", err)
		}
		if _, err := s.GetRefreshToken(ctx(t), rt.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRefreshToken after refused create = %v, want ErrNotFound", err)
		}
	})

	for _, tc := range []struct {
		name   string
		create func() error
	}{
		{"request id", func() error {
			return s.CreateAuthRequest(ctx(t), store.AuthRequest{ID: "r1", GrantID: g.ID, CreatedAt: micro, ExpiresAt: micro})
		}},
		{"request grant id", func() error {
			return s.CreateAuthRequest(ctx(t), store.AuthRequest{ID: newID(t), GrantID: "g1", CreatedAt: micro, ExpiresAt: micro})
		}},
		{"code id", func() error {
			return s.CreateAuthCode(ctx(t), store.AuthCode{ID: "c1", Hash: hash("c1"), GrantID: g.ID, CreatedAt: micro, ExpiresAt: micro})
		}},
		{"code without hash", func() error {
			return s.CreateAuthCode(ctx(t), store.AuthCode{ID: newID(t), GrantID: g.ID, CreatedAt: micro, ExpiresAt: micro})
		}},
		{"refresh family id", func() error {
			return s.CreateRefreshToken(ctx(t), store.RefreshToken{ID: newID(t), Hash: hash("f"), GrantID: g.ID, FamilyID: "fam", CreatedAt: micro})
		}},
		{"refresh parent id", func() error {
			return s.CreateRefreshToken(ctx(t), store.RefreshToken{ID: newID(t), Hash: hash("p"), GrantID: g.ID, FamilyID: newID(t), ParentID: "parent", CreatedAt: micro})
		}},
		{"refresh without hash", func() error {
			return s.CreateRefreshToken(ctx(t), store.RefreshToken{ID: newID(t), GrantID: g.ID, FamilyID: newID(t), CreatedAt: micro})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.create(); !errors.Is(err, store.ErrInvalidArgument) {
				t.Errorf("create = %v, want ErrInvalidArgument", err)
			}
		})
	}
}

func testAuthRequestConsume(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID, pendingGrant)
	at := base.Add(30 * time.Second)

	t.Run("once", func(t *testing.T) {
		r := seedAuthRequest(t, s, g)
		for i, want := range []bool{true, false, false} {
			ok, err := s.ConsumeAuthRequest(ctx(t), r.ID, at.Add(time.Duration(i)*time.Second))
			if err != nil || ok != want {
				t.Fatalf("ConsumeAuthRequest #%d = %v, %v; want %v, nil", i+1, ok, err, want)
			}
		}
		got, err := s.GetAuthRequest(ctx(t), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := r
		want.ConsumedAt = utc(at) // the first consumption, not a later attempt
		if d := diff(want, got); d != "" {
			t.Errorf("after consume (-want +got):\n%s", d)
		}
		checkUTC(t, "ConsumedAt", got.ConsumedAt)
	})
	t.Run("revoked", func(t *testing.T) {
		r := seedAuthRequest(t, s, g, func(r *store.AuthRequest) { r.RevokedAt = micro })
		ok, err := s.ConsumeAuthRequest(ctx(t), r.ID, at)
		if err != nil || ok {
			t.Fatalf("ConsumeAuthRequest(revoked) = %v, %v; want false, nil", ok, err)
		}
		got, err := s.GetAuthRequest(ctx(t), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.ConsumedAt.IsZero() {
			t.Errorf("revoked request ConsumedAt = %v, want zero", got.ConsumedAt)
		}
	})
	t.Run("revoked by grant", func(t *testing.T) {
		g2 := newGrant(t, s, c.ID, pendingGrant)
		r := seedAuthRequest(t, s, g2)
		if n, err := s.RevokeAuthRequests(ctx(t), []string{g2.ID}, micro); err != nil || n != 1 {
			t.Fatalf("RevokeAuthRequests = %d, %v; want 1, nil", n, err)
		}
		if ok, err := s.ConsumeAuthRequest(ctx(t), r.ID, at); err != nil || ok {
			t.Fatalf("ConsumeAuthRequest(revoked) = %v, %v; want false, nil", ok, err)
		}
	})
	for _, id := range []string{newID(t), "not-a-uuid"} {
		t.Run("unknown "+id, func(t *testing.T) {
			if ok, err := s.ConsumeAuthRequest(ctx(t), id, at); err != nil || ok {
				t.Fatalf("ConsumeAuthRequest(unknown) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func testAuthRequestConsumeRace(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID, pendingGrant)
	r := seedAuthRequest(t, s, g)
	winner := make(chan int, Contenders)
	wins := race(t, Contenders, func(i int) (bool, error) {
		ok, err := s.ConsumeAuthRequest(ctx(t), r.ID, micro.Add(time.Duration(i+1)*time.Second))
		if ok {
			winner <- i
		}
		return ok, err
	})
	if wins != 1 {
		t.Fatalf("%d of %d concurrent ConsumeAuthRequest calls won, want exactly 1", wins, Contenders)
	}
	w := <-winner
	got, err := s.GetAuthRequest(ctx(t), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := micro.Add(time.Duration(w+1) * time.Second); !got.ConsumedAt.Equal(want) {
		t.Errorf("ConsumedAt = %v, want the winner's %v", got.ConsumedAt, want)
	}
}

func testAuthRequestRevoke(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g1 := newGrant(t, s, c.ID, pendingGrant)
	g2 := newGrant(t, s, c.ID, pendingGrant)
	g3 := newGrant(t, s, c.ID, pendingGrant)
	earlier := micro.Add(-time.Hour)
	open1 := seedAuthRequest(t, s, g1)
	open1b := seedAuthRequest(t, s, g1)
	consumed := seedAuthRequest(t, s, g1, func(r *store.AuthRequest) { r.ConsumedAt = earlier })
	revoked := seedAuthRequest(t, s, g1, func(r *store.AuthRequest) { r.RevokedAt = earlier })
	open2 := seedAuthRequest(t, s, g2)
	other := seedAuthRequest(t, s, g3)

	for _, ids := range [][]string{nil, {}, {"not-a-uuid"}, {newID(t)}} {
		if n, err := s.RevokeAuthRequests(ctx(t), ids, base); err != nil || n != 0 {
			t.Errorf("RevokeAuthRequests(%q) = %d, %v; want 0, nil", ids, n, err)
		}
	}

	at := base.Add(time.Minute)
	n, err := s.RevokeAuthRequests(ctx(t), []string{g1.ID, g2.ID, "not-a-uuid"}, at)
	if err != nil || n != 3 {
		t.Fatalf("RevokeAuthRequests = %d, %v; want 3, nil", n, err)
	}
	for _, tc := range []struct {
		name string
		r    store.AuthRequest
		want time.Time // RevokedAt afterwards
	}{
		{"open of g1", open1, utc(at)},
		{"second open of g1", open1b, utc(at)},
		{"consumed", consumed, time.Time{}},
		{"already revoked", revoked, earlier},
		{"open of g2", open2, utc(at)},
		{"other grant", other, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetAuthRequest(ctx(t), tc.r.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.r
			want.RevokedAt = tc.want
			if d := diff(want, got); d != "" {
				t.Errorf("after RevokeAuthRequests (-want +got):\n%s", d)
			}
			checkUTC(t, "RevokedAt", got.RevokedAt)
		})
	}
	if n, err := s.RevokeAuthRequests(ctx(t), []string{g1.ID, g2.ID}, at); err != nil || n != 0 {
		t.Errorf("second RevokeAuthRequests = %d, %v; want 0, nil", n, err)
	}
}

func testAuthCodeRoundTrip(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	for _, tc := range []struct {
		name string
		mut  func(*store.AuthCode)
	}{
		{"unused", func(c *store.AuthCode) { c.CreatedAt, c.ExpiresAt = base, base.Add(time.Minute) }},
		{"used and revoked", func(c *store.AuthCode) {
			c.Scopes = []string{"read", "write"}
			c.RedirectURI = "https://app.example/other"
			c.CreatedAt, c.ExpiresAt = base, base.Add(time.Minute+999*time.Nanosecond)
			c.UsedAt, c.RevokedAt = base.Add(time.Second), base.Add(2*time.Second)
			c.ReuseReportedAt = base.Add(3*time.Second + 999*time.Nanosecond)
		}},
		{"no scopes", func(c *store.AuthCode) { c.Scopes = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := seedAuthCode(t, s, g, tc.mut)
			got, err := s.GetAuthCode(ctx(t), code.Hash)
			if err != nil {
				t.Fatalf("GetAuthCode: %v", err)
			}
			want := code
			want.CreatedAt, want.ExpiresAt = utc(code.CreatedAt), utc(code.ExpiresAt)
			want.UsedAt, want.RevokedAt = utc(code.UsedAt), utc(code.RevokedAt)
			want.ReuseReportedAt = utc(code.ReuseReportedAt)
			if d := diff(want, got); d != "" {
				t.Errorf("GetAuthCode (-want +got):\n%s", d)
			}
			checkUTC(t, "GetAuthCode", got.CreatedAt, got.ExpiresAt, got.UsedAt, got.RevokedAt, got.ReuseReportedAt)
		})
	}
	for _, h := range [][]byte{hash("unknown"), nil} {
		if _, err := s.GetAuthCode(ctx(t), h); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetAuthCode(%x) = %v, want ErrNotFound", h, err)
		}
	}
}

func testAuthCodeConflict(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	orig := seedAuthCode(t, s, g)
	for _, tc := range []struct {
		name string
		code store.AuthCode
	}{
		{"same hash", store.AuthCode{ID: newID(t), Hash: orig.Hash}},
		{"same id", store.AuthCode{ID: orig.ID, Hash: hash("another code")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dup := tc.code
			dup.GrantID, dup.ClientID, dup.RedirectURI = g.ID, c.ID, "https://evil.example/cb"
			dup.CodeChallenge, dup.CodeChallengeMethod = "other", "S256"
			dup.CreatedAt, dup.ExpiresAt = micro.Add(time.Hour), micro.Add(2*time.Hour)
			if err := s.CreateAuthCode(ctx(t), dup); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("CreateAuthCode(duplicate) = %v, want ErrConflict", err)
			}
			got, err := s.GetAuthCode(ctx(t), orig.Hash)
			if err != nil {
				t.Fatal(err)
			}
			if d := diff(orig, got); d != "" {
				t.Errorf("original code changed (-want +got):\n%s", d)
			}
		})
	}
	if _, err := s.GetAuthCode(ctx(t), hash("another code")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetAuthCode(refused duplicate) = %v, want ErrNotFound", err)
	}
}

func testAuthCodeRedeem(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	at := base.Add(10 * time.Second)

	t.Run("once", func(t *testing.T) {
		code := seedAuthCode(t, s, g)
		for i, want := range []bool{true, false, false} {
			ok, err := s.RedeemAuthCode(ctx(t), code.ID, at.Add(time.Duration(i)*time.Second))
			if err != nil || ok != want {
				t.Fatalf("RedeemAuthCode #%d = %v, %v; want %v, nil", i+1, ok, err, want)
			}
		}
		got, err := s.GetAuthCode(ctx(t), code.Hash)
		if err != nil {
			t.Fatal(err)
		}
		want := code
		want.UsedAt = utc(at)
		if d := diff(want, got); d != "" {
			t.Errorf("after redeem (-want +got):\n%s", d)
		}
		checkUTC(t, "UsedAt", got.UsedAt)
	})
	t.Run("revoked", func(t *testing.T) {
		g2 := newGrant(t, s, c.ID, pendingGrant)
		code := seedAuthCode(t, s, g2)
		if n, err := s.RevokeAuthCodes(ctx(t), []string{g2.ID}, micro); err != nil || n != 1 {
			t.Fatalf("RevokeAuthCodes = %d, %v; want 1, nil", n, err)
		}
		if ok, err := s.RedeemAuthCode(ctx(t), code.ID, at); err != nil || ok {
			t.Fatalf("RedeemAuthCode(revoked) = %v, %v; want false, nil", ok, err)
		}
		got, err := s.GetAuthCode(ctx(t), code.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if !got.UsedAt.IsZero() {
			t.Errorf("revoked code UsedAt = %v, want zero", got.UsedAt)
		}
	})
	for _, id := range []string{newID(t), "not-a-uuid"} {
		t.Run("unknown "+id, func(t *testing.T) {
			if ok, err := s.RedeemAuthCode(ctx(t), id, at); err != nil || ok {
				t.Fatalf("RedeemAuthCode(unknown) = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func testAuthCodeRedeemRace(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	code := seedAuthCode(t, s, g)
	winner := make(chan int, Contenders)
	wins := race(t, Contenders, func(i int) (bool, error) {
		ok, err := s.RedeemAuthCode(ctx(t), code.ID, micro.Add(time.Duration(i+1)*time.Second))
		if ok {
			winner <- i
		}
		return ok, err
	})
	if wins != 1 {
		t.Fatalf("%d of %d concurrent RedeemAuthCode calls won, want exactly 1", wins, Contenders)
	}
	w := <-winner
	got, err := s.GetAuthCode(ctx(t), code.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if want := micro.Add(time.Duration(w+1) * time.Second); !got.UsedAt.Equal(want) {
		t.Errorf("UsedAt = %v, want the winner's %v", got.UsedAt, want)
	}
}

func testAuthCodeRevoke(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g1 := newGrant(t, s, c.ID, pendingGrant)
	g2 := newGrant(t, s, c.ID, pendingGrant)
	g3 := newGrant(t, s, c.ID, pendingGrant)
	earlier := micro.Add(-time.Hour)
	unused1 := seedAuthCode(t, s, g1)
	used := seedAuthCode(t, s, g1, func(c *store.AuthCode) { c.UsedAt = earlier })
	revoked := seedAuthCode(t, s, g1, func(c *store.AuthCode) { c.RevokedAt = earlier })
	unused2 := seedAuthCode(t, s, g2)
	other := seedAuthCode(t, s, g3)

	for _, ids := range [][]string{nil, {}, {"not-a-uuid"}, {newID(t)}} {
		if n, err := s.RevokeAuthCodes(ctx(t), ids, base); err != nil || n != 0 {
			t.Errorf("RevokeAuthCodes(%q) = %d, %v; want 0, nil", ids, n, err)
		}
	}

	at := base.Add(time.Minute)
	n, err := s.RevokeAuthCodes(ctx(t), []string{g1.ID, g2.ID}, at)
	if err != nil || n != 2 {
		t.Fatalf("RevokeAuthCodes = %d, %v; want 2, nil", n, err)
	}
	for _, tc := range []struct {
		name string
		c    store.AuthCode
		want time.Time // RevokedAt afterwards
	}{
		{"unused of g1", unused1, utc(at)},
		{"used", used, time.Time{}},
		{"already revoked", revoked, earlier},
		{"unused of g2", unused2, utc(at)},
		{"other grant", other, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.GetAuthCode(ctx(t), tc.c.Hash)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.c
			want.RevokedAt = tc.want
			if d := diff(want, got); d != "" {
				t.Errorf("after RevokeAuthCodes (-want +got):\n%s", d)
			}
		})
	}
	if n, err := s.RevokeAuthCodes(ctx(t), []string{g1.ID, g2.ID}, at); err != nil || n != 0 {
		t.Errorf("second RevokeAuthCodes = %d, %v; want 0, nil", n, err)
	}
}
