package sweep_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/sweep"
)

// probe is one RunOnce of a rule case: the worker's clock reads at, the run
// deletes exactly the rows named in gone (every other row, earlier probes'
// deletions aside, is still there afterwards) and reports counts.
type probe struct {
	at     time.Time
	gone   []string
	counts sweep.Counts
}

// edge is the probes around a rule's cutoff (the instant a row becomes
// older than its rule allows): one microsecond before it and at it nothing
// goes; one microsecond after it, gone go with counts.
func edge(cutoff time.Time, counts sweep.Counts, gone ...string) []probe {
	return []probe{
		{at: cutoff.Add(-time.Microsecond)},
		{at: cutoff},
		{at: cutoff.Add(time.Microsecond), gone: gone, counts: counts},
	}
}

// never is a probe far in the future that deletes nothing.
func never() probe { return probe{at: t0.AddDate(100, 0, 0)} }

func probes(ps ...[]probe) []probe {
	var out []probe
	for _, p := range ps {
		out = append(out, p...)
	}
	return out
}

// TestRules checks with a controlled clock that each kind of row is deleted
// exactly when its rule says and not a microsecond before, that rows still
// referenced are never deleted (the foreign keys would refuse it anyway: the
// point is that the sweep neither fails on them nor counts them), and that
// RunOnce's counts match what went. Every case also holds a live client and
// an active grant that must survive every run.
//
// Durations: RevokedRetention 7 days, OrphanClientGrace 2 hours,
// PendingGrace 3 hours (no default), unless a case resets one to zero to
// check its default.
func TestRules(t *testing.T) {
	t.Parallel()
	R, OG, PG := testRevokedRetention, testOrphanClientGrace, testPendingGrace
	const day = 24 * time.Hour
	cases := []struct {
		name   string
		cfg    func(*sweep.Config)
		seed   func(e *seeder)
		probes []probe
	}{
		{
			name:   "expired consumed auth request of an active grant",
			seed:   func(e *seeder) { e.request("req", "live", t0.Add(10*time.Minute), consumed(t0.Add(time.Minute))) },
			probes: edge(t0.Add(10*time.Minute), sweep.Counts{AuthRequests: 1}, "req"),
		},
		{
			name: "expired open auth request; its pending grant goes once PendingGrace has passed",
			seed: func(e *seeder) {
				e.grant("pending", "c", store.GrantPending, t0, time.Time{})
				e.request("req", "pending", t0.Add(10*time.Minute))
			},
			probes: probes(
				edge(t0.Add(10*time.Minute), sweep.Counts{AuthRequests: 1}, "req"),
				edge(t0.Add(PG), sweep.Counts{AbandonedGrants: 1}, "pending"),
			),
		},
		{
			name:   "unused expired code",
			seed:   func(e *seeder) { e.code("code", "live", t0.Add(time.Minute), time.Time{}) },
			probes: edge(t0.Add(time.Minute), sweep.Counts{AuthCodes: 1}, "code"),
		},
		{
			name: "used code is kept until it expires (replay detection)",
			seed: func(e *seeder) { e.code("code", "live", t0.Add(time.Minute), t0.Add(10*time.Second)) },
			probes: probes(
				[]probe{{at: t0.Add(20 * time.Second)}},
				edge(t0.Add(time.Minute), sweep.Counts{AuthCodes: 1}, "code"),
			),
		},
		{
			name:   "refresh token revoked longer ago than RevokedRetention",
			seed:   func(e *seeder) { e.refresh("rt", "live", revokedAt(t0, "rotated")) },
			probes: edge(t0.Add(R), sweep.Counts{RefreshTokens: 1}, "rt"),
		},
		{
			name: "revoked refresh token, default RevokedRetention (30 days)",
			cfg:  func(c *sweep.Config) { c.RevokedRetention = 0 },
			seed: func(e *seeder) { e.refresh("rt", "live", revokedAt(t0, "rotated")) },
			probes: probes(
				[]probe{{at: t0.Add(R + time.Hour)}}, // past the tests' retention, within the default
				edge(t0.Add(30*day), sweep.Counts{RefreshTokens: 1}, "rt"),
			),
		},
		{
			name: "refresh token past its idle expiry",
			seed: func(e *seeder) {
				e.refresh("rt", "live", func(rt *store.RefreshToken) { rt.ExpiresAt = t0.Add(time.Hour) })
			},
			probes: edge(t0.Add(time.Hour), sweep.Counts{RefreshTokens: 1}, "rt"),
		},
		{
			name: "refresh token past its family's absolute expiry",
			seed: func(e *seeder) {
				e.refresh("rt", "live", func(rt *store.RefreshToken) {
					rt.ExpiresAt, rt.FamilyExpiresAt = t0.Add(48*time.Hour), t0.Add(2*time.Hour)
				})
			},
			probes: edge(t0.Add(2*time.Hour), sweep.Counts{RefreshTokens: 1}, "rt"),
		},
		{
			name:   "active refresh token without expiry: never",
			seed:   func(e *seeder) { e.refresh("rt", "live", nil) },
			probes: []probe{never()},
		},
		{
			name:   "abandoned pending grant without a request",
			seed:   func(e *seeder) { e.grant("pending", "c", store.GrantPending, t0, time.Time{}) },
			probes: edge(t0.Add(PG), sweep.Counts{AbandonedGrants: 1}, "pending"),
		},
		{
			name:   "abandoned pending grant, default PendingGrace (24 hours)",
			cfg:    func(c *sweep.Config) { c.PendingGrace = 0 },
			seed:   func(e *seeder) { e.grant("pending", "c", store.GrantPending, t0, time.Time{}) },
			probes: edge(t0.Add(day), sweep.Counts{AbandonedGrants: 1}, "pending"),
		},
		{
			name: "pending grant whose request outlives PendingGrace goes with it, in one run",
			seed: func(e *seeder) {
				e.grant("pending", "c", store.GrantPending, t0, time.Time{})
				e.request("req", "pending", t0.Add(5*time.Hour))
			},
			probes: probes(
				[]probe{{at: t0.Add(PG + time.Microsecond)}}, // abandoned, but still referenced
				edge(t0.Add(5*time.Hour), sweep.Counts{AuthRequests: 1, AbandonedGrants: 1}, "req", "pending"),
			),
		},
		{
			name: "pending grant with an unexpired code: kept while the code is",
			seed: func(e *seeder) {
				e.grant("pending", "c", store.GrantPending, t0, time.Time{})
				e.code("code", "pending", t0.Add(4*time.Hour), time.Time{})
			},
			probes: probes(
				[]probe{{at: t0.Add(PG + time.Microsecond)}},
				edge(t0.Add(4*time.Hour), sweep.Counts{AuthCodes: 1, AbandonedGrants: 1}, "code", "pending"),
			),
		},
		{
			name:   "revoked grant with nothing left",
			seed:   func(e *seeder) { e.grant("revoked", "c", store.GrantRevoked, t0.Add(-time.Hour), t0) },
			probes: edge(t0.Add(R), sweep.Counts{RevokedGrants: 1}, "revoked"),
		},
		{
			name: "revoked grant and its tokens revoked with it go in one run",
			seed: func(e *seeder) {
				e.grant("revoked", "c", store.GrantRevoked, t0.Add(-time.Hour), t0)
				e.refresh("rt", "revoked", revokedAt(t0, "grant_revoked"))
			},
			probes: edge(t0.Add(R), sweep.Counts{RefreshTokens: 1, RevokedGrants: 1}, "rt", "revoked"),
		},
		{
			name: "revoked grant is kept while a token revoked later remains",
			seed: func(e *seeder) {
				e.grant("revoked", "c", store.GrantRevoked, t0.Add(-time.Hour), t0)
				e.refresh("rt", "revoked", revokedAt(t0.Add(day), "reused"))
			},
			probes: probes(
				[]probe{{at: t0.Add(R + time.Microsecond)}},
				edge(t0.Add(day+R), sweep.Counts{RefreshTokens: 1, RevokedGrants: 1}, "rt", "revoked"),
			),
		},
		{
			name: "revoked grant is kept while an unexpired request remains",
			seed: func(e *seeder) {
				e.grant("revoked", "c", store.GrantRevoked, t0.Add(-time.Hour), t0)
				e.request("req", "revoked", t0.Add(R+time.Hour), func(r *store.AuthRequest) { r.RevokedAt = t0 })
			},
			probes: probes(
				[]probe{{at: t0.Add(R + time.Microsecond)}},
				edge(t0.Add(R+time.Hour), sweep.Counts{AuthRequests: 1, RevokedGrants: 1}, "req", "revoked"),
			),
		},
		{
			name: "revoked grant holding an unrevoked token without expiry: never",
			seed: func(e *seeder) {
				e.grant("revoked", "c", store.GrantRevoked, t0.Add(-time.Hour), t0)
				e.refresh("rt", "revoked", nil)
			},
			probes: []probe{{at: t0.Add(R + time.Microsecond)}, never()},
		},
		{
			name:   "active grant created long ago: never",
			seed:   func(e *seeder) { e.grant("old", "c", store.GrantActive, t0.AddDate(-5, 0, 0), time.Time{}) },
			probes: []probe{never()},
		},
		{
			name:   "dynamic client without grants",
			seed:   func(e *seeder) { e.client("dyn", true, t0) },
			probes: edge(t0.Add(OG), sweep.Counts{OrphanClients: 1}, "dyn"),
		},
		{
			name:   "dynamic client without grants, default OrphanClientGrace (1 hour)",
			cfg:    func(c *sweep.Config) { c.OrphanClientGrace = 0 },
			seed:   func(e *seeder) { e.client("dyn", true, t0) },
			probes: edge(t0.Add(time.Hour), sweep.Counts{OrphanClients: 1}, "dyn"),
		},
		{
			name: "dynamic client with an active grant: never",
			seed: func(e *seeder) {
				e.client("dyn", true, t0)
				e.grant("g", "dyn", store.GrantActive, t0, time.Time{})
			},
			probes: []probe{{at: t0.Add(OG + time.Microsecond)}, never()},
		},
		{
			name: "dynamic client whose only grant is revoked goes with that grant",
			seed: func(e *seeder) {
				e.client("dyn", true, t0)
				e.grant("g", "dyn", store.GrantRevoked, t0, t0.Add(time.Hour))
			},
			probes: probes(
				[]probe{{at: t0.Add(OG + time.Microsecond)}},
				edge(t0.Add(time.Hour+R), sweep.Counts{RevokedGrants: 1, OrphanClients: 1}, "g", "dyn"),
			),
		},
		{
			name: "dynamic client whose only grant is pending goes with that grant",
			seed: func(e *seeder) {
				e.client("dyn", true, t0)
				e.grant("g", "dyn", store.GrantPending, t0.Add(time.Hour), time.Time{})
			},
			probes: probes(
				[]probe{{at: t0.Add(OG + time.Microsecond)}},
				edge(t0.Add(time.Hour+PG), sweep.Counts{AbandonedGrants: 1, OrphanClients: 1}, "g", "dyn"),
			),
		},
		{
			name:   "non-dynamic client without grants: never",
			seed:   func(e *seeder) { e.client("static", false, t0) },
			probes: []probe{{at: t0.Add(OG + time.Microsecond)}, never()},
		},
		{
			name:   "audit event, AuditRetention 0: kept forever",
			seed:   func(e *seeder) { e.event("ev", t0) },
			probes: []probe{never()},
		},
		{
			name:   "audit event older than AuditRetention",
			cfg:    func(c *sweep.Config) { c.AuditRetention = 90 * day },
			seed:   func(e *seeder) { e.event("ev", t0) },
			probes: edge(t0.Add(90*day), sweep.Counts{AuditEvents: 1}, "ev"),
		},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := db.Harness.Open(t, nil)
				e := newSeeder(t, s)
				// The background rows every run must leave alone.
				e.client("c", false, t0.AddDate(-1, 0, 0))
				e.grant("live", "c", store.GrantActive, t0.AddDate(-1, 0, 0), time.Time{})
				tc.seed(e)

				clk := testdb.NewClock(time.Time{})
				cfg := sweep.Config{RevokedRetention: R, OrphanClientGrace: OG, PendingGrace: PG}
				if tc.cfg != nil {
					tc.cfg(&cfg)
				}
				w := newWorker(t, grant.Config{Store: s, Now: clk.Now}, cfg)

				all := ids(t, s)
				gone := map[string]bool{}
				for i, p := range tc.probes {
					clk.Set(p.at)
					got, err := w.RunOnce(t.Context())
					if err != nil {
						t.Fatalf("probe %d (t0%+v): RunOnce: %v", i, p.at.Sub(t0), err)
					}
					if d := cmp.Diff(p.counts, got); d != "" {
						t.Errorf("probe %d (t0%+v): counts (-want +got):\n%s", i, p.at.Sub(t0), d)
					}
					for _, name := range p.gone {
						if _, ok := e.rows[name]; !ok {
							t.Fatalf("probe %d names an unknown row %q", i, name)
						}
						gone[name] = true
					}
					if d := cmp.Diff(without(all, e.rows, gone), ids(t, s)); d != "" {
						t.Fatalf("probe %d (t0%+v): rows (-want +got):\n%s", i, p.at.Sub(t0), d)
					}
				}
			})
		}
	})
}

// consumed marks an authorization request consumed at at.
func consumed(at time.Time) func(*store.AuthRequest) {
	return func(r *store.AuthRequest) { r.ConsumedAt = at }
}
