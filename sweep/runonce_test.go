package sweep_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/sweep"
)

// sweepOps are the store operations one run calls, in order, when audit
// events have a retention.
var sweepOps = []string{"DeleteExpiredAuthRequests", "DeleteExpiredAuthCodes", "DeleteRefreshTokens",
	"DeleteAbandonedGrants", "DeleteRevokedGrants", "DeleteOrphanClients", "DeleteAuditEvents"}

// TestBatches checks, for each kind, that a run deletes every eligible row
// in statements of at most BatchSize rows, going on while a batch comes
// back full and stopping at the first short one: 25 eligible rows with
// BatchSize 10 take three deletes returning 10, 10 and 5; 20 take three
// returning 10, 10 and 0. Every other kind gets one delete that finds
// nothing. A zero BatchSize passes the default, 1000, to every delete.
func TestBatches(t *testing.T) {
	t.Parallel()
	now := t0.AddDate(0, 1, 0)
	// bulk seeds n eligible rows of one kind at now.
	type bulk func(e *seeder, n int)
	kinds := []struct {
		op    string
		count func(*sweep.Counts) *int64
		seed  bulk
	}{
		{"DeleteExpiredAuthRequests", func(c *sweep.Counts) *int64 { return &c.AuthRequests }, func(e *seeder, n int) {
			for i := range n {
				e.request(name("req", i), "live", t0)
			}
		}},
		{"DeleteExpiredAuthCodes", func(c *sweep.Counts) *int64 { return &c.AuthCodes }, func(e *seeder, n int) {
			for i := range n {
				e.code(name("code", i), "live", t0, time.Time{})
			}
		}},
		{"DeleteRefreshTokens", func(c *sweep.Counts) *int64 { return &c.RefreshTokens }, func(e *seeder, n int) {
			for i := range n {
				e.refresh(name("rt", i), "live", revokedAt(t0, "rotated"))
			}
		}},
		{"DeleteAbandonedGrants", func(c *sweep.Counts) *int64 { return &c.AbandonedGrants }, func(e *seeder, n int) {
			for i := range n {
				e.grant(name("pending", i), "c", store.GrantPending, t0, time.Time{})
			}
		}},
		{"DeleteRevokedGrants", func(c *sweep.Counts) *int64 { return &c.RevokedGrants }, func(e *seeder, n int) {
			for i := range n {
				e.grant(name("revoked", i), "c", store.GrantRevoked, t0, t0)
			}
		}},
		{"DeleteOrphanClients", func(c *sweep.Counts) *int64 { return &c.OrphanClients }, func(e *seeder, n int) {
			for i := range n {
				e.client(name("dyn", i), true, t0)
			}
		}},
		{"DeleteAuditEvents", func(c *sweep.Counts) *int64 { return &c.AuditEvents }, func(e *seeder, n int) {
			for i := range n {
				e.event(name("ev", i), t0)
			}
		}},
	}
	type tc struct {
		name      string
		batch     int
		kind      int
		eligible  int
		wantCalls []call
	}
	var cases []tc
	for i, k := range kinds {
		cases = append(cases,
			tc{k.op + "/25 in batches of 10", 10, i, 25, []call{{10, 10}, {10, 10}, {10, 5}}},
			tc{k.op + "/20 in batches of 10", 10, i, 20, []call{{10, 10}, {10, 10}, {10, 0}}},
			tc{k.op + "/default batch size", 0, i, 3, []call{{sweep.DefaultBatchSize, 3}}},
		)
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				k := kinds[c.kind]
				real := db.Harness.Open(t, nil)
				e := newSeeder(t, real)
				e.client("c", false, t0)
				e.grant("live", "c", store.GrantActive, t0, time.Time{})
				k.seed(e, c.eligible)

				rec := &recorder{}
				w := newWorker(t, grant.Config{Store: &hooked{Store: real, after: rec.after},
					Now: func() time.Time { return now }}, sweep.Config{BatchSize: c.batch, RevokedRetention: time.Hour,
					PendingGrace: time.Hour, OrphanClientGrace: time.Hour, AuditRetention: time.Hour})
				got, err := w.RunOnce(t.Context())
				if err != nil {
					t.Fatalf("RunOnce: %v", err)
				}
				var want sweep.Counts
				*k.count(&want) = int64(c.eligible)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("counts (-want +got):\n%s", d)
				}
				limit := c.batch
				if limit == 0 {
					limit = sweep.DefaultBatchSize
				}
				wantCalls := map[string][]call{}
				for _, op := range sweepOps {
					wantCalls[op] = []call{{limit, 0}}
				}
				wantCalls[k.op] = c.wantCalls
				if d := cmp.Diff(wantCalls, rec.get()); d != "" {
					t.Errorf("deletes (-want +got):\n%s", d)
				}
				left := ids(t, real)
				if d := cmp.Diff(map[string][]string{
					"clients": {e.rows["c"].id}, "grants": {e.rows["live"].id}, "auth_requests": {},
					"auth_codes": {}, "refresh_tokens": {}, "audit_events": {},
				}, left); d != "" {
					t.Errorf("rows left (-want +got):\n%s", d)
				}
			})
		}
	})
}

func name(prefix string, i int) string {
	return prefix + "-" + string(rune('a'+i/26)) + string(rune('a'+i%26))
}

// TestObserver checks that a run that deleted rows hands the manager's
// observer (grant.Config.Observer, through Manager.Observer) one
// sweep.completed event with the total count, and that a run that deleted
// nothing, or found another run in progress, hands it none.
func TestObserver(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		s := db.Harness.Open(t, nil)
		e := newSeeder(t, s)
		e.client("c", false, t0)
		e.grant("live", "c", store.GrantActive, t0, time.Time{})
		e.request("req", "live", t0)
		e.code("code", "live", t0, t0)
		e.refresh("rt1", "live", revokedAt(t0, "rotated"))
		e.refresh("rt2", "live", func(rt *store.RefreshToken) { rt.ExpiresAt = t0 })
		e.client("dyn", true, t0)

		heard := &testdb.Observer{}
		w := newWorker(t, grant.Config{Store: s, Observer: heard, Now: func() time.Time { return t0.AddDate(1, 0, 0) }},
			sweep.Config{})
		got, err := w.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(sweep.Counts{AuthRequests: 1, AuthCodes: 1, RefreshTokens: 2, OrphanClients: 1}, got); d != "" {
			t.Errorf("counts (-want +got):\n%s", d)
		}
		if got.Total() != 5 {
			t.Errorf("Total = %d, want 5", got.Total())
		}
		want := []grant.Event{{Type: grant.EventSweepCompleted, Count: 5}}
		if d := cmp.Diff(want, heard.Events()); d != "" {
			t.Errorf("events after the first run (-want +got):\n%s", d)
		}

		// Nothing left to delete: no event.
		if got, err := w.RunOnce(t.Context()); err != nil || got != (sweep.Counts{}) {
			t.Errorf("second run = %+v, %v; want nothing deleted", got, err)
		}
		if d := cmp.Diff(want, heard.Events()); d != "" {
			t.Errorf("events after an empty run (-want +got):\n%s", d)
		}

		// A run that finds another sweeping: none either, although there
		// is a row to delete. The other sweep calls w.RunOnce from inside
		// its first delete.
		e.refresh("rt3", "live", revokedAt(t0, "rotated"))
		var inner int
		other := newWorker(t, grant.Config{Now: func() time.Time { return t0 }, Store: &hooked{Store: s,
			before: func(ctx context.Context, op string, _ int) error {
				if op != "DeleteExpiredAuthRequests" {
					return nil
				}
				inner++
				got, err := w.RunOnce(ctx)
				if !errors.Is(err, sweep.ErrBusy) || got != (sweep.Counts{}) {
					t.Errorf("RunOnce during another sweep = %+v, %v; want nothing, ErrBusy", got, err)
				}
				return nil
			}}}, sweep.Config{})
		if _, err := other.RunOnce(t.Context()); err != nil || inner != 1 {
			t.Fatalf("the other sweep: %v, %d inner runs", err, inner)
		}
		if d := cmp.Diff(want, heard.Events()); d != "" {
			t.Errorf("events after a busy run (-want +got):\n%s", d)
		}
	})
}

// TestPartialFailure checks that a failing delete stops the run with that
// error, that the counts of what was already deleted are still returned
// (and reported), and that the steps after the failure are not attempted.
func TestPartialFailure(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		real := db.Harness.Open(t, nil)
		e := newSeeder(t, real)
		e.client("c", false, t0)
		e.grant("live", "c", store.GrantActive, t0, time.Time{})
		for i := range 3 {
			e.refresh(name("rt", i), "live", revokedAt(t0, "rotated"))
		}
		e.grant("revoked", "c", store.GrantRevoked, t0, t0)
		e.client("dyn", true, t0)

		boom := errors.New("boom")
		rec := &recorder{}
		s := &hooked{Store: real, after: rec.after, before: func(_ context.Context, op string, _ int) error {
			if op == "DeleteAbandonedGrants" {
				return boom
			}
			return nil
		}}
		heard := &testdb.Observer{}
		w := newWorker(t, grant.Config{Store: s, Observer: heard, Now: func() time.Time { return t0.AddDate(1, 0, 0) }},
			sweep.Config{BatchSize: 2})
		got, err := w.RunOnce(t.Context())
		if !errors.Is(err, boom) {
			t.Fatalf("RunOnce error = %v, want boom", err)
		}
		if d := cmp.Diff(sweep.Counts{RefreshTokens: 3}, got); d != "" {
			t.Errorf("counts (-want +got):\n%s", d)
		}
		if d := cmp.Diff(map[string][]call{
			"DeleteExpiredAuthRequests": {{2, 0}},
			"DeleteExpiredAuthCodes":    {{2, 0}},
			"DeleteRefreshTokens":       {{2, 2}, {2, 1}},
		}, rec.get()); d != "" {
			t.Errorf("deletes (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]grant.Event{{Type: grant.EventSweepCompleted, Count: 3}}, heard.Events()); d != "" {
			t.Errorf("events (-want +got):\n%s", d)
		}
		left := ids(t, real)
		if len(left["grants"]) != 2 || len(left["clients"]) != 2 || len(left["refresh_tokens"]) != 0 {
			t.Errorf("rows left: %v; want both grants and clients, no refresh token", left)
		}
	})
}

// TestCancelledRun checks that a run whose context ends between batches
// stops there and returns the context's error with what it had deleted.
func TestCancelledRun(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		real := db.Harness.Open(t, nil)
		e := newSeeder(t, real)
		e.client("c", false, t0)
		e.grant("live", "c", store.GrantActive, t0, time.Time{})
		for i := range 5 {
			e.refresh(name("rt", i), "live", revokedAt(t0, "rotated"))
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		rec := &recorder{}
		s := &hooked{Store: real, after: func(op string, limit int, n int64, err error) {
			rec.after(op, limit, n, err)
			if op == "DeleteRefreshTokens" {
				cancel() // after the first batch
			}
		}}
		w := newWorker(t, grant.Config{Store: s, Now: func() time.Time { return t0.AddDate(1, 0, 0) }},
			sweep.Config{BatchSize: 2})
		got, err := w.RunOnce(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("RunOnce error = %v, want context.Canceled", err)
		}
		if d := cmp.Diff(sweep.Counts{RefreshTokens: 2}, got); d != "" {
			t.Errorf("counts (-want +got):\n%s", d)
		}
		if d := cmp.Diff(map[string][]call{
			"DeleteExpiredAuthRequests": {{2, 0}},
			"DeleteExpiredAuthCodes":    {{2, 0}},
			"DeleteRefreshTokens":       {{2, 2}},
		}, rec.get()); d != "" {
			t.Errorf("deletes (-want +got):\n%s", d)
		}
	})
}
