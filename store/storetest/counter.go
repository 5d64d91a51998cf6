package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

// StatementCounts are the statement counts TestCounter expects where
// adapters legitimately differ.
type StatementCounts struct {
	// Write is a single-statement write outside a transaction: 1 where the
	// database serialises writers itself, 3 (BEGIN, the statement, COMMIT)
	// where the adapter runs every write in a transaction of its own to
	// serialise them (SQLite).
	Write int64
	// Rotate is a RotateRefreshToken that rotates, outside a transaction:
	// 1 with a single-statement rotation, 4 (BEGIN, UPDATE, INSERT,
	// COMMIT) otherwise.
	Rotate int64
	// RotateLost is a RotateRefreshToken whose old token was already
	// revoked: 1, or 3 (BEGIN, UPDATE, COMMIT).
	RotateLost int64
}

// TestCounter checks the statements an adapter reports to the Counter
// given to h.Open, BEGIN, COMMIT and ROLLBACK included, so that tests and
// benchmarks built on it (an operation executes a constant number of
// statements) measure the truth. The counts common to every adapter: a
// read is one statement; InTx adds exactly BEGIN and COMMIT, or ROLLBACK
// when fn fails; an operation inside InTx or on a joined host transaction
// is one statement (the host's own BEGIN is not counted). want gives the
// others.
func TestCounter(t *testing.T, h Harness, want StatementCounts) {
	var n store.Counter
	s := h.Open(t, &n)
	c := newClient(t, s)
	g := store.Grant{ID: newID(t), ClientID: c.ID, Subject: "alice", SubjectKind: "user",
		Resource: "https://mcp.example/", RedirectURI: "https://app.example/cb", Status: store.GrantActive,
		CreatedAt: micro, ActivatedAt: micro}
	id := newID(t)
	first := store.RefreshToken{ID: id, Hash: hash(id), GrantID: g.ID, FamilyID: newID(t), CreatedAt: micro}
	next := childToken(t, first, micro.Add(time.Minute))
	late := childToken(t, first, micro.Add(2*time.Minute))

	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		want int64
		fn   func() error
	}{
		{"CreateGrant", want.Write, func() error { return s.CreateGrant(ctx(t), g) }},
		{"GetGrant", 1, func() error { _, err := s.GetGrant(ctx(t), g.ID); return err }},
		{"InTx with 2 ops", 4, func() error {
			return s.InTx(ctx(t), func(tx store.Tx) error {
				if _, err := tx.GetGrantForUpdate(ctx(t), g.ID); err != nil {
					return err
				}
				return tx.CreateRefreshToken(ctx(t), first)
			})
		}},
		{"InTx failing after 1 op", 3, func() error {
			err := s.InTx(ctx(t), func(tx store.Tx) error {
				if _, err := tx.GetGrant(ctx(t), g.ID); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				return fmt.Errorf("InTx = %v, want boom", err)
			}
			return nil
		}},
		{"RotateRefreshToken", want.Rotate, func() error {
			ok, err := s.RotateRefreshToken(ctx(t), first.ID, "rotated", next)
			if err == nil && !ok {
				err = errors.New("not rotated")
			}
			return err
		}},
		{"RotateRefreshToken of a revoked token", want.RotateLost, func() error {
			ok, err := s.RotateRefreshToken(ctx(t), first.ID, "rotated", late)
			if err == nil && ok {
				err = errors.New("rotated twice")
			}
			return err
		}},
		{"MarkRefreshTokenReuseReported", want.Write, func() error {
			ok, err := s.MarkRefreshTokenReuseReported(ctx(t), first.ID, micro.Add(time.Hour))
			if err == nil && !ok {
				err = errors.New("not marked")
			}
			return err
		}},
		{"op on a joined host transaction", 1, func() error {
			tx, _, rollback := h.HostTx(t, s)
			defer func() {
				if err := rollback(); err != nil {
					t.Errorf("rolling back the host transaction: %v", err)
				}
			}()
			_, err := tx.GetGrant(ctx(t), g.ID)
			return err
		}},
	} {
		before := n.Load()
		if err := tc.fn(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := n.Load() - before; got != tc.want {
			t.Errorf("%s sent %d statements, want %d", tc.name, got, tc.want)
		}
	}
}
