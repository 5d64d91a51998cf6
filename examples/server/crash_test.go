package main

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/invariant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store/sqlite"
)

// acked is what a client was told: the refresh tokens the server answered
// with 200, and the ones it confirmed revoked.
type acked struct {
	mu       sync.Mutex
	issued   []string // refresh tokens from a 200
	revoked  []string // refresh tokens whose revocation was a 200
	redeemed invariant.Redeemed
}

// TestCrashRestartSQLite kills the server process (SIGKILL) in the middle
// of a load on a SQLite file and starts it again on the same file: every
// refresh token a client received is in the database, every revocation a
// client was told about holds, the invariants hold, and the restarted
// server serves the chains that were idle at the kill.
func TestCrashRestartSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grantkit.db")
	args := []string{"-db", "sqlite:" + path, "-dev-login", "alice"}
	first := startChild(t, args...)

	a := &acked{redeemed: invariant.Redeemed{}}
	hc := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	l := &load{t: t, base: first.base, http: hc, redeemed: a.redeemed}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Each worker has its own client for its load, whose grant its
	// revocations end, and another for a chain it leaves idle.
	idle := make([]tokenChain, 4)
	for w := range idle {
		busy, quiet := l.register(2*w), l.register(2*w+1)
		wg.Go(func() { idle[w] = crashWorker(l, a, stop, busy, quiet) })
	}
	time.Sleep(1500 * time.Millisecond)
	first.kill()
	close(stop)
	wg.Wait()

	second := startChild(t, args...)
	s, err := sqlite.Open(t.Context(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap := testdb.Snapshot(t, s)
	byHash := map[string]map[string]any{}
	for _, r := range snap["refresh_tokens"] {
		byHash[r["hash"].(string)] = r
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, rt := range a.issued {
		if byHash[hex.EncodeToString(secret.Hash(rt))] == nil {
			t.Errorf("a refresh token the server answered with 200 is not in the database after the restart")
		}
	}
	for _, rt := range a.revoked {
		if r := byHash[hex.EncodeToString(secret.Hash(rt))]; r == nil || r["revoked_at"] == nil {
			t.Errorf("a refresh token whose revocation was confirmed is active (or gone) after the restart: %v", r)
		}
	}
	for _, v := range invariant.Check(snap, l.minted, a.redeemed) {
		t.Errorf("invariant after the restart: %s", v)
	}
	served := 0
	l.base = second.base
	for w, c := range idle {
		if c.refresh == "" {
			t.Errorf("worker %d got no idle chain before the kill", w)
			continue
		}
		if _, status, code := l.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.refresh},
			"client_id": {c.client.id}}); status == http.StatusOK {
			served++
		} else {
			t.Errorf("worker %d's idle chain after the restart: %d %s, want 200", w, status, code)
		}
	}
	t.Logf("before the kill: %d refresh tokens issued, %d revocations confirmed; after the restart %d of %d idle chains refreshed",
		len(a.issued), len(a.revoked), served, len(idle))
	if len(a.issued) < 20 || len(a.revoked) == 0 {
		t.Errorf("the load before the kill was too small to prove anything")
	}
}

// crashWorker runs code flows, refreshes and revocations against l with
// client busy until stop or the server dies, recording what it was told
// in a. It returns a chain of client quiet it left idle from the start.
func crashWorker(l *load, a *acked, stop <-chan struct{}, busy, quiet stressClient) tokenChain {
	exchange := func(cl stressClient) (string, bool) {
		verifier, challenge := pkce()
		q := url.Values{"response_type": {"code"}, "client_id": {cl.id}, "redirect_uri": {cl.redirect},
			"state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "scope": {"mcp:tools"}}
		resp, err := l.http.Get(l.base + httpapi.DefaultPaths.Authorize + "?" + q.Encode())
		if err != nil {
			return "", false
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Query().Get("code") == "" {
			return "", false
		}
		tok, status, _ := l.token(url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {cl.redirect}, "client_id": {cl.id}, "code_verifier": {verifier}})
		if status != http.StatusOK {
			return "", false
		}
		a.mu.Lock()
		a.issued = append(a.issued, tok.RefreshToken)
		a.redeemed[loc.Query().Get("code")]++
		a.mu.Unlock()
		return tok.RefreshToken, true
	}
	rt, _ := exchange(quiet)
	idle := tokenChain{client: quiet, refresh: rt}
	for n := 0; ; n++ {
		select {
		case <-stop:
			return idle
		default:
		}
		rt, ok := exchange(busy)
		if !ok {
			return idle
		}
		for range 5 {
			tok, status, _ := l.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
				"client_id": {busy.id}})
			if status != http.StatusOK {
				break
			}
			rt = tok.RefreshToken
			a.mu.Lock()
			a.issued = append(a.issued, rt)
			a.mu.Unlock()
		}
		if n%3 == 0 {
			resp, err := l.http.PostForm(l.base+httpapi.DefaultPaths.Revocation, url.Values{"token": {rt},
				"client_id": {busy.id}})
			if err != nil {
				return idle
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				a.mu.Lock()
				a.revoked = append(a.revoked, rt)
				a.mu.Unlock()
			}
		}
	}
}
