package grant_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

// TestConcurrentApprovals races approvals of several pending grants on one
// binding (SPEC §2.2): each approval succeeds or fails cleanly, and
// afterwards exactly one grant is active on the binding; every other
// approved grant was superseded, every failed one is still pending with
// no code.
func TestConcurrentApprovals(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, n := range []int{2, 8} {
			t.Run(fmt.Sprintf("approvals=%d", n), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, db)
				c := e.client()
				for round := range 20 {
					req := request(c.ID, fmt.Sprintf("user-%d", round))
					auths := make([]grant.Authorization, n)
					for i := range auths {
						auths[i] = e.start(req) // no active grant yet: n pending grants
					}
					approvals := make([]grant.Approval, n)
					errs := make([]error, n)
					fns := make([]func(), n)
					for i := range fns {
						fns[i] = func() { approvals[i], errs[i] = e.m.Approve(ctx, auths[i].Request.ID, nil) }
					}
					testdb.Together(fns...)

					active, err := e.s.FindActiveGrant(ctx, auths[0].Grant.Binding())
					if err != nil {
						t.Fatalf("round %d: no active grant on the binding: %v (approvals: %v)", round, err, errs)
					}
					activeCount, succeeded := 0, 0
					for i, a := range auths {
						g := e.grant(a.Grant.ID)
						if g.Status == store.GrantActive {
							activeCount++
						}
						switch err := errs[i]; {
						case err == nil:
							succeeded++
							if g.Status == store.GrantPending ||
								(g.Status == store.GrantRevoked && g.RevokeReason != grant.ReasonSuperseded) {
								t.Errorf("round %d: approved grant is %s (%q)", round, g.Status, g.RevokeReason)
							}
						default:
							t.Errorf("round %d: approval failed with %v", round, err)
						}
					}
					// Approvals on one binding queue on its lock: every one
					// succeeds, the last to commit holding the binding.
					if activeCount != 1 || succeeded != n {
						t.Errorf("round %d: %d active grants, %d of %d approvals succeeded; want 1 active, all succeeded",
							round, activeCount, succeeded, n)
					}
					for i, ap := range approvals {
						if errs[i] != nil {
							continue
						}
						code, err := e.s.GetAuthCode(ctx, secret.Hash(ap.Code))
						if err != nil {
							t.Fatalf("round %d: the code of a successful approval: %v", round, err)
						}
						// Only the winner's code is still usable.
						if usable := code.RevokedAt.IsZero(); usable != (code.GrantID == active.ID) {
							t.Errorf("round %d: code of grant %s usable=%v, active grant %s", round, code.GrantID, usable, active.ID)
						}
					}
				}
			})
		}
	})
}

// TestRevokeRacingApprove races the revocation of a pending grant against
// the approval of its request: whichever commits first, a revocation that
// reported the grant revoked leaves it revoked, with no usable code.
func TestRevokeRacingApprove(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		outcomes := map[string]int{}
		for round := range 50 {
			a := e.start(request(c.ID, fmt.Sprintf("user-%d", round)))
			var (
				ap                    grant.Approval
				revoked               []store.Grant
				approveErr, revokeErr error
			)
			testdb.Together(
				func() { ap, approveErr = e.m.Approve(ctx, a.Request.ID, nil) },
				func() { revoked, revokeErr = e.m.Revoke(ctx, []string{a.Grant.ID}, grant.ReasonUserRevoked, "alice") },
			)
			if revokeErr != nil {
				t.Errorf("round %d: Revoke: %v", round, revokeErr)
				continue
			}
			if len(revoked) != 1 {
				t.Errorf("round %d: Revoke reported %d grants revoked, want 1", round, len(revoked))
				continue
			}
			g := e.grant(a.Grant.ID)
			if g.Status != store.GrantRevoked {
				t.Errorf("round %d: Revoke reported the grant revoked but it is %s", round, g.Status)
			}
			switch {
			case approveErr == nil:
				outcomes["approve first"]++
				if code, err := e.s.GetAuthCode(ctx, secret.Hash(ap.Code)); err != nil || code.RevokedAt.IsZero() {
					t.Errorf("round %d: the approval's code survived the revocation: %+v, %v", round, code, err)
				}
			case errors.Is(approveErr, grant.ErrInvalidTransition): // the request revoked with its grant
				outcomes["revoke first"]++
			default:
				t.Errorf("round %d: Approve: %v", round, approveErr)
			}
		}
		t.Logf("outcomes: %v", outcomes)
	})
}
