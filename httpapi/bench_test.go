package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
)

// The benchmark of the HTTP token endpoint's issue (figures in its closing
// note):
//
//	GRANTKIT_TEST_POSTGRES=… go test -run '^$' -bench BenchmarkRefreshHTTP -benchtime 3s ./httpapi/

// chain is one caller's refresh-token chain: its own client and grant,
// and the refresh token to present next.
type chain struct {
	client testenv.Client
	rt     string
}

// refreshPath presents ch's refresh token and moves ch to the new one; it
// fails unless the refresh succeeded with a new refresh token.
type refreshPath func(ctx context.Context, ch *chain) error

// BenchmarkRefreshHTTP compares the refresh_token grant over real HTTP —
// an httptest server running Handler.Token, and a keep-alive client (one
// connection per caller at most, bodies read and closed) of each kind in
// clients — with the
// same refresh through token.Server.Refresh (target: the HTTP path at ≥
// 0.85× the direct throughput on PostgreSQL). It runs on file SQLite (WAL)
// and PostgreSQL with 1 and 16 concurrent callers; each caller rotates a
// chain of its own (its own client and grant), and the two paths have
// separate chains over the same store. The paths alternate in slices of
// 16 refreshes per caller, the first path switching every slice, so both
// see the same machine load; an op is one refresh on each path. Reported:
// each path's refreshes/s and http/direct, the ratio of the throughputs.
func BenchmarkRefreshHTTP(b *testing.B) {
	adapters := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", openFileSQLite},
		{"postgres", func(b *testing.B) store.Store { return testdb.OpenPostgres(b, testdb.Pool(b), nil) }},
	}
	for _, a := range adapters {
		b.Run("adapter="+a.name, func(b *testing.B) {
			e := testenv.Over(b, a.open(b))
			h, err := httpapi.New(httpapi.Config{Grants: e.Manager, Tokens: e.Server, Minter: e.Minter})
			if err != nil {
				b.Fatal(err)
			}
			for _, callers := range []int{1, 16} {
				for _, cl := range clients {
					// The fixtures live as long as the adapter's benchmark:
					// the callers' benchmark function runs several times.
					viaHTTP, conns := cl.refresher(b, h.Token(), callers)
					direct := func(ctx context.Context, ch *chain) error {
						resp, err := e.Server.Refresh(ctx, ch.client.RefreshRequest(ch.rt))
						if err != nil {
							return err
						}
						return ch.next(resp.AccessToken, resp.RefreshToken)
					}
					httpChains, directChains := chains(e, callers), chains(e, callers)
					b.Run(fmt.Sprintf("callers=%d/client=%s", callers, cl.name), func(b *testing.B) {
						ctx := context.Background()
						slice := 16 * callers
						var tHTTP, tDirect time.Duration
						b.ResetTimer()
						for done, k := 0, 0; done < b.N; k++ {
							n := min(slice, b.N-done)
							first, second := &tHTTP, &tDirect
							p1, p2, c1, c2 := viaHTTP, refreshPath(direct), httpChains, directChains
							if k%2 == 1 {
								first, second = second, first
								p1, p2, c1, c2 = p2, p1, c2, c1
							}
							*first += phase(b, ctx, c1, n, p1)
							*second += phase(b, ctx, c2, n, p2)
							done += n
						}
						b.StopTimer()
						if n := conns.Load(); n > int64(callers) {
							b.Fatalf("the client opened %d connections for %d callers: no keep-alive", n, callers)
						}
						httpRate, directRate := float64(b.N)/tHTTP.Seconds(), float64(b.N)/tDirect.Seconds()
						b.ReportMetric(httpRate, "http-refreshes/s")
						b.ReportMetric(directRate, "direct-refreshes/s")
						b.ReportMetric(httpRate/directRate, "http/direct")
					})
				}
			}
		})
	}
}

// clients are the two HTTP clients BenchmarkRefreshHTTP drives the
// endpoint with: net/http's (a Transport's read and write goroutines per
// connection, handing each request over channels) and a bare keep-alive
// HTTP/1.1 connection per caller (one write, then http.ReadResponse), which
// leaves in the benchmark's process only the server's share of the HTTP
// cost, as a deployment's gateway process would have it.
var clients = []struct {
	name      string
	refresher func(b *testing.B, endpoint http.Handler, callers int) (refreshPath, *atomic.Int64)
}{
	{"net-http", httpRefresher},
	{"conn", connRefresher},
}

// openFileSQLite opens a fresh, migrated SQLite store in a file of
// b.TempDir(), closed when b ends, and checks that it runs in WAL mode.
func openFileSQLite(b *testing.B) store.Store {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "grantkit.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var mode string
	if err := s.DB().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		b.Fatal(err)
	}
	if mode != "wal" {
		b.Fatalf("journal_mode = %q, want wal", mode)
	}
	return s
}

// chains registers n clients and gives each a grant and its first refresh
// token (Authorize, then Exchange of the code).
func chains(e *testenv.Env, n int) []*chain {
	e.TB.Helper()
	out := make([]*chain, n)
	for i := range out {
		c := e.Client()
		resp := e.Exchange(testenv.CodeRequest(c, e.Authorize(c, fmt.Sprintf("user-%d", i))))
		out[i] = &chain{client: c, rt: resp.RefreshToken}
	}
	return out
}

// next moves ch to refresh token rt of a refresh that also returned
// access token at, failing unless both are there and rt is new.
func (ch *chain) next(at, rt string) error {
	if at == "" || rt == "" || rt == ch.rt {
		return fmt.Errorf("refresh of client %s: access token %t, refresh token %t, rotated %t",
			ch.client.ID, at != "", rt != "", rt != ch.rt)
	}
	ch.rt = rt
	return nil
}

// serveCounting serves endpoint on an httptest server for the rest of b
// and returns it with a count of the connections it accepted.
func serveCounting(b *testing.B, endpoint http.Handler) (*httptest.Server, *atomic.Int64) {
	conns := new(atomic.Int64)
	srv := httptest.NewUnstartedServer(endpoint)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	b.Cleanup(srv.Close)
	return srv, conns
}

// refreshBody is the form of ch's refresh.
func refreshBody(ch *chain) string {
	return "grant_type=refresh_token&client_id=" + url.QueryEscape(ch.client.ID) +
		"&refresh_token=" + url.QueryEscape(ch.rt)
}

// refreshed checks a token endpoint's answer to ch's refresh and moves ch
// on; it reads and closes resp's body.
func refreshed(ch *chain, resp *http.Response) error {
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("refresh over HTTP: status %d: %s", resp.StatusCode, raw)
	}
	var tr tokenResponse
	if err := json.Unmarshal(raw, &tr); err != nil {
		return fmt.Errorf("refresh over HTTP: %v: %s", err, raw)
	}
	return ch.next(tr.AccessToken, tr.RefreshToken)
}

// httpRefresher serves endpoint and returns the HTTP path to it through
// net/http's client, keeping up to callers connections alive.
func httpRefresher(b *testing.B, endpoint http.Handler, callers int) (refreshPath, *atomic.Int64) {
	srv, conns := serveCounting(b, endpoint)
	tr := &http.Transport{MaxIdleConns: callers, MaxIdleConnsPerHost: callers, MaxConnsPerHost: callers}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	target := srv.URL + "/token"
	return func(ctx context.Context, ch *chain) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(refreshBody(ch)))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		return refreshed(ch, resp)
	}, conns
}

// rawConn is one caller's keep-alive connection.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

// connRefresher serves endpoint and returns the HTTP path to it over one
// bare keep-alive HTTP/1.1 connection per chain: the request written in
// one write, the answer read with http.ReadResponse.
func connRefresher(b *testing.B, endpoint http.Handler, _ int) (refreshPath, *atomic.Int64) {
	srv, conns := serveCounting(b, endpoint)
	addr := srv.Listener.Addr().String()
	var (
		mu    sync.Mutex
		byChn = map[*chain]*rawConn{}
	)
	b.Cleanup(func() {
		for _, c := range byChn {
			c.Close()
		}
	})
	return func(ctx context.Context, ch *chain) error {
		mu.Lock()
		c := byChn[ch]
		if c == nil {
			nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				mu.Unlock()
				return err
			}
			c = &rawConn{Conn: nc, r: bufio.NewReader(nc)}
			byChn[ch] = c
		}
		mu.Unlock()
		body := refreshBody(ch)
		msg := "POST /token HTTP/1.1\r\nHost: " + addr +
			"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + strconv.Itoa(len(body)) +
			"\r\n\r\n" + body
		if _, err := io.WriteString(c, msg); err != nil {
			return err
		}
		resp, err := http.ReadResponse(c.r, nil)
		if err != nil {
			return err
		}
		return refreshed(ch, resp)
	}, conns
}

// phase runs n refreshes through path, spread over chs with one goroutine
// per chain, and returns its wall time; it fails b on the first error.
func phase(b *testing.B, ctx context.Context, chs []*chain, n int, path refreshPath) time.Duration {
	var (
		left = new(atomic.Int64)
		wg   sync.WaitGroup
		errs = make([]error, len(chs))
	)
	left.Store(int64(n))
	start := time.Now()
	for i, ch := range chs {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if errs[i] = path(ctx, ch); errs[i] != nil {
					left.Store(math.MinInt64 / 2) // the others stop too
					return
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return d
}
