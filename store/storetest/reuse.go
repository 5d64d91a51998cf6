package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("ReuseMarkAuthCode", testReuseMarkAuthCode)
	register("ReuseMarkRefreshToken", testReuseMarkRefreshToken)
	register("ReuseMarkRace", testReuseMarkRace)
	register("ReuseMarkInTx", testReuseMarkInTx)
}

// reuseKind is one table with a replay mark, seen through its operations.
type reuseKind struct {
	name string
	// seed inserts a row of s for grant g and returns its id and a reader
	// of its mark.
	seed func(t *testing.T, s store.Ops, g store.Grant) (id string, mark func(store.Ops) time.Time)
	mark func(s store.Ops, t *testing.T, id string, at time.Time) (bool, error)
}

var reuseKinds = []reuseKind{
	{
		name: "auth code",
		seed: func(t *testing.T, s store.Ops, g store.Grant) (string, func(store.Ops) time.Time) {
			// A used code: what a replay presents.
			c := seedAuthCode(t, s, g, func(c *store.AuthCode) { c.UsedAt = micro })
			return c.ID, func(s store.Ops) time.Time {
				got, err := s.GetAuthCode(ctx(t), c.Hash)
				if err != nil {
					t.Fatalf("GetAuthCode: %v", err)
				}
				want := c
				want.ReuseReportedAt = got.ReuseReportedAt
				if d := diff(want, got); d != "" {
					t.Errorf("marking changed another column of the code (-want +got):\n%s", d)
				}
				checkUTC(t, "ReuseReportedAt", got.ReuseReportedAt)
				return got.ReuseReportedAt
			}
		},
		mark: func(s store.Ops, t *testing.T, id string, at time.Time) (bool, error) {
			return s.MarkAuthCodeReuseReported(ctx(t), id, at)
		},
	},
	{
		name: "refresh token",
		seed: func(t *testing.T, s store.Ops, g store.Grant) (string, func(store.Ops) time.Time) {
			// A rotated token: what a replay presents.
			id := newID(t)
			rt := store.RefreshToken{ID: id, Hash: hash(id), GrantID: g.ID, FamilyID: newID(t), CreatedAt: micro,
				RevokedAt: micro, RevokeReason: "rotated"}
			if err := s.CreateRefreshToken(ctx(t), rt); err != nil {
				t.Fatalf("CreateRefreshToken: %v", err)
			}
			return id, func(s store.Ops) time.Time {
				got, err := s.GetRefreshToken(ctx(t), rt.Hash)
				if err != nil {
					t.Fatalf("GetRefreshToken: %v", err)
				}
				want := rt
				want.ReuseReportedAt = got.ReuseReportedAt
				if d := diff(want, got); d != "" {
					t.Errorf("marking changed another column of the token (-want +got):\n%s", d)
				}
				checkUTC(t, "ReuseReportedAt", got.ReuseReportedAt)
				return got.ReuseReportedAt
			}
		},
		mark: func(s store.Ops, t *testing.T, id string, at time.Time) (bool, error) {
			return s.MarkRefreshTokenReuseReported(ctx(t), id, at)
		},
	},
}

func testReuseMarkAuthCode(t *testing.T, h Harness)     { testReuseMark(t, h, reuseKinds[0]) }
func testReuseMarkRefreshToken(t *testing.T, h Harness) { testReuseMark(t, h, reuseKinds[1]) }

// testReuseMark checks that a row is marked once: the first call returns
// true and sets the time, every later call returns false and keeps it.
func testReuseMark(t *testing.T, h Harness, k reuseKind) {
	var n store.Counter
	s := h.Open(t, &n)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	id, mark := k.seed(t, s, g)
	otherID, otherMark := k.seed(t, s, g)

	if got := mark(s); !got.IsZero() {
		t.Fatalf("a fresh row is marked at %v", got)
	}
	at := base.Add(time.Minute)
	for i, want := range []bool{true, false, false} {
		ok, err := k.mark(s, t, id, at.Add(time.Duration(i)*time.Second))
		if err != nil || ok != want {
			t.Fatalf("mark #%d = %v, %v; want %v, nil", i+1, ok, err, want)
		}
	}
	if got := mark(s); !got.Equal(utc(at)) {
		t.Errorf("ReuseReportedAt = %v, want the first mark's %v", got, utc(at))
	}
	if got := otherMark(s); !got.IsZero() {
		t.Errorf("marking one row marked another, at %v", got)
	}
	if ok, err := k.mark(s, t, otherID, at); !ok || err != nil {
		t.Errorf("mark of the other row = %v, %v; want true, nil", ok, err)
	}
	// An id in upper case names the same row.
	upperID, upperMark := k.seed(t, s, g)
	if ok, err := k.mark(s, t, upperCase(upperID), at); !ok || err != nil {
		t.Errorf("mark(upper-case id) = %v, %v; want true, nil", ok, err)
	}
	if got := upperMark(s); !got.Equal(utc(at)) {
		t.Errorf("ReuseReportedAt after an upper-case mark = %v, want %v", got, utc(at))
	}

	for _, unknown := range []string{newID(t), "not-a-uuid", ""} {
		if ok, err := k.mark(s, t, unknown, at); ok || err != nil {
			t.Errorf("mark(%q) = %v, %v; want false, nil", unknown, ok, err)
		}
	}

	// A zero time would store NULL and leave the row markable again: it is
	// refused before any statement.
	freshID, freshMark := k.seed(t, s, g)
	before := n.Load()
	if _, err := k.mark(s, t, freshID, time.Time{}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("mark at the zero time = %v, want ErrInvalidArgument", err)
	}
	if sent := n.Load() - before; sent != 0 {
		t.Errorf("mark at the zero time sent %d statements, want 0", sent)
	}
	if got := freshMark(s); !got.IsZero() {
		t.Errorf("a refused mark set ReuseReportedAt = %v", got)
	}
}

// testReuseMarkRace marks one row from Contenders goroutines at once:
// exactly one wins, and the row carries the winner's time.
func testReuseMarkRace(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	for _, k := range reuseKinds {
		t.Run(k.name, func(t *testing.T) {
			id, mark := k.seed(t, s, g)
			winner := make(chan int, Contenders)
			wins := race(t, Contenders, func(i int) (bool, error) {
				ok, err := k.mark(s, t, id, micro.Add(time.Duration(i+1)*time.Second))
				if ok {
					winner <- i
				}
				return ok, err
			})
			if wins != 1 {
				t.Fatalf("%d of %d concurrent marks returned true, want exactly 1", wins, Contenders)
			}
			w := <-winner
			if got, want := mark(s), micro.Add(time.Duration(w+1)*time.Second); !got.Equal(want) {
				t.Errorf("ReuseReportedAt = %v, want the winner's %v", got, want)
			}
		})
	}
}

// testReuseMarkInTx checks that a mark is part of its transaction: seen
// inside it, gone after a rollback (so the replay is reported by the next
// caller), kept after a commit.
func testReuseMarkInTx(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	boom := errors.New("boom")
	for _, k := range reuseKinds {
		t.Run(k.name, func(t *testing.T) {
			id, mark := k.seed(t, s, g)
			at := micro.Add(time.Hour)
			err := s.InTx(ctx(t), func(tx store.Tx) error {
				if ok, err := k.mark(tx, t, id, at); !ok || err != nil {
					t.Errorf("mark in the transaction = %v, %v; want true, nil", ok, err)
				}
				if ok, err := k.mark(tx, t, id, at); ok || err != nil {
					t.Errorf("second mark in the same transaction = %v, %v; want false, nil", ok, err)
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx = %v, want boom", err)
			}
			if got := mark(s); !got.IsZero() {
				t.Fatalf("a rolled-back mark survived: ReuseReportedAt = %v", got)
			}
			err = s.InTx(ctx(t), func(tx store.Tx) error {
				ok, err := k.mark(tx, t, id, at.Add(time.Second))
				if err == nil && !ok {
					err = errors.New("mark after the rollback returned false")
				}
				return err
			})
			if err != nil {
				t.Fatalf("InTx: %v", err)
			}
			if got := mark(s); !got.Equal(utc(at.Add(time.Second))) {
				t.Errorf("ReuseReportedAt after the commit = %v, want %v", got, utc(at.Add(time.Second)))
			}
			if ok, err := k.mark(s, t, id, at); ok || err != nil {
				t.Errorf("mark after the commit = %v, %v; want false, nil", ok, err)
			}
		})
	}
}

func upperCase(id string) string { return strings.ToUpper(id) }
