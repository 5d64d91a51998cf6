package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
)

// BenchmarkRefreshThroughput is the path issue 12's throughput figure and
// ../shared/tools/peerbench measure, inside the repository: the example
// server as `go run ./examples/server -dev-login alice` runs it (JWT access
// tokens, the bearer-protected API, the sweep worker), on a real listener,
// with callers 1, 4 and 16 chains. Each chain comes from the dev-login
// authorization-code flow, as peerbench's do — so they are token families
// of one grant — and each caller refreshes its own chain over keep-alive
// HTTP; every response must be a 200 with a new refresh token. It reports
// refreshes/s. It runs on file SQLite (WAL) and, when GRANTKIT_TEST_POSTGRES
// is set, on PostgreSQL.
//
//	GRANTKIT_TEST_POSTGRES=… go test -run '^$' -bench BenchmarkRefreshThroughput -benchtime 10s ./examples/server
func BenchmarkRefreshThroughput(b *testing.B) {
	dbs := []struct {
		name string
		args func(b *testing.B) []string
	}{
		{"sqlite", func(b *testing.B) []string {
			return []string{"-db", "sqlite:" + filepath.Join(b.TempDir(), "grantkit.db")}
		}},
		{"postgres", func(b *testing.B) []string {
			if os.Getenv(testdb.EnvDSN) == "" {
				b.Skipf("%s is not set", testdb.EnvDSN)
			}
			return []string{"-db", os.Getenv(testdb.EnvDSN), "-db-schema", testdb.NewSchema(b, testdb.Pool(b))}
		}},
	}
	for _, db := range dbs {
		b.Run(db.name, func(b *testing.B) {
			s := start(b, append(db.args(b), "-dev-login", "alice")...)
			client := &http.Client{Timeout: 30 * time.Second,
				Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
			b.Cleanup(client.CloseIdleConnections)
			for _, callers := range []int{1, 4, 16} {
				b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
					chains := make([]string, callers)
					for i := range chains {
						chains[i] = chain(b, s.base, i)
					}
					var (
						next   atomic.Int64
						failed atomic.Value
						wg     sync.WaitGroup
					)
					b.ResetTimer()
					start := time.Now()
					for i := range chains {
						wg.Go(func() {
							for next.Add(1) <= int64(b.N) {
								rt, err := refreshOnce(client, s.base, chains[i])
								if err != nil {
									failed.CompareAndSwap(nil, err)
									return
								}
								chains[i] = rt
							}
						})
					}
					wg.Wait()
					elapsed := time.Since(start)
					b.StopTimer()
					if err, _ := failed.Load().(error); err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(b.N)/elapsed.Seconds(), "refreshes/s")
				})
			}
		})
	}
}

// chain runs the dev-login authorization-code flow and returns the
// refresh token of a new chain.
func chain(b *testing.B, base string, i int) string {
	b.Helper()
	verifier, challenge := pkce()
	state := fmt.Sprintf("bench-%d", i)
	resp, err := browser(b).Get(authorizeURL(base, demoClientID, state, challenge, "mcp:tools"))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	return exchange(b, base, codeFrom(b, resp, base, state), verifier).RefreshToken
}

// refreshOnce presents rt to the token endpoint as the demo client and
// returns the rotated refresh token, or an error for anything but a 200
// with a new access and refresh token.
func refreshOnce(c *http.Client, base, rt string) (string, error) {
	resp, err := c.PostForm(base+httpapi.DefaultPaths.Token, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {rt}, "client_id": {demoClientID}})
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tok tokens
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		return "", fmt.Errorf("refresh: %d, decoding: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" || tok.RefreshToken == "" || tok.RefreshToken == rt {
		return "", fmt.Errorf("refresh: %d %+v", resp.StatusCode, tok)
	}
	return tok.RefreshToken, nil
}
