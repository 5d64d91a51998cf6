package grant_test

import (
	"context"
	"errors"
	"testing"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

var (
	pending = store.GrantPending
	active  = store.GrantActive
	revoked = store.GrantRevoked
)

// transitions is SPEC §2.2's table of every (from, to) pair.
var transitions = []struct {
	from, to store.GrantStatus
	want     error
}{
	{pending, pending, grant.ErrInvalidTransition},
	{pending, active, nil},
	{pending, revoked, nil},
	{active, pending, grant.ErrInvalidTransition},
	{active, active, grant.ErrInvalidTransition},
	{active, revoked, nil},
	{revoked, pending, grant.ErrInvalidTransition},
	{revoked, active, grant.ErrInvalidTransition},
	{revoked, revoked, grant.ErrInvalidTransition},
}

// TestTransition checks the state machine of SPEC §2.2 and that the
// operations that move a grant agree with it on both databases: approving
// activates only a pending grant, the cascade revokes only a pending or
// active one (a revoked grant is a no-op, not an error: revocation is
// idempotent), and nothing moves a grant back to pending.
func TestTransition(t *testing.T) {
	t.Parallel()
	for _, tt := range transitions {
		if err := grant.Transition(tt.from, tt.to); !is(err, tt.want) {
			t.Errorf("Transition(%s, %s) = %v, want %v", tt.from, tt.to, err, tt.want)
		}
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range transitions {
			t.Run(string(tt.from)+"→"+string(tt.to), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, db)
				c := e.client()
				// A grant in state from, with an open authorization request.
				a := e.start(request(c.ID, "alice"))
				switch tt.from {
				case active:
					if _, err := e.s.ActivateGrant(ctx, a.Grant.ID, e.clk.Now()); err != nil {
						t.Fatal(err)
					}
				case revoked: // revoked without the cascade, so the request stays open
					if _, err := e.s.RevokeGrants(ctx, []string{a.Grant.ID}, "test", e.clk.Now()); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				switch tt.to {
				case active:
					_, err = e.m.Approve(ctx, a.Request.ID, nil)
				case revoked:
					var got []store.Grant
					got, err = e.m.Revoke(ctx, []string{a.Grant.ID}, "test", "admin")
					if err == nil && len(got) == 0 {
						err = grant.Transition(tt.from, tt.to) // a no-op: the cascade skipped it
					}
				case pending:
					err = grant.Transition(tt.from, tt.to) // no operation moves a grant to pending
				}
				after := e.grant(a.Grant.ID).Status
				switch {
				case tt.want == nil && (err != nil || after != tt.to):
					t.Errorf("%s → %s: err %v, status %s; want the move to happen", tt.from, tt.to, err, after)
				case tt.want != nil && after != tt.from:
					t.Errorf("%s → %s: status became %s; want it unchanged", tt.from, tt.to, after)
				case tt.want != nil && !(tt.from == active && tt.to == active) && !errors.Is(err, grant.ErrInvalidTransition):
					// (Approving an open request of an active grant is a reuse,
					// SPEC §2.2: it issues a code and changes no state.)
					t.Errorf("%s → %s: err %v, want ErrInvalidTransition", tt.from, tt.to, err)
				}
			})
		}
	})
}
