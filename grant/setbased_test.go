package grant_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

// TestCascadeIsSetBased is the set-based proof of SPEC §3: revoking 1,000
// grants, each with 5 refresh tokens, 1 code and 1 authorization request,
// sends exactly as many SQL statements (BEGIN and COMMIT included) as
// revoking 1 such grant.
func TestCascadeIsSetBased(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		statements := map[int]int64{}
		for _, n := range []int{1, 1000} {
			var counter store.Counter
			s := db.Harness.Open(t, &counter)
			e := envOver(t, s)
			c := e.client()
			ids := bulkSeed(t, s, c.ID, n, t0)
			e.clk.Advance(time.Second)

			start := counter.Load()
			got, err := e.m.Revoke(context.Background(), ids, grant.ReasonUserRevoked, "admin")
			statements[n] = counter.Load() - start
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("revoked %d of %d grants", len(got), n)
			}

			// Everything the cascade had to revoke is revoked.
			snap := e.snapshot()
			at := e.clk.Now().Format(time.RFC3339Nano)
			want := map[string]int{"grants": n, "auth_requests": n, "auth_codes": n, "refresh_tokens": 5 * n}
			got2 := map[string]int{}
			for table := range want {
				for _, row := range snap[table] {
					if row["revoked_at"] == at {
						got2[table]++
					}
				}
			}
			if diff := cmp.Diff(want, got2); diff != "" {
				t.Errorf("%d grants: revoked rows per table (-want +got):\n%s", n, diff)
			}
			if k := len(rowsOfType(snap, grant.EventGrantRevoked)); k != n {
				t.Errorf("%d grants: %d grant.revoked events", n, k)
			}
		}
		t.Logf("statements to revoke 1 grant: %d, 1,000 grants: %d", statements[1], statements[1000])
		if statements[1] != statements[1000] {
			t.Errorf("revoking 1 grant took %d statements, 1,000 grants took %d: the cascade is not set-based",
				statements[1], statements[1000])
		}
		if statements[1] == 0 {
			t.Error("the counter counted nothing")
		}
	})
}
