package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantkit/grantkit/examples/demohost"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/invariant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/sweep"
)

// Stress settings: GRANTKIT_STRESS_DURATION (a Go duration; default 30 s
// in CI, 3 s otherwise) and GRANTKIT_STRESS_WORKERS (default 8).
const (
	envStressDuration = "GRANTKIT_STRESS_DURATION"
	envStressWorkers  = "GRANTKIT_STRESS_WORKERS"
	stressClients     = 4 // registered by DCR, besides the demo client
	stressRedirect    = "http://127.0.0.1:8765/stress"
)

// TestStress runs a mixed load over HTTP against the example server — on
// file SQLite and, when GRANTKIT_TEST_POSTGRES is set, PostgreSQL —
// bounded in time: authorizations and code exchanges, code replays,
// refreshes, replays of rotated refresh tokens, RFC 7009 revocations,
// revocations on the sessions API, calls to the protected API, client
// material changes and sweeps (the last two through a second Manager on
// the same database, as another instance would). Every answer must be
// one the protocol allows for that request — never a 5xx — and
// afterwards the invariant checker must find nothing in the database.
func TestStress(t *testing.T) {
	d := 3 * time.Second
	if os.Getenv("CI") != "" {
		d = 30 * time.Second
	}
	if v := os.Getenv(envStressDuration); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("%s: %v", envStressDuration, err)
		}
	}
	workers := 8
	if v := os.Getenv(envStressWorkers); v != "" {
		if _, err := fmt.Sscan(v, &workers); err != nil || workers < 1 {
			t.Fatalf("%s=%q: want a positive number", envStressWorkers, v)
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "grantkit.db")
		stressOn(t, d, workers, []string{"-db", "sqlite:" + path}, func(ctx context.Context) (store.Store, error) {
			return sqlite.Open(ctx, sqlite.Config{Path: path})
		})
	})
	t.Run("postgres", func(t *testing.T) {
		pool := testdb.Pool(t) // skips without a DSN
		schema := testdb.NewSchema(t, pool)
		stressOn(t, d, workers, []string{"-db", os.Getenv(testdb.EnvDSN), "-db-schema", schema},
			func(context.Context) (store.Store, error) { return postgres.New(pool, postgres.Config{Schema: schema}) })
	})
}

// stressOn runs the load on the server started with dbArgs; open opens
// a second handle on its database.
func stressOn(t *testing.T, d time.Duration, workers int, dbArgs []string,
	open func(context.Context) (store.Store, error)) {
	srv := startChildWithStats(t, append(dbArgs, "-dev-login", "alice", "-registration-limit", "1000")...)
	idle0, err := srv.figures()
	if err != nil {
		t.Fatal(err)
	}
	other, err := open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := other.(interface{ Close() error }); ok {
		t.Cleanup(func() { _ = c.Close() })
	}
	mgr, err := grant.New(grant.Config{Store: other, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sweeper, err := sweep.New(mgr, sweep.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := &load{t: t, base: srv.base, mgr: mgr, sweeper: sweeper, redeemed: invariant.Redeemed{},
		http: &http.Client{Timeout: 30 * time.Second,
			Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	t.Cleanup(l.http.CloseIdleConnections)
	l.clients = append(l.clients, stressClient{id: demoClientID, redirect: demoRedirect})
	for i := range stressClients {
		l.clients = append(l.clients, l.register(i))
	}

	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { l.work(w, deadline) })
	}
	// The server's figures under load: at a tenth of the run (warmed up)
	// and at its end, and their peaks.
	samples := make(chan []childStats, 1)
	go func() { samples <- sampleFigures(t, srv, d, deadline) }()
	wg.Wait()
	under := <-samples
	l.http.CloseIdleConnections()
	idle1 := settledFigures(t, srv, idle0.Goroutines)
	if err := srv.stop(30 * time.Second); err != nil {
		t.Errorf("shutdown after the load: %v", err)
	}

	ops, total := l.counts()
	t.Logf("%s: %d operations in %s (%.0f/s) by %d workers: %s", t.Name(), total, d, float64(total)/d.Seconds(),
		workers, ops)
	if len(under) > 0 {
		first, last, peak := under[0], under[len(under)-1], peakFigures(under)
		t.Logf("server under load: at %s %s; at the end %s; peaks %d goroutines, heap %d KiB, RSS %d KiB",
			d/10, first, last, peak.Goroutines, peak.HeapKiB, peak.RSSKiB)
	}
	t.Logf("server idle: before the load %s; after it, connections closed, %s", idle0, idle1)
	if idle1.Goroutines > idle0.Goroutines+2 {
		t.Errorf("the idle server has %d goroutines after the load, %d before: a leak", idle1.Goroutines, idle0.Goroutines)
	}
	if n := l.unexpected.Load(); n > 0 {
		t.Errorf("%d answers the protocol does not allow (first ones above)", n)
	}
	violations := invariant.Check(testdb.Snapshot(t, other), l.minted, l.redeemed)
	for i, v := range violations {
		if i == 20 {
			t.Errorf("… %d violations in all", len(violations))
			break
		}
		t.Errorf("invariant: %s", v)
	}
	t.Logf("invariants checked: %d violations; %d access tokens and %d codes recorded", len(violations),
		len(l.minted), len(l.redeemed))
}

// sampleFigures reads the server's figures every tenth of the run d until
// deadline.
func sampleFigures(t *testing.T, srv *child, d time.Duration, deadline time.Time) []childStats {
	var out []childStats
	for {
		wait := time.Until(deadline)
		if wait <= 0 {
			return out
		}
		time.Sleep(min(wait, d/10))
		s, err := srv.figures()
		if err != nil {
			t.Errorf("server figures: %v", err)
			return out
		}
		out = append(out, s)
	}
}

// settledFigures reads the idle server's figures once its goroutines
// are back to at most want plus two, or after five seconds: the
// connections the client closed end on the server a moment later.
func settledFigures(t *testing.T, srv *child, want int) childStats {
	var s childStats
	var err error
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if s, err = srv.figures(); err != nil {
			t.Fatalf("server figures: %v", err)
		}
		if s.Goroutines <= want+2 {
			break
		}
	}
	return s
}

func peakFigures(ss []childStats) childStats {
	var p childStats
	for _, s := range ss {
		p.Goroutines, p.HeapKiB, p.RSSKiB = max(p.Goroutines, s.Goroutines), max(p.HeapKiB, s.HeapKiB), max(p.RSSKiB, s.RSSKiB)
	}
	return p
}

// stressClient is a client of the load.
type stressClient struct{ id, redirect string }

// tokenChain is a token chain a worker holds.
type tokenChain struct {
	client      stressClient
	refresh     string
	access      string
	rotatedAway []string // earlier refresh tokens of the chain
}

// load is one run's shared state.
type load struct {
	t       *testing.T
	base    string
	http    *http.Client
	mgr     *grant.Manager
	sweeper *sweep.Worker
	clients []stressClient
	ops     sync.Map // operation/outcome → *atomic.Int64

	mu         sync.Mutex
	minted     []invariant.Minted
	redeemed   invariant.Redeemed
	unexpected atomic.Int64
}

func (l *load) count(op string) {
	v, _ := l.ops.LoadOrStore(op, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (l *load) counts() (string, int64) {
	var keys []string
	var total int64
	m := map[string]int64{}
	l.ops.Range(func(k, v any) bool {
		n := v.(*atomic.Int64).Load()
		keys, m[k.(string)] = append(keys, k.(string)), n
		if !strings.HasSuffix(k.(string), "/setup") {
			total += n
		}
		return true
	})
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, m[k])
	}
	return strings.TrimSpace(b.String()), total
}

// bad records an answer the protocol does not allow.
func (l *load) bad(format string, a ...any) {
	if l.unexpected.Add(1) <= 10 {
		l.t.Errorf(format, a...)
	}
}

// register registers public client i by DCR.
func (l *load) register(i int) stressClient {
	redirect := fmt.Sprintf("%s/%d", stressRedirect, i)
	body := fmt.Sprintf(`{"client_name":"Stress %d","redirect_uris":[%q],"token_endpoint_auth_method":"none",`+
		`"grant_types":["authorization_code","refresh_token"],"scope":"mcp:tools"}`, i, redirect)
	resp, err := l.http.Post(l.base+httpapi.DefaultPaths.Registration, "application/json", strings.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
		l.t.Fatalf("registration: %d %v", resp.StatusCode, err)
	}
	l.count("register/setup")
	return stressClient{id: out.ClientID, redirect: redirect}
}

// work runs one worker's operations until deadline.
func (l *load) work(w int, deadline time.Time) {
	rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
	var chains []*tokenChain
	for time.Now().Before(deadline) {
		n := rng.IntN(100)
		var c *tokenChain
		if len(chains) > 0 {
			c = chains[rng.IntN(len(chains))]
		}
		drop := false
		switch {
		case c == nil || n < 15:
			if nc := l.authorize(rng, false); nc != nil {
				chains = append(chains, nc)
			}
		case n < 45:
			drop = !l.refresh(c)
		case n < 52:
			l.replayRefresh(c, rng)
		case n < 57:
			if nc := l.authorize(rng, true); nc != nil {
				chains = append(chains, nc)
			}
		case n < 64:
			l.revoke(c)
			drop = true
		case n < 70:
			l.revokeSession(rng)
		case n < 73:
			l.changeClient(rng)
		case n < 75:
			l.sweep()
		default:
			l.whoami(c)
		}
		if drop {
			chains = deleteChain(chains, c)
		}
		if len(chains) > 32 {
			chains = chains[1:]
		}
	}
}

func deleteChain(chains []*tokenChain, c *tokenChain) []*tokenChain {
	for i, x := range chains {
		if x == c {
			return append(chains[:i], chains[i+1:]...)
		}
	}
	return chains
}

// authorize runs the dev-login code flow for a random client and
// exchanges the code; with replay it redeems the code a second time,
// which must be invalid_grant (and revokes the grant). nil when the
// exchange was refused — the client's registration changed meanwhile.
func (l *load) authorize(rng *rand.Rand, replay bool) *tokenChain {
	cl := l.clients[rng.IntN(len(l.clients))]
	verifier, challenge := pkce()
	state := rand.N[uint64](1 << 62)
	q := url.Values{"response_type": {"code"}, "client_id": {cl.id}, "redirect_uri": {cl.redirect},
		"state": {fmt.Sprint(state)}, "code_challenge": {challenge}, "code_challenge_method": {"S256"},
		"scope": {"mcp:tools"}}
	resp, err := l.http.Get(l.base + httpapi.DefaultPaths.Authorize + "?" + q.Encode())
	if err != nil {
		l.bad("authorize: %v", err)
		return nil
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), cl.redirect+"?") {
		// A client whose redirect URIs a material change just replaced
		// is refused with a page; nothing else may happen.
		if resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), "redirect") {
			l.count("authorize/refused")
			return nil
		}
		l.bad("authorize: %d to %q: %.200s", resp.StatusCode, resp.Header.Get("Location"), body)
		return nil
	}
	code := loc.Query().Get("code")
	if code == "" {
		switch loc.Query().Get("error") {
		case "access_denied": // the dev login approves: the grant it reused was revoked meanwhile
			l.count("authorize/revoked-meanwhile")
			return nil
		case "invalid_scope": // a client change narrowed its scopes
			l.count("authorize/refused")
			return nil
		}
		l.bad("authorize: redirect without code: %s", loc)
		return nil
	}
	l.count("authorize/ok")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cl.redirect},
		"client_id": {cl.id}, "code_verifier": {verifier}}
	tok, status, errCode := l.token(form)
	c := (*tokenChain)(nil)
	switch {
	case status == http.StatusOK:
		l.count("exchange/ok")
		c = &tokenChain{client: cl, refresh: tok.RefreshToken, access: tok.AccessToken}
		l.mu.Lock()
		l.redeemed[code]++
		l.mu.Unlock()
	case status == http.StatusBadRequest && errCode == "invalid_grant":
		l.count("exchange/invalid_grant") // the grant was revoked between approval and exchange
		l.mu.Lock()
		l.redeemed[code] += 0
		l.mu.Unlock()
	default:
		l.bad("exchange: %d %s", status, errCode)
	}
	if !replay {
		return c
	}
	switch _, status, errCode := l.token(form); {
	case status == http.StatusBadRequest && errCode == "invalid_grant":
		l.count("code-replay/invalid_grant")
	case status == http.StatusOK:
		l.mu.Lock()
		l.redeemed[code]++
		l.mu.Unlock()
		l.bad("a code was redeemed twice")
	default:
		l.bad("code replay: %d %s", status, errCode)
	}
	return nil // the replay revoked the grant
}

// tokenAnswer is a token endpoint response.
type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// token posts form to the token endpoint and records the access token it
// returns.
func (l *load) token(form url.Values) (tokenAnswer, int, string) {
	resp, err := l.http.PostForm(l.base+httpapi.DefaultPaths.Token, form)
	if err != nil {
		return tokenAnswer{}, -1, err.Error()
	}
	defer resp.Body.Close()
	var tok tokenAnswer
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		return tokenAnswer{}, resp.StatusCode, "undecodable: " + err.Error()
	}
	if resp.StatusCode == http.StatusOK {
		if tok.AccessToken == "" || tok.RefreshToken == "" {
			return tok, -2, "200 without both tokens"
		}
		l.record(tok.AccessToken)
	}
	if resp.StatusCode != http.StatusOK && (tok.AccessToken != "" || tok.RefreshToken != "") {
		return tok, -3, "a token on an error"
	}
	return tok, resp.StatusCode, tok.Error
}

// record notes the grant and iat of access token raw (a JWT, RFC 7519).
func (l *load) record(raw string) {
	parts := strings.Split(raw, ".")
	var claims struct {
		GrantID string `json:"grant_id"`
		IAT     int64  `json:"iat"`
	}
	var payload []byte
	err := fmt.Errorf("not a JWS compact serialization")
	if len(parts) == 3 {
		payload, err = base64.RawURLEncoding.DecodeString(parts[1])
	}
	if err == nil {
		err = json.Unmarshal(payload, &claims)
	}
	if err != nil || claims.GrantID == "" {
		l.bad("access token: %v", err)
		return
	}
	l.mu.Lock()
	l.minted = append(l.minted, invariant.Minted{GrantID: claims.GrantID, IssuedAt: time.Unix(claims.IAT, 0)})
	l.mu.Unlock()
}

// refresh rotates c; false when its grant is gone (invalid_grant).
func (l *load) refresh(c *tokenChain) bool {
	tok, status, errCode := l.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh},
		"client_id": {c.client.id}})
	switch {
	case status == http.StatusOK:
		l.count("refresh/ok")
		c.rotatedAway = append(c.rotatedAway, c.refresh)
		c.refresh, c.access = tok.RefreshToken, tok.AccessToken
		return true
	case status == http.StatusBadRequest && errCode == "invalid_grant":
		l.count("refresh/invalid_grant")
	default:
		l.bad("refresh: %d %s", status, errCode)
	}
	return false
}

// replayRefresh presents a rotated-away token of c: reuse, always
// invalid_grant.
func (l *load) replayRefresh(c *tokenChain, rng *rand.Rand) {
	if len(c.rotatedAway) == 0 {
		l.refresh(c)
		return
	}
	old := c.rotatedAway[rng.IntN(len(c.rotatedAway))]
	switch _, status, errCode := l.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old},
		"client_id": {c.client.id}}); {
	case status == http.StatusBadRequest && errCode == "invalid_grant":
		l.count("refresh-replay/invalid_grant")
	default:
		l.bad("replay of a rotated refresh token: %d %s", status, errCode)
	}
}

// revoke revokes c's refresh token (RFC 7009): always 200.
func (l *load) revoke(c *tokenChain) {
	resp, err := l.http.PostForm(l.base+httpapi.DefaultPaths.Revocation, url.Values{"token": {c.refresh},
		"client_id": {c.client.id}})
	if err != nil {
		l.bad("revoke: %v", err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		l.bad("revoke: %d", resp.StatusCode)
		return
	}
	l.count("revoke/ok")
}

// revokeSession revokes one of alice's connected clients on the sessions
// API: 204, or 404 when another worker revoked it first.
func (l *load) revokeSession(rng *rand.Rand) {
	resp, err := l.http.Get(l.base + demohost.SessionsPath + "?limit=10")
	if err != nil {
		l.bad("sessions: %v", err)
		return
	}
	var listing struct {
		Sessions []struct {
			ID string `json:"id"`
		} `json:"sessions"`
	}
	err = json.NewDecoder(resp.Body).Decode(&listing)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		l.bad("sessions: %d %v", resp.StatusCode, err)
		return
	}
	l.count("sessions-list/ok")
	if len(listing.Sessions) == 0 {
		return
	}
	id := listing.Sessions[rng.IntN(len(listing.Sessions))].ID
	req, _ := http.NewRequest(http.MethodDelete, l.base+demohost.SessionsPath+"/"+url.PathEscape(id), nil)
	resp, err = l.http.Do(req)
	if err != nil {
		l.bad("session revoke: %v", err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		l.count("session-revoke/ok")
	case http.StatusNotFound:
		l.count("session-revoke/gone")
	default:
		l.bad("session revoke: %d", resp.StatusCode)
	}
}

// changeClient makes a material change to a DCR client through the second
// Manager: its redirect URI gains or loses a second one, so every grant
// of the client is revoked (SPEC §2.2).
func (l *load) changeClient(rng *rand.Rand) {
	cl := l.clients[1+rng.IntN(stressClients)]
	ctx := context.Background()
	cur, err := l.mgr.Client(ctx, cl.id)
	if err != nil {
		l.bad("reading client %s: %v", cl.id, err)
		return
	}
	uris := []string{cl.redirect}
	if len(cur.RedirectURIs) == 1 {
		uris = append(uris, cl.redirect+"-alt")
	}
	md := grant.ClientMetadata{ID: cl.id, Name: cur.Name, RedirectURIs: uris, GrantTypes: cur.GrantTypes,
		ResponseTypes: cur.ResponseTypes, Scopes: cur.Scopes, Dynamic: true}
	if _, _, err := l.mgr.UpdateClient(ctx, cl.id, md, "stress"); err != nil {
		l.bad("UpdateClient: %v", err)
		return
	}
	l.count("client-change/ok")
}

// sweep runs the sweep once through the second Manager.
func (l *load) sweep() {
	if _, err := l.sweeper.RunOnce(context.Background()); errors.Is(err, sweep.ErrBusy) {
		l.count("sweep/busy") // the server's own worker is sweeping
		return
	} else if err != nil {
		l.bad("sweep: %v", err)
		return
	}
	l.count("sweep/ok")
}

// whoami calls the protected API with c's access token: 200, or 401 once
// the grant is revoked.
func (l *load) whoami(c *tokenChain) {
	req, _ := http.NewRequest(http.MethodGet, l.base+"/api/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+c.access)
	resp, err := l.http.Do(req)
	if err != nil {
		l.bad("whoami: %v", err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		l.count("whoami/ok")
	case http.StatusUnauthorized:
		l.count("whoami/refused")
	default:
		l.bad("whoami: %d", resp.StatusCode)
	}
}
