package main

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/invariant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store/postgres"
)

// envPGRestart enables TestPostgresRestart, which stops the machine's
// PostgreSQL cluster: every other test using it at the time would fail, so
// it runs on its own (.ci/run runs it after the suite).
const envPGRestart = "GRANTKIT_TEST_PG_RESTART"

// pgCluster runs pg_ctlcluster action on the local cluster.
func pgCluster(t *testing.T, action string) {
	t.Helper()
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) == 0 {
		t.Fatalf("no local PostgreSQL cluster: %v", err)
	}
	args := []string{"--skip-systemctl-redirect", versions[0].Name(), "main", action}
	if action == "stop" {
		args = append(args, "--", "-m", "fast")
	}
	if out, err := exec.Command("pg_ctlcluster", args...).CombinedOutput(); err != nil {
		t.Fatalf("pg_ctlcluster %s: %v\n%s", action, err, out)
	}
}

// TestPostgresRestart stops PostgreSQL in the middle of a load against the
// example server and starts it again: while it is down every token
// request is a 5xx server_error without a token — never a 200, never an
// invalid_grant, which would tell the client its grant is gone — new
// authorizations and refreshes succeed again within seconds of the
// restart, and the invariant checker finds nothing afterwards.
func TestPostgresRestart(t *testing.T) {
	if os.Getenv(envPGRestart) != "1" {
		t.Skipf("set %s=1 to stop and start the local PostgreSQL cluster", envPGRestart)
	}
	pool := testdb.Pool(t)
	schema := testdb.NewSchema(t, pool)
	srv := start(t, "-db", os.Getenv(testdb.EnvDSN), "-db-schema", schema, "-dev-login", "alice")
	l := &load{t: t, base: srv.base, redeemed: invariant.Redeemed{}, http: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	cl := stressClient{id: demoClientID, redirect: demoRedirect}

	var down atomic.Bool
	var downErrs, downOK, downOther, after5xx atomic.Int64
	var recovered atomic.Int64 // unix nanos of the first success after the restart
	var restartedAt atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var rt string
			for {
				select {
				case <-stop:
					return
				default:
				}
				form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {cl.id}}
				if rt == "" {
					code, verifier, ok := l.code(cl)
					if !ok {
						if down.Load() || restartedAt.Load() != 0 && recovered.Load() == 0 {
							downErrs.Add(1)
							time.Sleep(20 * time.Millisecond)
							continue
						}
						after5xx.Add(1)
						continue
					}
					form = url.Values{"grant_type": {"authorization_code"}, "code": {code},
						"redirect_uri": {cl.redirect}, "client_id": {cl.id}, "code_verifier": {verifier}}
				}
				tok, status, errCode := l.token(form)
				isDown := down.Load()
				switch {
				case status == http.StatusOK:
					rt = tok.RefreshToken
					if isDown {
						downOK.Add(1)
					}
					if at := restartedAt.Load(); at != 0 {
						recovered.CompareAndSwap(0, time.Now().UnixNano())
					}
				case status >= 500 && errCode == "server_error":
					// The request may have committed before the answer was
					// lost: the chain's state is unknown, start another.
					rt = ""
					if isDown || restartedAt.Load() != 0 && recovered.Load() == 0 {
						downErrs.Add(1)
						time.Sleep(20 * time.Millisecond)
					} else {
						after5xx.Add(1)
					}
				case status == http.StatusBadRequest && errCode == "invalid_grant" && !isDown:
					rt = "" // e.g. a chain whose last answer was lost, presented again: reuse
				default:
					if isDown {
						downOther.Add(1)
					}
					l.bad("token endpoint (database down: %v): %d %s", isDown, status, errCode)
					rt = ""
				}
			}
		})
	}
	time.Sleep(time.Second)
	down.Store(true)
	pgCluster(t, "stop")
	time.Sleep(2 * time.Second)
	pgCluster(t, "start")
	restartedAt.Store(time.Now().UnixNano())
	down.Store(false)
	deadline := time.Now().Add(30 * time.Second)
	for recovered.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	if recovered.Load() == 0 {
		t.Fatal("no request succeeded within 30 s of the restart")
	}
	recovery := time.Duration(recovered.Load() - restartedAt.Load())
	t.Logf("while down: %d requests failed cleanly (5xx server_error), %d succeeded, %d other; first success %s after the restart; %d 5xx after recovery",
		downErrs.Load(), downOK.Load(), downOther.Load(), recovery.Round(time.Millisecond), after5xx.Load())
	if downErrs.Load() == 0 {
		t.Error("no request saw the database down: the test proves nothing")
	}
	if downOK.Load() != 0 || downOther.Load() != 0 {
		t.Errorf("while the database was down %d requests succeeded and %d got another answer; want only 5xx",
			downOK.Load(), downOther.Load())
	}
	if n := l.unexpected.Load(); n != 0 {
		t.Errorf("%d answers the protocol does not allow", n)
	}
	if err := srv.stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	s, err := postgres.New(testdb.Pool(t), postgres.Config{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range invariant.Check(testdb.Snapshot(t, s), l.minted, l.redeemed) {
		t.Errorf("invariant after the restart: %s", v)
	}
}

// code runs the dev-login authorization for cl and returns the code and
// its verifier; false when the server did not redirect with a code (the
// database is down: a 5xx page or server_error redirect).
func (l *load) code(cl stressClient) (code, verifier string, ok bool) {
	verifier, challenge := pkce()
	q := url.Values{"response_type": {"code"}, "client_id": {cl.id}, "redirect_uri": {cl.redirect},
		"state": {"s"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}, "scope": {"mcp:tools"}}
	resp, err := l.http.Get(l.base + httpapi.DefaultPaths.Authorize + "?" + q.Encode())
	if err != nil {
		return "", "", false
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		if resp.StatusCode < 500 && !strings.Contains(resp.Header.Get("Location"), "error=server_error") {
			l.bad("authorize: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		return "", "", false
	}
	return loc.Query().Get("code"), verifier, true
}
