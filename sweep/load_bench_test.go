package sweep_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/sweep"
	"github.com/grantkit/grantkit/token"
)

// The load benchmark's parameters.
const (
	loadRows       = 1_000_000       // revoked refresh tokens to sweep
	loadSeedGrants = 4               // grants they belong to
	loadRefreshers = 4               // goroutines refreshing, each on its own grant
	loadWindow     = 4 * time.Second // the refreshes without a sweep
	loadBatch      = 1000            // the sweep's BatchSize
	loadRedirect   = "https://app.example/cb"
	loadResource   = "https://mcp.example/"
)

// BenchmarkSweepUnderLoad deletes 1,000,000 refresh tokens revoked two
// months ago (far past the default 30-day retention), under a few active
// grants, in batches of 1000 while loadRefreshers goroutines keep rotating
// refresh tokens of their own grants with token.Server.Refresh. It first
// measures the refreshes alone for loadWindow, then again for as long as one
// RunOnce takes, and times each batch (one DeleteRefreshTokens: one
// statement, one transaction). Reported: p50 and p99 refresh latency
// without and with the sweep and their ratio (target ≤ 2×), the longest
// batch (target ≤ 1s on PostgreSQL), the sweep's and the seeding's
// duration. The tokens are seeded in bulk with one INSERT … SELECT
// (generate_series on PostgreSQL, a recursive CTE on SQLite, a file
// database in WAL mode). One iteration is one full measurement: run with
// -benchtime 1x.
func BenchmarkSweepUnderLoad(b *testing.B) {
	b.Run("postgres", func(b *testing.B) {
		s := testdb.OpenPostgres(b, testdb.Pool(b), nil)
		benchSweepUnderLoad(b, s, func(ctx context.Context, grants []string, revokedAt time.Time) error {
			q := `INSERT INTO "` + s.Schema() + `".refresh_tokens (id, hash, grant_id, family_id, parent_id,
				created_at, expires_at, family_expires_at, revoked_at, revoke_reason)
				SELECT gen_random_uuid(), sha256(convert_to($5 || i::text, 'UTF8')),
					($1::text[])[1 + i % $2]::uuid, ($3::text[])[1 + i % $2]::uuid, NULL,
					$4, NULL, NULL, $4, 'rotated'
				FROM generate_series(1, $6::int) AS i`
			if _, err := s.Pool().Exec(ctx, q, grants, len(grants), families(len(grants)), revokedAt,
				salt(), loadRows); err != nil {
				return err
			}
			_, err := s.Pool().Exec(ctx, `ANALYZE "`+s.Schema()+`".refresh_tokens`)
			return err
		})
	})
	b.Run("sqlite", func(b *testing.B) {
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(b.TempDir(), "sweep.db")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		benchSweepUnderLoad(b, s, func(ctx context.Context, grants []string, revokedAt time.Time) error {
			gj, err := json.Marshal(grants)
			if err != nil {
				return err
			}
			fj, err := json.Marshal(families(len(grants)))
			if err != nil {
				return err
			}
			p := s.Prefix()
			q := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
				INSERT INTO ` + p + `refresh_tokens (id, hash, grant_id, family_id, parent_id,
					created_at, expires_at, family_expires_at, revoked_at, revoke_reason)
				SELECT printf('%08x-%04x-7000-8000-%012x', ?2, ?3, i), randomblob(32),
					json_extract(?4, printf('$[%d]', i % ?6)), json_extract(?5, printf('$[%d]', i % ?6)), NULL,
					?7, NULL, NULL, ?7, 'rotated'
				FROM n`
			var r [6]byte
			rand.Read(r[:])
			if _, err := s.DB().ExecContext(ctx, q, loadRows, binary.BigEndian.Uint32(r[:4]),
				binary.BigEndian.Uint16(r[4:]), string(gj), string(fj), len(grants), revokedAt.UnixMicro()); err != nil {
				return err
			}
			_, err = s.DB().ExecContext(ctx, `ANALYZE`)
			return err
		})
	})
}

// loadSeeder inserts loadRows refresh tokens revoked at revokedAt, spread
// over grants, with one SQL statement.
type loadSeeder func(ctx context.Context, grants []string, revokedAt time.Time) error

func families(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = newID()
	}
	return out
}

func salt() string {
	var b [8]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:]) + "-"
}

// timedStore times every DeleteRefreshTokens call.
type timedStore struct {
	store.Store
	mu      sync.Mutex
	batches []time.Duration
}

func (s *timedStore) DeleteRefreshTokens(ctx context.Context, revokedBefore, expiredBefore time.Time, limit int) (int64, error) {
	start := time.Now()
	n, err := s.Store.DeleteRefreshTokens(ctx, revokedBefore, expiredBefore, limit)
	d := time.Since(start)
	s.mu.Lock()
	s.batches = append(s.batches, d)
	s.mu.Unlock()
	return n, err
}

func benchSweepUnderLoad(b *testing.B, s store.Store, seed loadSeeder) {
	ctx := context.Background()
	m, err := grant.New(grant.Config{Store: s, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	key, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		b.Fatal(err)
	}
	minter, err := token.NewMinter(token.MinterConfig{Issuer: "https://auth.example", Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := token.NewServer(m, token.ServerConfig{Minter: minter})
	if err != nil {
		b.Fatal(err)
	}
	client, _, err := m.RegisterClient(ctx, grant.ClientMetadata{Name: "load", RedirectURIs: []string{loadRedirect},
		Scopes: []string{"read"}})
	if err != nil {
		b.Fatal(err)
	}
	// login returns the first refresh token of a new grant of subject.
	login := func(subject string) (store.Grant, string) {
		verifier := "verifier-" + newID() + "-" + newID()
		sum := sha256.Sum256([]byte(verifier))
		a, err := m.Start(ctx, grant.AuthorizationRequest{ClientID: client.ID, RedirectURI: loadRedirect,
			Scopes: []string{"read"}, CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]),
			CodeChallengeMethod: grant.CodeChallengeS256, Resource: loadResource, Subject: subject,
			SubjectKind: "user"})
		if err != nil {
			b.Fatal(err)
		}
		ap, err := m.Approve(ctx, a.Request.ID, nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := srv.ExchangeCode(ctx, token.CodeRequest{ClientID: client.ID, Code: ap.Code,
			RedirectURI: ap.RedirectURI, CodeVerifier: verifier})
		if err != nil {
			b.Fatal(err)
		}
		return ap.Grant, resp.RefreshToken
	}
	var seedGrants []string
	for i := range loadSeedGrants {
		g, _ := login("seeded-" + string(rune('a'+i)))
		seedGrants = append(seedGrants, g.ID)
	}
	tokens := make([]string, loadRefreshers)
	for i := range tokens {
		_, tokens[i] = login("refresher-" + string(rune('a'+i)))
	}

	// refresh runs the refreshers until stop is closed and returns their
	// latencies.
	refresh := func(stop <-chan struct{}) []time.Duration {
		var (
			mu  sync.Mutex
			all []time.Duration
			wg  sync.WaitGroup
		)
		for i := range tokens {
			wg.Go(func() {
				var lat []time.Duration
				for {
					select {
					case <-stop:
						mu.Lock()
						all = append(all, lat...)
						mu.Unlock()
						return
					default:
					}
					start := time.Now()
					resp, err := srv.Refresh(ctx, token.RefreshRequest{ClientID: client.ID, RefreshToken: tokens[i]})
					lat = append(lat, time.Since(start))
					if err != nil {
						b.Errorf("Refresh: %v", err)
						<-stop
						continue
					}
					tokens[i] = resp.RefreshToken
				}
			})
		}
		wg.Wait()
		slices.Sort(all)
		return all
	}

	for range b.N {
		b.StopTimer()
		seedStart := time.Now()
		if err := seed(ctx, seedGrants, time.Now().AddDate(0, -2, 0)); err != nil {
			b.Fatalf("seeding: %v", err)
		}
		seedTime := time.Since(seedStart)
		b.StartTimer()

		stop := make(chan struct{})
		time.AfterFunc(loadWindow, func() { close(stop) })
		idle := refresh(stop)

		// The worker's manager sweeps through ts; the token server's is m,
		// over s itself.
		ts := &timedStore{Store: s}
		w := newWorker(b, grant.Config{Store: ts}, sweep.Config{BatchSize: loadBatch,
			BatchTime: sweep.DefaultBatchTime, DutyCycle: sweep.DefaultDutyCycle})
		stop = make(chan struct{})
		var (
			counts   sweep.Counts
			sweepErr error
			sweepDur time.Duration
		)
		go func() {
			defer close(stop)
			start := time.Now()
			counts, sweepErr = w.RunOnce(ctx)
			sweepDur = time.Since(start)
		}()
		busy := refresh(stop)
		if sweepErr != nil {
			b.Fatalf("RunOnce: %v", sweepErr)
		}
		if counts.RefreshTokens != loadRows {
			b.Fatalf("the sweep deleted %d refresh tokens, want %d (%+v)", counts.RefreshTokens, loadRows, counts)
		}
		if len(idle) == 0 || len(busy) == 0 {
			b.Fatalf("%d refreshes without the sweep, %d with it", len(idle), len(busy))
		}
		longest := slices.Max(ts.batches)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(quantile(idle, 0.50)), "p50-idle-ms")
		b.ReportMetric(ms(quantile(idle, 0.99)), "p99-idle-ms")
		b.ReportMetric(ms(quantile(busy, 0.50)), "p50-sweep-ms")
		b.ReportMetric(ms(quantile(busy, 0.99)), "p99-sweep-ms")
		b.ReportMetric(float64(quantile(busy, 0.99))/float64(quantile(idle, 0.99)), "p99-ratio")
		b.ReportMetric(ms(longest), "max-batch-ms")
		b.ReportMetric(ms(quantile(slices.Sorted(slices.Values(ts.batches)), 0.50)), "p50-batch-ms")
		b.ReportMetric(float64(len(ts.batches)), "batches")
		b.ReportMetric(sweepDur.Seconds(), "sweep-s")
		b.ReportMetric(seedTime.Seconds(), "seed-s")
		b.ReportMetric(float64(len(idle)), "refreshes-idle")
		b.ReportMetric(float64(len(busy)), "refreshes-sweep")
		b.Logf("seeded %d revoked tokens in %v; refreshes without sweep: %d in %v, p50 %v p99 %v; "+
			"with sweep: %d in %v, p50 %v p99 %v (ratio %.2f); %d batches, longest %v",
			loadRows, seedTime.Round(time.Millisecond), len(idle), loadWindow, quantile(idle, 0.5), quantile(idle, 0.99),
			len(busy), sweepDur.Round(time.Millisecond), quantile(busy, 0.5), quantile(busy, 0.99),
			float64(quantile(busy, 0.99))/float64(quantile(idle, 0.99)), len(ts.batches), longest)
	}
}

// quantile returns the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
