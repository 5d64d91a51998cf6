package grant_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
)

// BenchmarkCascade measures Manager.Revoke of n active grants, each with 5
// active refresh tokens, 1 unused code and 1 open authorization request,
// on both adapters (PostgreSQL when GRANTKIT_TEST_POSTGRES is set). Each
// iteration creates its fixture in a fresh database with the timer
// stopped. Besides ns/op it reports
// s/op and ns/grant, the figures issue 3 sets targets on: time(10,000) ≤
// 12 × time(1,000), and under 2 s for 10,000 grants on PostgreSQL.
//
//	go test -run '^$' -bench Cascade -benchtime 3x ./grant/
func BenchmarkCascade(b *testing.B) {
	open := map[string]func(b *testing.B) store.Store{
		"sqlite": func(b *testing.B) store.Store {
			s, err := sqlite.Open(context.Background(), sqlite.Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			if err := s.Migrate(context.Background()); err != nil {
				b.Fatal(err)
			}
			return s
		},
		"postgres": func(b *testing.B) store.Store {
			return testdb.OpenPostgres(b, testdb.Pool(b), nil)
		},
	}
	for _, kind := range []string{"sqlite", "postgres"} {
		b.Run(kind, func(b *testing.B) {
			for _, n := range []int{1, 100, 1000, 10000} {
				b.Run(fmt.Sprintf("grants=%d", n), func(b *testing.B) {
					ctx := context.Background()
					b.ReportAllocs()
					for range b.N {
						// Each iteration revokes n grants in a fresh database
						// holding exactly them, so iterations do not measure
						// the rows earlier ones left behind.
						b.StopTimer()
						s := open[kind](b)
						m, err := grant.New(grant.Config{Store: s, Logger: quiet})
						if err != nil {
							b.Fatal(err)
						}
						c, _, err := m.RegisterClient(ctx, grant.ClientMetadata{RedirectURIs: []string{redirectURI}, Scopes: []string{"read"}})
						if err != nil {
							b.Fatal(err)
						}
						ids := bulkSeed(b, s, c.ID, n, time.Now().UTC().Truncate(time.Microsecond))
						b.StartTimer()
						revoked, err := m.Revoke(ctx, ids, grant.ReasonUserRevoked, "bench")
						if err != nil {
							b.Fatal(err)
						}
						if len(revoked) != n {
							b.Fatalf("revoked %d of %d grants", len(revoked), n)
						}
					}
					perOp := b.Elapsed().Seconds() / float64(b.N)
					b.ReportMetric(perOp, "s/op")
					b.ReportMetric(perOp*1e9/float64(n), "ns/grant")
				})
			}
		})
	}
}
