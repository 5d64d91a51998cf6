package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("SweepAuthRequests", testSweepAuthRequests)
	register("SweepAbandonedGrants", testSweepAbandonedGrants)
	register("SweepAuthCodes", testSweepAuthCodes)
	register("SweepRefreshTokens", testSweepRefreshTokens)
	register("SweepRevokedGrants", testSweepRevokedGrants)
	register("SweepOrphanClients", testSweepOrphanClients)
	register("SweepOrphanGainingGrant", testSweepOrphanGainingGrant)
	register("SweepAuditEvents", testSweepAuditEvents)
	register("SweepBatches", testSweepBatches)
}

// The sweep tests use base as the cutoff: a row stamped micro (base as
// stored) is at the cutoff and must stay; one microsecond earlier is before
// it and goes.
var (
	sweepBefore = micro.Add(-time.Microsecond)
	sweepAfter  = micro.Add(time.Microsecond)
	sweepLong   = micro.Add(-48 * time.Hour)
)

// sweptRow is one row of a sweep table: get reads it (nil: present,
// store.ErrNotFound: absent) and gone says whether the delete must remove it.
type sweptRow struct {
	name string
	gone bool
	get  func() error
}

// checkSwept compares a delete's count and the rows' presence with the table.
func checkSwept(t *testing.T, n int64, err error, rows []sweptRow) {
	t.Helper()
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	var want int64
	for _, r := range rows {
		if r.gone {
			want++
		}
	}
	if n != want {
		t.Errorf("deleted %d rows, want %d", n, want)
	}
	for _, r := range rows {
		err := r.get()
		gone := errors.Is(err, store.ErrNotFound)
		if err != nil && !gone {
			t.Fatalf("%s: %v", r.name, err)
		}
		if gone != r.gone {
			t.Errorf("%s: deleted = %v, want %v", r.name, gone, r.gone)
		}
	}
}

func requestRow(t *testing.T, s store.Ops, name string, gone bool, r store.AuthRequest) sweptRow {
	return sweptRow{name, gone, func() error { _, err := s.GetAuthRequest(ctx(t), r.ID); return err }}
}

func codeRow(t *testing.T, s store.Ops, name string, gone bool, c store.AuthCode) sweptRow {
	return sweptRow{name, gone, func() error { _, err := s.GetAuthCode(ctx(t), c.Hash); return err }}
}

func refreshRow(t *testing.T, s store.Ops, name string, gone bool, rt store.RefreshToken) sweptRow {
	return sweptRow{name, gone, func() error { _, err := s.GetRefreshToken(ctx(t), rt.Hash); return err }}
}

func grantRow(t *testing.T, s store.Ops, name string, gone bool, g store.Grant) sweptRow {
	return sweptRow{name, gone, func() error { _, err := s.GetGrant(ctx(t), g.ID); return err }}
}

func clientRow(t *testing.T, s store.Ops, name string, gone bool, c store.Client) sweptRow {
	return sweptRow{name, gone, func() error { _, err := s.GetClient(ctx(t), c.ID); return err }}
}

// seedRefresh inserts an active refresh token of grantID in a family of its
// own, changed by mut.
func seedRefresh(t *testing.T, s store.Ops, grantID string, mut func(*store.RefreshToken)) store.RefreshToken {
	t.Helper()
	id := newID(t)
	rt := store.RefreshToken{ID: id, Hash: hash("rt-" + id), GrantID: grantID, FamilyID: newID(t), CreatedAt: sweepLong}
	mut(&rt)
	if err := s.CreateRefreshToken(ctx(t), rt); err != nil {
		t.Fatalf("CreateRefreshToken: %v", err)
	}
	return rt
}

// revokedGrant makes newGrant create a grant revoked at at.
func revokedGrant(at time.Time) func(*store.Grant) {
	return func(g *store.Grant) {
		g.Status, g.CreatedAt, g.ActivatedAt = store.GrantRevoked, sweepLong, sweepLong
		g.RevokedAt, g.RevokeReason = at, "user_revoked"
	}
}

func pendingAt(at time.Time) func(*store.Grant) {
	return func(g *store.Grant) {
		pendingGrant(g)
		g.CreatedAt = at
	}
}

func testSweepAuthRequests(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID, pendingGrant)
	expiring := func(at time.Time, mut ...func(*store.AuthRequest)) store.AuthRequest {
		return seedAuthRequest(t, s, g, append([]func(*store.AuthRequest){func(r *store.AuthRequest) {
			r.CreatedAt, r.ExpiresAt = sweepLong.Add(-time.Hour), at
		}}, mut...)...)
	}
	rows := []sweptRow{
		requestRow(t, s, "expired long ago", true, expiring(sweepLong)),
		requestRow(t, s, "expired just before", true, expiring(sweepBefore)),
		requestRow(t, s, "consumed and expired", true, expiring(sweepBefore, func(r *store.AuthRequest) { r.ConsumedAt = sweepLong })),
		requestRow(t, s, "revoked and expired", true, expiring(sweepBefore, func(r *store.AuthRequest) { r.RevokedAt = sweepLong })),
		requestRow(t, s, "expires at the cutoff", false, expiring(micro)),
		requestRow(t, s, "expires just after", false, expiring(sweepAfter)),
		requestRow(t, s, "expires later", false, expiring(micro.Add(time.Hour))),
	}
	n, err := s.DeleteExpiredAuthRequests(ctx(t), base, 100)
	checkSwept(t, n, err, rows)
	if n, err := s.DeleteExpiredAuthRequests(ctx(t), base, 100); err != nil || n != 0 {
		t.Errorf("second delete = %d, %v; want 0, nil", n, err)
	}
}

func testSweepAbandonedGrants(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	withRequest := newGrant(t, s, c.ID, pendingAt(sweepLong))
	req := seedAuthRequest(t, s, withRequest, func(r *store.AuthRequest) { r.ExpiresAt = sweepLong })
	withCode := newGrant(t, s, c.ID, pendingAt(sweepLong))
	seedAuthCode(t, s, withCode)
	withToken := newGrant(t, s, c.ID, pendingAt(sweepLong))
	seedRefresh(t, s, withToken.ID, func(*store.RefreshToken) {})
	rows := []sweptRow{
		grantRow(t, s, "pending long ago", true, newGrant(t, s, c.ID, pendingAt(sweepLong))),
		grantRow(t, s, "pending just before", true, newGrant(t, s, c.ID, pendingAt(sweepBefore))),
		grantRow(t, s, "pending at the cutoff", false, newGrant(t, s, c.ID, pendingAt(micro))),
		grantRow(t, s, "pending just after", false, newGrant(t, s, c.ID, pendingAt(sweepAfter))),
		grantRow(t, s, "active", false, newGrant(t, s, c.ID, func(g *store.Grant) { g.CreatedAt = sweepLong })),
		grantRow(t, s, "revoked", false, newGrant(t, s, c.ID, revokedGrant(sweepLong))),
		grantRow(t, s, "pending with an expired request", false, withRequest),
		grantRow(t, s, "pending with a code", false, withCode),
		grantRow(t, s, "pending with a refresh token", false, withToken),
	}
	n, err := s.DeleteAbandonedGrants(ctx(t), base, 100)
	checkSwept(t, n, err, rows)

	// Once its request is swept, the abandoned grant goes too.
	if n, err := s.DeleteExpiredAuthRequests(ctx(t), base, 100); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredAuthRequests = %d, %v; want 1, nil", n, err)
	}
	if _, err := s.GetAuthRequest(ctx(t), req.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("request after sweep: %v", err)
	}
	if n, err := s.DeleteAbandonedGrants(ctx(t), base, 100); n != 1 || err != nil {
		t.Fatalf("DeleteAbandonedGrants after the request sweep = %d, %v; want 1, nil", n, err)
	}
	if _, err := s.GetGrant(ctx(t), withRequest.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("grant whose request was swept: GetGrant = %v, want ErrNotFound", err)
	}
	if _, err := s.GetGrant(ctx(t), withCode.ID); err != nil {
		t.Errorf("grant with a code: GetGrant = %v, want it kept", err)
	}
}

func testSweepAuthCodes(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	expiring := func(at time.Time, mut ...func(*store.AuthCode)) store.AuthCode {
		return seedAuthCode(t, s, g, append([]func(*store.AuthCode){func(c *store.AuthCode) {
			c.CreatedAt, c.ExpiresAt = sweepLong.Add(-time.Minute), at
		}}, mut...)...)
	}
	rows := []sweptRow{
		codeRow(t, s, "unused, expired long ago", true, expiring(sweepLong)),
		codeRow(t, s, "unused, expired just before", true, expiring(sweepBefore)),
		codeRow(t, s, "used, expired", true, expiring(sweepBefore, func(c *store.AuthCode) { c.UsedAt = sweepLong })),
		codeRow(t, s, "revoked, expired", true, expiring(sweepBefore, func(c *store.AuthCode) { c.RevokedAt = sweepLong })),
		codeRow(t, s, "expires at the cutoff", false, expiring(micro)),
		codeRow(t, s, "used, expires just after", false, expiring(sweepAfter, func(c *store.AuthCode) { c.UsedAt = sweepLong })),
		codeRow(t, s, "unused, expires later", false, expiring(micro.Add(time.Minute))),
	}
	n, err := s.DeleteExpiredAuthCodes(ctx(t), base, 100)
	checkSwept(t, n, err, rows)
	if n, err := s.DeleteExpiredAuthCodes(ctx(t), base, 100); err != nil || n != 0 {
		t.Errorf("second delete = %d, %v; want 0, nil", n, err)
	}
}

func testSweepRefreshTokens(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	// Two cutoffs a day apart, so swapping them would change the result.
	revokedBefore := base.Add(-24 * time.Hour)
	revCut := utc(revokedBefore)
	tok := func(name string, gone bool, mut func(*store.RefreshToken)) sweptRow {
		return refreshRow(t, s, name, gone, seedRefresh(t, s, g.ID, mut))
	}
	revoked := func(at time.Time) func(*store.RefreshToken) {
		return func(rt *store.RefreshToken) { rt.RevokedAt, rt.RevokeReason = at, "rotated" }
	}
	idle := func(at time.Time) func(*store.RefreshToken) {
		return func(rt *store.RefreshToken) { rt.ExpiresAt = at }
	}
	absolute := func(at time.Time) func(*store.RefreshToken) {
		return func(rt *store.RefreshToken) { rt.ExpiresAt, rt.FamilyExpiresAt = micro.Add(time.Hour), at }
	}
	rows := []sweptRow{
		tok("revoked long ago", true, revoked(sweepLong)),
		tok("revoked just before the retention", true, revoked(revCut.Add(-time.Microsecond))),
		tok("revoked at the retention cutoff", false, revoked(revCut)),
		tok("revoked within the retention", false, revoked(revCut.Add(time.Hour))),
		tok("idle expiry long ago", true, idle(sweepLong)),
		tok("idle expiry within the retention", true, idle(revCut.Add(time.Hour))),
		tok("idle expiry just before", true, idle(sweepBefore)),
		tok("idle expiry at the cutoff", false, idle(micro)),
		tok("idle expiry just after", false, idle(sweepAfter)),
		tok("absolute expiry just before", true, absolute(sweepBefore)),
		tok("absolute expiry at the cutoff", false, absolute(micro)),
		tok("absolute expiry later", false, absolute(micro.Add(time.Hour))),
		tok("no expiry, active", false, func(*store.RefreshToken) {}),
		// A revoked token stays for the whole retention even once expired,
		// so presenting it again is still detected as reuse.
		tok("revoked within the retention, idle-expired", false, func(rt *store.RefreshToken) {
			revoked(revCut.Add(time.Hour))(rt)
			idle(sweepBefore)(rt)
		}),
		tok("revoked within the retention, family expired", false, func(rt *store.RefreshToken) {
			revoked(revCut.Add(time.Hour))(rt)
			absolute(sweepBefore)(rt)
		}),
		tok("revoked long ago and expired", true, func(rt *store.RefreshToken) {
			revoked(sweepLong)(rt)
			idle(sweepBefore)(rt)
		}),
	}
	n, err := s.DeleteRefreshTokens(ctx(t), revokedBefore, base, 100)
	checkSwept(t, n, err, rows)
	if n, err := s.DeleteRefreshTokens(ctx(t), revokedBefore, base, 100); err != nil || n != 0 {
		t.Errorf("second delete = %d, %v; want 0, nil", n, err)
	}
}

func testSweepRevokedGrants(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	withToken := newGrant(t, s, c.ID, revokedGrant(sweepLong))
	seedRefresh(t, s, withToken.ID, func(rt *store.RefreshToken) { rt.RevokedAt, rt.RevokeReason = sweepLong, "grant_revoked" })
	withCode := newGrant(t, s, c.ID, revokedGrant(sweepLong))
	seedAuthCode(t, s, withCode, func(c *store.AuthCode) { c.UsedAt = sweepLong })
	withRequest := newGrant(t, s, c.ID, revokedGrant(sweepLong))
	seedAuthRequest(t, s, withRequest, func(r *store.AuthRequest) { r.RevokedAt = sweepLong })
	rows := []sweptRow{
		grantRow(t, s, "revoked long ago", true, newGrant(t, s, c.ID, revokedGrant(sweepLong))),
		grantRow(t, s, "revoked just before", true, newGrant(t, s, c.ID, revokedGrant(sweepBefore))),
		grantRow(t, s, "revoked at the cutoff", false, newGrant(t, s, c.ID, revokedGrant(micro))),
		grantRow(t, s, "revoked just after", false, newGrant(t, s, c.ID, revokedGrant(sweepAfter))),
		grantRow(t, s, "revoked with a refresh token", false, withToken),
		grantRow(t, s, "revoked with a code", false, withCode),
		grantRow(t, s, "revoked with a request", false, withRequest),
		grantRow(t, s, "active", false, newGrant(t, s, c.ID, func(g *store.Grant) { g.CreatedAt = sweepLong })),
		grantRow(t, s, "pending", false, newGrant(t, s, c.ID, pendingAt(sweepLong))),
	}
	n, err := s.DeleteRevokedGrants(ctx(t), base, 100)
	checkSwept(t, n, err, rows)
	if n, err := s.DeleteRevokedGrants(ctx(t), base, 100); err != nil || n != 0 {
		t.Errorf("second delete = %d, %v; want 0, nil", n, err)
	}
}

func testSweepOrphanClients(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	dynamic := func(at time.Time) store.Client {
		return newClient(t, s, func(c *store.Client) { c.Dynamic, c.CreatedAt, c.UpdatedAt = true, at, at })
	}
	withGrant := func(mut func(*store.Grant)) store.Client {
		c := dynamic(sweepLong)
		newGrant(t, s, c.ID, mut)
		return c
	}
	deleted := dynamic(sweepLong)
	if err := s.DeleteClient(ctx(t), deleted.ID, sweepLong); err != nil {
		t.Fatal(err)
	}
	rows := []sweptRow{
		clientRow(t, s, "dynamic long ago", true, dynamic(sweepLong)),
		clientRow(t, s, "dynamic just before", true, dynamic(sweepBefore)),
		clientRow(t, s, "dynamic, soft-deleted", true, deleted),
		clientRow(t, s, "dynamic at the cutoff", false, dynamic(micro)),
		clientRow(t, s, "dynamic just after", false, dynamic(sweepAfter)),
		clientRow(t, s, "dynamic with an active grant", false, withGrant(func(*store.Grant) {})),
		clientRow(t, s, "dynamic with a pending grant", false, withGrant(pendingGrant)),
		clientRow(t, s, "dynamic with a revoked grant", false, withGrant(revokedGrant(sweepLong))),
		clientRow(t, s, "registered long ago", false, newClient(t, s, func(c *store.Client) { c.CreatedAt = sweepLong })),
	}
	n, err := s.DeleteOrphanClients(ctx(t), base, 100)
	checkSwept(t, n, err, rows)
	if n, err := s.DeleteOrphanClients(ctx(t), base, 100); err != nil || n != 0 {
		t.Errorf("second delete = %d, %v; want 0, nil", n, err)
	}
}

// testSweepOrphanGainingGrant: a dynamic client whose first grant is being
// inserted while the orphan sweep runs survives, and the sweep reports no
// error (on PostgreSQL the insert's foreign-key check locks the client and
// the sweep skips it; on SQLite the sweep waits for the writer).
func testSweepOrphanGainingGrant(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s, func(c *store.Client) { c.Dynamic, c.CreatedAt, c.UpdatedAt = true, sweepLong, sweepLong })
	inserted, commit := make(chan struct{}), make(chan struct{})
	txErr := make(chan error, 1)
	go func() {
		txErr <- s.InTx(ctx(t), func(tx store.Tx) error {
			newGrant(t, tx, c.ID)
			close(inserted)
			<-commit
			return nil
		})
	}()
	<-inserted
	swept := make(chan error, 1)
	var n int64
	go func() {
		var err error
		n, err = s.DeleteOrphanClients(ctx(t), base, 100)
		swept <- err
	}()
	time.Sleep(100 * time.Millisecond) // let the sweep reach the client (PostgreSQL) or the writer lock (SQLite)
	close(commit)
	if err := <-txErr; err != nil {
		t.Fatalf("creating the first grant: %v", err)
	}
	if err := <-swept; err != nil || n != 0 {
		t.Errorf("DeleteOrphanClients = %d, %v; want 0, nil", n, err)
	}
	if got := clientGet(t, s, c.ID); got.ID != c.ID {
		t.Errorf("the client gaining a grant was swept")
	}
}

func testSweepAuditEvents(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	grantID := newID(t)
	var events []store.AuditEvent
	event := func(name string, gone bool, at time.Time) sweptRow {
		e := auditFixture(t, grantID, func(e *store.AuditEvent) { e.OccurredAt = at })
		events = append(events, e)
		return sweptRow{name, gone, func() error {
			page, err := s.ListAuditEvents(ctx(t), store.AuditFilter{GrantID: grantID}, store.Page{Limit: store.MaxPageLimit})
			if err != nil {
				return err
			}
			for _, got := range page.Items {
				if got.ID == e.ID {
					return nil
				}
			}
			return store.ErrNotFound
		}}
	}
	rows := []sweptRow{
		event("long ago", true, sweepLong),
		event("just before", true, sweepBefore),
		event("at the cutoff", false, micro),
		event("just after", false, sweepAfter),
		event("later", false, micro.Add(time.Hour)),
	}
	if err := s.AppendAuditEvents(ctx(t), events); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteAuditEvents(ctx(t), base, 100)
	checkSwept(t, n, err, rows)
	if n, err := s.DeleteAuditEvents(ctx(t), base, 100); err != nil || n != 0 {
		t.Errorf("second delete = %d, %v; want 0, nil", n, err)
	}
}

// testSweepBatches checks, for every sweep delete, that one call deletes at
// most limit rows (25 eligible rows, limit 10: 10, 10, 5, 0) and that a
// non-positive limit is refused without deleting anything.
func testSweepBatches(t *testing.T, h Harness) {
	const eligible = 25
	for _, tc := range []struct {
		name string
		seed func(t *testing.T, s store.Store)
		del  func(ctx context.Context, s store.Store, limit int) (int64, error)
	}{
		{"DeleteExpiredAuthRequests", func(t *testing.T, s store.Store) {
			g := newGrant(t, s, newClient(t, s).ID, pendingAt(micro)) // not abandoned: created at the cutoff
			for range eligible {
				seedAuthRequest(t, s, g, func(r *store.AuthRequest) { r.ExpiresAt = sweepBefore })
			}
			seedAuthRequest(t, s, g)
		}, func(ctx context.Context, s store.Store, limit int) (int64, error) {
			return s.DeleteExpiredAuthRequests(ctx, base, limit)
		}},
		{"DeleteAbandonedGrants", func(t *testing.T, s store.Store) {
			c := newClient(t, s)
			for range eligible {
				newGrant(t, s, c.ID, pendingAt(sweepBefore))
			}
			newGrant(t, s, c.ID, pendingAt(micro))
		}, func(ctx context.Context, s store.Store, limit int) (int64, error) {
			return s.DeleteAbandonedGrants(ctx, base, limit)
		}},
		{"DeleteExpiredAuthCodes", func(t *testing.T, s store.Store) {
			g := newGrant(t, s, newClient(t, s).ID)
			for range eligible {
				seedAuthCode(t, s, g, func(c *store.AuthCode) { c.ExpiresAt = sweepBefore })
			}
			seedAuthCode(t, s, g)
		}, func(ctx context.Context, s store.Store, limit int) (int64, error) {
			return s.DeleteExpiredAuthCodes(ctx, base, limit)
		}},
		{"DeleteRefreshTokens", func(t *testing.T, s store.Store) {
			g := newGrant(t, s, newClient(t, s).ID)
			for i := range eligible {
				seedRefresh(t, s, g.ID, func(rt *store.RefreshToken) {
					if i%2 == 0 {
						rt.RevokedAt = sweepBefore
					} else {
						rt.ExpiresAt = sweepBefore
					}
				})
			}
			seedRefresh(t, s, g.ID, func(rt *store.RefreshToken) { rt.ExpiresAt = micro })
		}, func(ctx context.Context, s store.Store, limit int) (int64, error) {
			return s.DeleteRefreshTokens(ctx, base, base, limit)
		}},
		{"DeleteRevokedGrants", func(t *testing.T, s store.Store) {
			c := newClient(t, s)
			for range eligible {
				newGrant(t, s, c.ID, revokedGrant(sweepBefore))
			}
			newGrant(t, s, c.ID, revokedGrant(micro))
		}, func(ctx context.Context, s store.Store, limit int) (int64, error) {
			return s.DeleteRevokedGrants(ctx, base, limit)
		}},
		{"DeleteOrphanClients", func(t *testing.T, s store.Store) {
			for range eligible {
				newClient(t, s, func(c *store.Client) { c.Dynamic, c.CreatedAt = true, sweepBefore })
			}
			newClient(t, s, func(c *store.Client) { c.Dynamic = true })
		}, func(ctx context.Context, s store.Store, limit int) (int64, error) {
			return s.DeleteOrphanClients(ctx, base, limit)
		}},
		{"DeleteAuditEvents", func(t *testing.T, s store.Store) {
			var events []store.AuditEvent
			for range eligible {
				events = append(events, auditFixture(t, "", func(e *store.AuditEvent) { e.OccurredAt = sweepBefore }))
			}
			events = append(events, auditFixture(t, ""))
			if err := s.AppendAuditEvents(ctx(t), events); err != nil {
				t.Fatal(err)
			}
		}, func(ctx context.Context, s store.Store, limit int) (int64, error) {
			return s.DeleteAuditEvents(ctx, base, limit)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := h.Open(t, nil)
			tc.seed(t, s)
			for _, limit := range []int{0, -1, -1000} {
				if n, err := tc.del(ctx(t), s, limit); !errors.Is(err, store.ErrInvalidArgument) || n != 0 {
					t.Errorf("limit %d: %d, %v; want 0, ErrInvalidArgument", limit, n, err)
				}
			}
			var got []int64
			for range 4 {
				n, err := tc.del(ctx(t), s, 10)
				if err != nil {
					t.Fatalf("delete: %v", err)
				}
				got = append(got, n)
			}
			if d := diff([]int64{10, 10, 5, 0}, got); d != "" {
				t.Errorf("batch counts (-want +got):\n%s", d)
			}
			if n, err := tc.del(ctx(t), s, 1000); err != nil || n != 0 {
				t.Errorf("after the batches: %d, %v; want 0 (the row at the cutoff stays)", n, err)
			}
		})
	}
}
