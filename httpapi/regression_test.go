package httpapi_test

// Regression tests named after the vulnerability classes peer OAuth
// libraries shipped (issue 14). Each drives the HTTP surface a client
// would use, on SQLite and PostgreSQL.

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// TestCVE_2020_15223_RevokeStoreError: fosite answered a revocation 200
// although the store failed to revoke, so the client dropped a token that
// stayed valid. Here a revocation whose store fails at any call is a 500,
// and the refresh token still works afterwards — it was not revoked, and
// the client was not told it was; only a revocation that committed is a
// 200, after which the token is dead.
func TestCVE_2020_15223_RevokeStoreError(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		probeEnv := newEnv(t, db)
		probeSession := probeEnv.Login(probeEnv.Client(testenv.Confidential), "alice")
		probe := faultstore.Wrap(probeEnv.Store, 0)
		if rec := serve(probeEnv.handlerOver(probe).Revocation(), revokeRequest(probeSession)); rec.Code != http.StatusOK {
			t.Fatalf("probe revocation: %d %s", rec.Code, rec.Body)
		}
		calls := probe.Trace()

		for k := 1; k <= len(calls); k++ {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			rec := serve(e.handlerOver(faultstore.Wrap(e.Store, k)).Revocation(), revokeRequest(s))
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("store failure at call %d (%s): revocation answered %d, want 500", k, calls[k-1], rec.Code)
			}
			if _, err := e.Server.Refresh(context.Background(), s.RefreshRequest(s.Resp.RefreshToken)); err != nil {
				t.Errorf("store failure at call %d (%s): the token is unusable (%v) although the revocation failed",
					k, calls[k-1], err)
			}
		}
		s := e.Login(e.Client(testenv.Confidential), "alice")
		if rec := serve(e.H.Revocation(), revokeRequest(s)); rec.Code != http.StatusOK {
			t.Fatalf("revocation without failure: %d", rec.Code)
		}
		if g := e.Grant(s.Grant.ID); g.Status != store.GrantRevoked {
			t.Errorf("after a 200 the grant is %s, want revoked", g.Status)
		}
	})
}

// revokeRequest is s's client revoking its refresh token (RFC 7009 §2.1).
func revokeRequest(s testenv.Session) req {
	return post(revokePath, form("token", s.Resp.RefreshToken)).basic(s.Client.ID, s.Client.Secret)
}

// TestCVE_2020_15234_RedirectURICase: fosite compared redirect URIs case-
// insensitively, so https://APP.example/cb matched a registered
// https://app.example/cb. Here the comparison is exact (RFC 6749 §3.1.2.3,
// RFC 9700 §4.1.3): every variant in case, escaping or trailing slash is
// an invalid_redirect_uri page, never a redirect, and changes nothing.
func TestCVE_2020_15234_RedirectURICase(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e, _ := authEnv(t, db)
		c := e.Client()
		before := e.Snapshot()
		for _, uri := range []string{
			"https://APP.example/cb", "https://app.example/CB", "HTTPS://app.example/cb", "https://app.EXAMPLE/cb",
			"https://app.example/Cb", "https://app.example/%63b", "https://app.example//cb", "https://app.example/cb/",
			"https://app.example:443/cb", "https://app.example/./cb",
		} {
			t.Run(uri, func(t *testing.T) {
				rec := serve(e.Mux, get("/authorize?"+authorizeQuery(c.ID, "redirect_uri", uri), "alice"))
				wantShown(t, rec, http.StatusBadRequest, "invalid_redirect_uri")
			})
		}
		unchanged(t, before, e.Snapshot())
	})
}

// errLiveness is a liveness check that could not answer.
var errLiveness = errors.New("directory unavailable")

// TestCVE_2023_22492_DeactivatedSubject: ZITADEL kept refreshing tokens of
// a deactivated user. Here the host's liveness check is asked at every
// refresh (SPEC §4.2 step 3): once the subject is deactivated the refresh
// is invalid_grant with no token, and a failing check is a server_error,
// never a token.
func TestCVE_2023_22492_DeactivatedSubject(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		var deactivated sync.Map // subject → true
		var checkFails atomic.Bool
		live := func(_ context.Context, g store.Grant) (bool, error) {
			if checkFails.Load() {
				return false, errLiveness
			}
			_, gone := deactivated.Load(g.Subject)
			return !gone, nil
		}
		e := newEnvWith(t, db, []testenv.Option{testenv.WithServerConfig(func(c *token.ServerConfig) { c.Liveness = live })})
		s := e.Login(e.Client(), "alice")
		refresh := func(rt string) req {
			return post("/token", form("grant_type", "refresh_token", "client_id", s.Client.ID, "refresh_token", rt))
		}
		rec := serve(e.Mux, refresh(s.Resp.RefreshToken))
		ok := tokens(t, rec)

		deactivated.Store("alice", true)
		before := e.Snapshot()
		rec = serve(e.Mux, refresh(ok.RefreshToken))
		wantError(t, rec, http.StatusBadRequest, "invalid_grant")
		if strings.Contains(rec.Body.String(), "access_token") {
			t.Errorf("a deactivated subject's refresh returned a token: %s", rec.Body)
		}
		unchanged(t, before, e.Snapshot())

		deactivated.Delete("alice")
		checkFails.Store(true)
		rec = serve(e.Mux, refresh(ok.RefreshToken))
		wantError(t, rec, http.StatusInternalServerError, "server_error")
		unchanged(t, before, e.Snapshot())
	})
}

// TestGHSA_r9w3_57w2_gch2_CursorSQL: a pagination cursor reached SQL in
// a peer. Here a cursor is an authenticated opaque value: SQL in it, raw
// or base64-wrapped, is invalid_request, every table is unchanged, and
// the listing still works.
func TestGHSA_r9w3_57w2_gch2_CursorSQL(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := sessionsEnv(t, db)
		e.connect("Acme", "alice", "", false)
		e.connect("Acme 2", "alice", "", false)
		b64 := base64.RawURLEncoding.EncodeToString
		before := e.Snapshot()
		for _, cursor := range []string{
			"' OR 1=1 --", "1; DROP TABLE grants; --", "') UNION SELECT id, client_id FROM clients --",
			b64([]byte(`{"t":"2026-01-01T00:00:00Z","id":"x' OR '1'='1"}`)),
			b64([]byte("'; DELETE FROM grantkit.grants; --")), b64([]byte(`0|' OR 1=1 --`)),
		} {
			t.Run(cursor, func(t *testing.T) {
				rec := serve(e.Mux, apiGet("/sessions?"+url.Values{"limit": {"1"}, "cursor": {cursor}}.Encode()).by("alice"))
				wantError(t, rec, http.StatusBadRequest, "invalid_request")
			})
		}
		unchanged(t, before, e.Snapshot())
		if l := list(t, serve(e.Mux, apiGet("/sessions").by("alice"))); len(l.Sessions) != 2 {
			t.Errorf("after the attempts the listing has %d sessions, want 2", len(l.Sessions))
		}
	})
}

// TestFosite778_CodeRedeemedTwice: fosite let two concurrent requests
// redeem one authorization code. Here 16 token requests with one code at
// once: exactly one 200; every other is invalid_grant; the replay revokes
// the grant (RFC 6749 §4.1.2), so the winner's tokens are dead.
func TestFosite778_CodeRedeemedTwice(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		c := e.Client()
		ap := e.Authorize(c, "alice")
		r := post("/token", form(append([]string{"client_id", c.ID}, codeForm(ap.Code, ap.RedirectURI)...)...))
		const racers = 16
		recs := make([]*httptest.ResponseRecorder, racers)
		fns := make([]func(), racers)
		for i := range fns {
			fns[i] = func() { recs[i] = serve(e.Mux, r) }
		}
		testdb.Together(fns...)
		var winner []*httptest.ResponseRecorder
		for _, rec := range recs {
			if rec.Code == http.StatusOK {
				winner = append(winner, rec)
				continue
			}
			wantError(t, rec, http.StatusBadRequest, "invalid_grant")
		}
		if len(winner) != 1 {
			t.Fatalf("%d exchanges of one code succeeded, want exactly 1", len(winner))
		}
		won := tokens(t, winner[0])
		if g := e.Grant(ap.Grant.ID); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonCodeReused {
			t.Errorf("grant %s (%q), want revoked for code reuse", g.Status, g.RevokeReason)
		}
		if _, err := e.Verify(won.AccessToken); err == nil {
			t.Error("the winner's access token still verifies after the replay revoked its grant")
		}
	})
}
