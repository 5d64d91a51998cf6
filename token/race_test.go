package token_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// The race tests run each race raceRounds times on one store per database
// (a fresh grant per round) under -race.
const (
	raceRounds = 50
	racers     = 32
	raceLeeway = 10 * time.Second
)

// assertNoActiveRefresh fails the test if any of the grants holds an active
// refresh token, reading every row of the refresh_tokens table.
func (e *env) assertNoActiveRefresh(grantIDs []string) {
	e.T.Helper()
	snap := e.Snapshot()
	for _, id := range grantIDs {
		if act := testenv.ActiveRefresh(snap, "grant_id", id); len(act) != 0 {
			e.T.Errorf("revoked grant %s holds %d active refresh tokens", id, len(act))
		}
	}
}

// assertDead checks that a revoked grant's tokens are dead: the refresh
// token (if any) fails with invalid_grant and the access token fails the
// Verifier.
func (e *env) assertDead(round int, sess testenv.Session, resp token.Response) {
	e.T.Helper()
	if resp.RefreshToken != "" {
		if _, err := e.Server.Refresh(context.Background(), sess.RefreshRequest(resp.RefreshToken)); !errors.Is(err, token.ErrInvalidGrant) {
			e.T.Errorf("round %d: the winner's refresh token: got %v, want invalid_grant", round, err)
		}
	}
	if resp.AccessToken != "" {
		if _, err := e.Verify(resp.AccessToken); !errors.Is(err, token.ErrGrantInactive) {
			e.T.Errorf("round %d: the winner's access token: got %v, want ErrGrantInactive", round, err)
		}
	}
}

// TestRaceRefresh presents one refresh token from 32 goroutines at once
// (SPEC §4.2 step 4): exactly one succeeds; every other gets invalid_grant
// (never a server_error); the reuse is detected and audited exactly once;
// under the default policy the grant is revoked, so the winner's new
// refresh token is dead and its access token fails the Verifier.
func TestRaceRefresh(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		var grants []string
		for round := range raceRounds {
			sess := e.Login(c, fmt.Sprintf("user-%d", round))
			grants = append(grants, sess.Grant.ID)

			resps := make([]token.Response, racers)
			errs := make([]error, racers)
			fns := make([]func(), racers)
			for i := range fns {
				fns[i] = func() { resps[i], errs[i] = e.Server.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken)) }
			}
			testdb.Together(fns...)

			winner, wins, reused := token.Response{}, 0, 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
					winner = resps[i]
				case !errors.Is(err, token.ErrInvalidGrant) || errCode(err) != "invalid_grant":
					t.Errorf("round %d: a losing refresh got %v (%s), want invalid_grant", round, err, errCode(err))
				case errors.Is(err, token.ErrReused):
					reused++
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d refreshes succeeded, want exactly 1 (errors: %v)", round, wins, errs)
			}
			if reused < 1 {
				t.Errorf("round %d: no loser was told about reuse", round)
			}
			if n := e.AuditCount(sess.Grant.ID, grant.EventRefreshReused); n != 1 {
				t.Errorf("round %d: %d refresh.reused events, want 1", round, n)
			}
			if g := e.Grant(sess.Grant.ID); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonRefreshReused {
				t.Fatalf("round %d: grant %s (%q), want revoked for reuse", round, g.Status, g.RevokeReason)
			}
			e.assertDead(round, sess, winner)
		}
		e.assertNoActiveRefresh(grants)
	})
}

// TestRaceExchangeCode redeems one code from 32 goroutines at once (SPEC
// §2.4, §4.1; ory/fosite#778): exactly one succeeds, every other gets
// invalid_grant, and the replay revokes the grant, so the winner's tokens
// are dead afterwards.
func TestRaceExchangeCode(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client(testenv.Confidential)
		var grants []string
		for round := range raceRounds {
			ap := e.Authorize(c, fmt.Sprintf("user-%d", round))
			sess := testenv.Session{Client: c, Grant: ap.Grant}
			grants = append(grants, ap.Grant.ID)
			req := testenv.CodeRequest(c, ap)

			resps := make([]token.Response, racers)
			errs := make([]error, racers)
			fns := make([]func(), racers)
			for i := range fns {
				fns[i] = func() { resps[i], errs[i] = e.Server.ExchangeCode(ctx, req) }
			}
			testdb.Together(fns...)

			winner, wins, reused := token.Response{}, 0, 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
					winner = resps[i]
				case !errors.Is(err, token.ErrInvalidGrant) || errCode(err) != "invalid_grant":
					t.Errorf("round %d: a losing exchange got %v (%s), want invalid_grant", round, err, errCode(err))
				case errors.Is(err, token.ErrReused):
					reused++
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d exchanges succeeded, want exactly 1 (errors: %v)", round, wins, errs)
			}
			if reused < 1 {
				t.Errorf("round %d: no loser was told about reuse", round)
			}
			if g := e.Grant(ap.Grant.ID); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonCodeReused {
				t.Fatalf("round %d: grant %s (%q), want revoked for code reuse", round, g.Status, g.RevokeReason)
			}
			if n := e.AuditCount(ap.Grant.ID, grant.EventGrantRevoked); n != 1 {
				t.Errorf("round %d: %d grant.revoked events, want 1", round, n)
			}
			if e.AuditCount(ap.Grant.ID, grant.EventCodeReused) < 1 {
				t.Errorf("round %d: no code.reused event", round)
			}
			e.assertDead(round, sess, winner)
		}
		e.assertNoActiveRefresh(grants)
	})
}

// TestRaceRevokeRefresh races a grant revocation with a refresh of one of
// its tokens (SPEC §4.1, §4.2 step 2): whichever commits first, the
// revocation succeeds; the refresh either succeeded before it or fails
// with invalid_grant (never a server_error); afterwards the grant holds no
// active refresh token, and no access token the refresh returned passes
// the Verifier.
func TestRaceRevokeRefresh(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		var grants []string
		refreshed := 0
		for round := range raceRounds {
			sess := e.Login(c, fmt.Sprintf("user-%d", round))
			grants = append(grants, sess.Grant.ID)
			family := e.refreshRow(sess.Resp.RefreshToken).FamilyID

			var (
				resp       token.Response
				errRefresh error
				revoked    []store.Grant
				errRevoke  error
			)
			testdb.Together(
				func() { resp, errRefresh = e.Server.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken)) },
				func() {
					revoked, errRevoke = e.Manager.Revoke(ctx, []string{sess.Grant.ID}, grant.ReasonUserRevoked, "alice")
				},
			)
			if errRevoke != nil || len(revoked) != 1 {
				t.Fatalf("round %d: Revoke: %d revoked, %v", round, len(revoked), errRevoke)
			}
			switch {
			case errRefresh == nil:
				refreshed++
			case !errors.Is(errRefresh, token.ErrInvalidGrant) || errors.Is(errRefresh, token.ErrReused):
				t.Errorf("round %d: refresh racing a revocation: got %v (%s), want success or invalid_grant",
					round, errRefresh, errCode(errRefresh))
			}
			if _, err := e.Store.GetRefreshFamilyHead(ctx, family); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("round %d: the revoked grant's family still has an active token (%v)", round, err)
			}
			if g := e.Grant(sess.Grant.ID); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonUserRevoked {
				t.Errorf("round %d: grant %s (%q)", round, g.Status, g.RevokeReason)
			}
			e.assertDead(round, sess, resp)
		}
		e.assertNoActiveRefresh(grants)
		t.Logf("the refresh committed first in %d of %d rounds", refreshed, raceRounds)
	})
}

// TestRaceLeewayRetry sends a refresh and its network retry at once, with
// a reuse leeway (SPEC §4.2 step 6): whichever order the database runs
// them in, both succeed, the family keeps exactly one active token (the
// later one's), and nothing is revoked or audited as reuse. The outcome
// must not depend on the database.
func TestRaceLeewayRetry(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db, func(c *token.ServerConfig) { c.ReuseLeeway = raceLeeway })
		c := e.client()
		for round := range raceRounds {
			sess := e.Login(c, fmt.Sprintf("user-%d", round))
			family := e.refreshRow(sess.Resp.RefreshToken).FamilyID

			var resps [2]token.Response
			var errs [2]error
			testdb.Together(
				func() { resps[0], errs[0] = e.Server.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken)) },
				func() { resps[1], errs[1] = e.Server.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken)) },
			)
			if errs[0] != nil || errs[1] != nil {
				t.Fatalf("round %d: a refresh and its retry within the leeway: %v", round, errs)
			}
			head, err := e.Store.GetRefreshFamilyHead(ctx, family)
			if err != nil {
				t.Fatalf("round %d: family head: %v", round, err)
			}
			live := 0
			for _, r := range resps {
				if e.refreshRow(r.RefreshToken).Active() {
					live++
					if head.ID != e.refreshRow(r.RefreshToken).ID {
						t.Errorf("round %d: the live token is not the family head", round)
					}
				}
			}
			if live != 1 {
				t.Errorf("round %d: %d of the two returned refresh tokens are active, want exactly 1", round, live)
			}
			if g := e.Grant(sess.Grant.ID); g.Status != store.GrantActive {
				t.Errorf("round %d: grant %s after a retry within the leeway", round, g.Status)
			}
			if n := e.AuditCount(sess.Grant.ID, grant.EventRefreshReused); n != 0 {
				t.Errorf("round %d: %d refresh.reused events", round, n)
			}
		}
		// Every family has exactly one active token.
		snap := e.Snapshot()
		families := map[any]int{}
		for _, r := range snap["refresh_tokens"] {
			if r["revoked_at"] == nil {
				families[r["family_id"]]++
			}
		}
		if len(families) != raceRounds {
			t.Errorf("%d families hold an active token, want %d", len(families), raceRounds)
		}
		for f, n := range families {
			if n != 1 {
				t.Errorf("family %v has %d active tokens", f, n)
			}
		}
	})
}

// families logs subject in n times with c: n token families of one grant
// (re-authorization on one binding keeps the grant), as one user's several
// client instances hold them.
func (e *env) families(c testenv.Client, subject string, n int) []testenv.Session {
	e.T.Helper()
	sessions := make([]testenv.Session, n)
	for i := range sessions {
		sessions[i] = e.Login(c, subject)
		if sessions[i].Grant.ID != sessions[0].Grant.ID {
			e.T.Fatalf("login %d of %s made grant %s, want the first login's %s", i, subject, sessions[i].Grant.ID,
				sessions[0].Grant.ID)
		}
	}
	return sessions
}

// refreshers returns one function per session that presents the refresh
// token of its code exchange and stores the outcome in resps[i], errs[i].
func (e *env) refreshers(sessions []testenv.Session, resps []token.Response, errs []error) []func() {
	fns := make([]func(), len(sessions))
	for i, sess := range sessions {
		fns[i] = func() {
			resps[i], errs[i] = e.Server.Refresh(context.Background(), sess.RefreshRequest(sess.Resp.RefreshToken))
		}
	}
	return fns
}

// TestRaceFamiliesOfOneGrant refreshes 8 token families of one grant at
// once, which rotate side by side under the grant's shared lock: every
// refresh succeeds. Then it replays all 8 rotated-away tokens at once:
// each replay is reuse and needs the grant's exclusive lock, so none may
// end in a deadlock's server_error; every one gets invalid_grant, the
// grant is revoked once, and the tokens of the first refreshes are dead.
func TestRaceFamiliesOfOneGrant(t *testing.T) {
	t.Parallel()
	const families = 8
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		c := e.client()
		var grants []string
		for round := range raceRounds / 2 {
			sessions := e.families(c, fmt.Sprintf("user-%d", round), families)
			grants = append(grants, sessions[0].Grant.ID)

			resps := make([]token.Response, families)
			errs := make([]error, families)
			testdb.Together(e.refreshers(sessions, resps, errs)...)
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: refresh of family %d beside the others: %v", round, i, err)
				}
			}

			// The same tokens again: each is now rotated away.
			replays := make([]token.Response, families)
			testdb.Together(e.refreshers(sessions, replays, errs)...)
			reused := 0
			for i, err := range errs {
				switch {
				case !errors.Is(err, token.ErrInvalidGrant) || errCode(err) != "invalid_grant":
					t.Errorf("round %d: replay of family %d's rotated token got %v (%s), want invalid_grant", round, i, err, errCode(err))
				case errors.Is(err, token.ErrReused):
					reused++
				}
			}
			if reused < 1 {
				t.Errorf("round %d: no replay was told about reuse", round)
			}
			if g := e.Grant(sessions[0].Grant.ID); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonRefreshReused {
				t.Fatalf("round %d: grant %s (%q), want revoked for reuse", round, g.Status, g.RevokeReason)
			}
			if n := e.AuditCount(sessions[0].Grant.ID, grant.EventGrantRevoked); n != 1 {
				t.Errorf("round %d: %d grant.revoked events, want 1", round, n)
			}
			for i := range sessions {
				e.assertDead(round, sessions[i], resps[i])
			}
		}
		e.assertNoActiveRefresh(grants)
	})
}

// TestRaceFamiliesRevoke races a revocation of a grant with refreshes of
// 8 of its token families: each refresh succeeded before the revocation
// committed or fails with invalid_grant, and afterwards no family holds an
// active token and no returned access token passes the Verifier.
func TestRaceFamiliesRevoke(t *testing.T) {
	t.Parallel()
	const families = 8
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		var grants []string
		refreshed := 0
		for round := range raceRounds / 2 {
			sessions := e.families(c, fmt.Sprintf("user-%d", round), families)
			grants = append(grants, sessions[0].Grant.ID)

			resps := make([]token.Response, families)
			errs := make([]error, families)
			var errRevoke error
			testdb.Together(append(e.refreshers(sessions, resps, errs), func() {
				_, errRevoke = e.Manager.Revoke(ctx, []string{sessions[0].Grant.ID}, grant.ReasonUserRevoked, "alice")
			})...)
			if errRevoke != nil {
				t.Fatalf("round %d: Revoke: %v", round, errRevoke)
			}
			for i, err := range errs {
				switch {
				case err == nil:
					refreshed++
				case !errors.Is(err, token.ErrInvalidGrant) || errors.Is(err, token.ErrReused):
					t.Errorf("round %d: family %d's refresh racing a revocation: got %v (%s), want success or invalid_grant",
						round, i, err, errCode(err))
				}
				e.assertDead(round, sessions[i], resps[i])
			}
		}
		e.assertNoActiveRefresh(grants)
		t.Logf("%d of %d refreshes committed before the revocation", refreshed, raceRounds/2*families)
	})
}
