package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// failUser, as userHeader (authorize_test.go), makes the tests' caller
// authenticator fail; "" or an absent header is nobody.
const failUser = "!fail"

// errDirectory is the failure of the tests' authenticator.
var errDirectory = errors.New("user directory unavailable")

// testCaller is the tests' Config.Caller.
func testCaller(r *http.Request) (session.Caller, error) {
	switch u := r.Header.Get(userHeader); u {
	case "":
		return session.Caller{}, httpapi.ErrUnauthenticated
	case failUser:
		return session.Caller{}, errDirectory
	default:
		return session.Caller{Subject: u, Kind: "user"}, nil
	}
}

// sessionsConfig is the session hooks of the tests: root is an admin,
// alice a member of tenant acme, alice is displayed as "Alice A.".
var sessionsConfig = session.Config{
	IsAdmin: func(_ context.Context, c session.Caller) (bool, error) { return c.Subject == "root", nil },
	IsMember: func(_ context.Context, c session.Caller, tenant string) (bool, error) {
		return c.Subject == "alice" && tenant == "acme", nil
	},
	DisplayNames: func(_ context.Context, subjects []string) (map[string]string, error) {
		return map[string]string{"alice": "Alice A."}, nil
	},
}

// withSessions configures the sessions API and page over m's grants with
// sessionsConfig and testCaller.
func withSessions(t *testing.T, m *grant.Manager) func(*httpapi.Config) {
	return func(cfg *httpapi.Config) {
		svc, err := session.New(m, sessionsConfig)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Sessions, cfg.Caller = svc, testCaller
	}
}

// sessionsEnv is newEnv with the sessions API and page mounted.
func sessionsEnv(t *testing.T, db testdb.DB, mut ...func(*httpapi.Config)) *env {
	t.Helper()
	e := &env{Env: testenv.New(t, db)}
	e.H = e.handler(e.Env, append([]func(*httpapi.Config){withSessions(t, e.Manager)}, mut...)...)
	e.Mux = http.NewServeMux()
	e.H.Mount(e.Mux)
	return e
}

// sessionsOver is a Handler with the sessions API over s (a wrapper of the
// env's store, such as a faultstore), configured like sessionsEnv's.
func (e *env) sessionsOver(s store.Store) *httpapi.Handler {
	e.T.Helper()
	m, srv := e.ServerOver(s)
	cfg := httpapi.Config{Grants: m, Tokens: srv, Minter: e.Minter}
	withSessions(e.T, m)(&cfg)
	h, err := httpapi.New(cfg)
	if err != nil {
		e.T.Fatal(err)
	}
	return h
}

// apiGet is a GET of target; apiDelete a DELETE.
func apiGet(target string) req {
	return req{method: http.MethodGet, target: target, header: http.Header{}}
}
func apiDelete(target string) req {
	return req{method: http.MethodDelete, target: target, header: http.Header{}}
}

// by sends r as user (testCaller's header).
func (r req) by(user string) req { return r.with(userHeader, user) }

// with sets header k to v.
func (r req) with(k, v string) req {
	h := r.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(k, v)
	r.header = h
	return r
}

// connect authorizes subject with a new client named name (dynamic when
// asked) in tenant, after advancing the clock a second so that creation
// times differ, and exchanges the code.
func (e *env) connect(name, subject, tenant string, dynamic bool) testenv.Session {
	e.T.Helper()
	e.Clock.Advance(time.Second)
	mut := []func(*grant.ClientMetadata){testenv.Named(name)}
	if dynamic {
		mut = append(mut, testenv.Dynamic)
	}
	c := e.Client(mut...)
	req := testenv.Request(c.ID, subject)
	req.Tenant = tenant
	ap := e.ActiveGrant(req)
	resp := e.Exchange(testenv.CodeRequest(c, ap))
	return testenv.Session{Client: c, Grant: e.Grant(ap.Grant.ID), Resp: resp}
}

// listing decodes a successful sessions listing.
type listing struct {
	Sessions   []map[string]any `json:"sessions"`
	NextCursor *string          `json:"next_cursor"`
}

func list(t *testing.T, rec *httptest.ResponseRecorder) listing {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	wantNoStore(t, rec)
	var l listing
	m := jsonBody(t, rec)
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, []string{"next_cursor", "sessions"}) {
		t.Errorf("listing has keys %v, want next_cursor and sessions", got)
	}
	arr, ok := m["sessions"].([]any)
	if !ok {
		t.Fatalf("sessions = %v, want an array", m["sessions"])
	}
	l.Sessions = []map[string]any{}
	for _, s := range arr {
		l.Sessions = append(l.Sessions, s.(map[string]any))
	}
	if c, ok := m["next_cursor"].(string); ok {
		l.NextCursor = &c
	} else if m["next_cursor"] != nil {
		t.Errorf("next_cursor = %v, want a string or null", m["next_cursor"])
	}
	return l
}

// listedIDs returns the ids of a listing's sessions, in order.
func listedIDs(l listing) []string {
	out := []string{}
	for _, s := range l.Sessions {
		out = append(out, s["id"].(string))
	}
	return out
}

// rfc3339 is t as the API shows it.
func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// TestSessionsList checks the listing's JSON exactly (SPEC §6): field
// names and values of a verified client used once and of a dynamic one
// never used, newest first, only the caller's own (of their kind), no-store.
func TestSessionsList(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := sessionsEnv(t, db)
		acme := e.connect("Acme Desktop", "alice", "acme", false)
		dyn := e.connect(`<b>"Claude"</b>`, "alice", "", true)
		e.connect("Other", "bob", "", false)
		used := e.Clock.Now().Add(time.Minute)
		if _, err := e.Store.TouchGrants(context.Background(), []string{acme.Grant.ID}, used, 0); err != nil {
			t.Fatal(err)
		}
		acmeG, dynG := e.Grant(acme.Grant.ID), e.Grant(dyn.Grant.ID)

		rec := serve(e.Mux, apiGet("/sessions").by("alice"))
		got := list(t, rec)
		want := listing{Sessions: []map[string]any{{
			"id": dynG.ID, "client_id": dyn.Client.ID, "client_name": `<b>"Claude"</b>`, "client_name_verified": false,
			"subject": "alice", "subject_display": "Alice A.", "tenant": "", "resource": testenv.Resource,
			"scopes": []any{"read", "write"}, "redirect_uri": testenv.RedirectURI,
			"created_at": rfc3339(dynG.CreatedAt), "last_used_at": nil,
		}, {
			"id": acmeG.ID, "client_id": acme.Client.ID, "client_name": "Acme Desktop", "client_name_verified": true,
			"subject": "alice", "subject_display": "Alice A.", "tenant": "acme", "resource": testenv.Resource,
			"scopes": []any{"read", "write"}, "redirect_uri": testenv.RedirectURI,
			"created_at": rfc3339(acmeG.CreatedAt), "last_used_at": rfc3339(acmeG.LastUsedAt),
		}}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("listing (-want +got):\n%s", d)
		}
		if acmeG.LastUsedAt.IsZero() {
			t.Error("fixture: TouchGrants set no last_used_at")
		}
		for _, s := range got.Sessions {
			for _, k := range []string{"created_at", "last_used_at"} {
				if v, ok := s[k].(string); ok {
					if _, err := time.Parse(time.RFC3339, v); err != nil || !strings.HasSuffix(v, "Z") {
						t.Errorf("%s = %q, not RFC 3339 in UTC", k, v)
					}
				}
			}
		}

		// Nobody else's: bob sees his one session, carol none.
		if got := list(t, serve(e.Mux, apiGet("/sessions").by("bob"))); len(got.Sessions) != 1 ||
			got.Sessions[0]["subject"] != "bob" || got.Sessions[0]["subject_display"] != nil {
			t.Errorf("bob's listing = %v", got)
		}
		if got := list(t, serve(e.Mux, apiGet("/sessions").by("carol"))); got.Sessions == nil || len(got.Sessions) != 0 {
			t.Errorf("carol's listing = %v, want an empty array", got.Sessions)
		}
	})
}

// TestSessionsPagination walks the listing with limit and cursor: every
// page but the last is full and has a next_cursor, the last has null, and
// the pages together are every session exactly once, newest first. A
// tenant filter and an admin's all=1 narrow and widen it.
func TestSessionsPagination(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := sessionsEnv(t, db)
		var want []string
		for i := range 5 {
			tenant := ""
			if i%2 == 0 {
				tenant = "acme"
			}
			want = append(want, e.connect(fmt.Sprintf("Client %d", i), "alice", tenant, false).Grant.ID)
		}
		bob := e.connect("Bob's", "bob", "", false).Grant.ID
		slices.Reverse(want)

		cases := []struct {
			name, user, query string
			limit             int
			want              []string
		}{
			{name: "limit 2", user: "alice", limit: 2, want: want},
			{name: "limit 1", user: "alice", limit: 1, want: want},
			{name: "limit 100", user: "alice", limit: 100, want: want},
			{name: "default limit", user: "alice", want: want},
			{name: "tenant acme", user: "alice", query: "tenant=acme", limit: 2, want: []string{want[0], want[2], want[4]}},
			{name: "admin, all", user: "root", query: "all=1", limit: 4, want: append([]string{bob}, want...)},
			{name: "admin, all, tenant", user: "root", query: "all=true&tenant=acme", limit: 2,
				want: []string{want[0], want[2], want[4]}},
			{name: "admin, own", user: "root", query: "all=0", want: []string{}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				var got []string
				cursor := ""
				for page := 0; ; page++ {
					q := []string{}
					if tc.query != "" {
						q = append(q, tc.query)
					}
					if tc.limit > 0 {
						q = append(q, fmt.Sprintf("limit=%d", tc.limit))
					}
					if cursor != "" {
						q = append(q, form("cursor", cursor))
					}
					l := list(t, serve(e.Mux, apiGet("/sessions?"+strings.Join(q, "&")).by(tc.user)))
					got = append(got, listedIDs(l)...)
					limit := tc.limit
					if limit == 0 {
						limit = httpapi.DefaultSessionsLimit
					}
					if l.NextCursor == nil {
						break
					}
					if len(l.Sessions) != limit {
						t.Errorf("page %d has %d sessions and a next_cursor, want %d", page, len(l.Sessions), limit)
					}
					if page > len(tc.want) {
						t.Fatal("the listing does not end")
					}
					cursor = *l.NextCursor
				}
				if got == nil {
					got = []string{}
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("ids across pages (-want +got):\n%s", d)
				}
			})
		}
	})
}

// TestSessionsRefused covers the listing's and the routes' refusals: bad
// limits, repeated or malformed parameters, forged cursors, a tenant the
// caller is not a member of, all=1 without being an admin, no caller, a
// failing authenticator, wrong methods (405 with the resource's Allow)
// and unknown paths. Each is a JSON error with no-store and changes
// nothing.
func TestSessionsRefused(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := sessionsEnv(t, db)
		s := e.connect("Acme", "alice", "", false)
		e.connect("Acme 2", "alice", "", false)
		next := list(t, serve(e.Mux, apiGet("/sessions?limit=1").by("alice"))).NextCursor
		if next == nil {
			t.Fatal("fixture: no second page")
		}
		forged := []byte(*next)
		forged[len(forged)/2] ^= 1
		foreign := list(t, serve(e.Mux, apiGet("/sessions?limit=1&all=1").by("root"))).NextCursor

		cases := []struct {
			name   string
			r      req
			status int
			code   string
			allow  string
		}{
			{name: "limit 0", r: apiGet("/sessions?limit=0"), status: 400, code: "invalid_request"},
			{name: "limit 101", r: apiGet("/sessions?limit=101"), status: 400, code: "invalid_request"},
			{name: "limit -1", r: apiGet("/sessions?limit=-1"), status: 400, code: "invalid_request"},
			{name: "limit abc", r: apiGet("/sessions?limit=abc"), status: 400, code: "invalid_request"},
			{name: "limit 1.5", r: apiGet("/sessions?limit=1.5"), status: 400, code: "invalid_request"},
			{name: "limit +2", r: apiGet("/sessions?limit=%2B2%20"), status: 400, code: "invalid_request"},
			{name: "limit twice", r: apiGet("/sessions?limit=1&limit=2"), status: 400, code: "invalid_request"},
			{name: "bad escape", r: apiGet("/sessions?limit=%zz"), status: 400, code: "invalid_request"},
			{name: "forged cursor", r: apiGet("/sessions?" + form("cursor", string(forged))), status: 400,
				code: "invalid_request"},
			{name: "garbage cursor", r: apiGet("/sessions?cursor=AAAA"), status: 400, code: "invalid_request"},
			{name: "cursor of another listing", r: apiGet("/sessions?" + form("cursor", *foreign)), status: 400,
				code: "invalid_request"},
			{name: "cursor not UTF-8", r: apiGet("/sessions?cursor=%ff"), status: 400, code: "invalid_request"},
			{name: "tenant with NUL", r: apiGet("/sessions?tenant=a%00b"), status: 400, code: "invalid_request"},
			{name: "tenant not a member", r: apiGet("/sessions?tenant=globex"), status: 403, code: "forbidden"},
			{name: "personal tenant without membership", r: apiGet("/sessions?tenant="), status: 403, code: "forbidden"},
			{name: "all, not an admin", r: apiGet("/sessions?all=1"), status: 403, code: "forbidden"},
			{name: "all, not a boolean", r: apiGet("/sessions?all=yes"), status: 400, code: "invalid_request"},
			{name: "no caller", r: apiGet("/sessions").by(""), status: 401, code: httpapi.CodeUnauthenticated},
			{name: "authenticator fails", r: apiGet("/sessions").by(failUser), status: 500, code: "server_error"},
			{name: "delete, no caller", r: apiDelete("/sessions/" + s.Grant.ID).by(""), status: 401,
				code: httpapi.CodeUnauthenticated},
			{name: "delete, authenticator fails", r: apiDelete("/sessions/" + s.Grant.ID).by(failUser), status: 500,
				code: "server_error"},
			{name: "POST the listing", r: post("/sessions", ""), status: 405, code: "invalid_request", allow: "GET, HEAD"},
			{name: "DELETE the listing", r: apiDelete("/sessions"), status: 405, code: "invalid_request", allow: "GET, HEAD"},
			{name: "GET a session", r: apiGet("/sessions/" + s.Grant.ID), status: 405, code: "invalid_request",
				allow: "DELETE"},
			{name: "POST a session", r: post("/sessions/"+s.Grant.ID, ""), status: 405, code: "invalid_request",
				allow: "DELETE"},
			{name: "DELETE below a session", r: apiDelete("/sessions/" + s.Grant.ID + "/x"), status: 404, code: "not_found"},
			{name: "DELETE with an empty id", r: apiDelete("/sessions/"), status: 404, code: "not_found"},
			{name: "DELETE an escaped slash", r: apiDelete("/sessions/a%2Fb"), status: 404, code: "not_found"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.r
				if _, ok := r.header[userHeader]; !ok {
					r = r.by("alice")
				}
				before := e.Snapshot()
				rec := serve(e.Mux, r)
				wantError(t, rec, tc.status, tc.code)
				wantNoStore(t, rec)
				if got := rec.Header().Get("Allow"); got != tc.allow {
					t.Errorf("Allow = %q, want %q", got, tc.allow)
				}
				if tc.status == 500 && strings.Contains(rec.Body.String(), errDirectory.Error()) {
					t.Errorf("a 500 shows the internal error: %s", rec.Body)
				}
				unchanged(t, before, e.Snapshot())
			})
		}
	})
}

// TestSessionsDelete revokes through DELETE (SPEC §6): 204 with no body;
// afterwards the session is absent from the listing, its refresh token
// fails with invalid_grant and its access token fails the Verifier. A
// second DELETE, an unknown id and another subject's session are refused
// (404, 404, 403) without changing a row; an admin may revoke anyone's.
func TestSessionsDelete(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := sessionsEnv(t, db)
		mine := e.connect("Acme", "alice", "", false)
		kept := e.connect("Kept", "alice", "", false)
		bobs := e.connect("Bob's", "bob", "", false)

		refused := []struct {
			name, user, id string
			status         int
			code           string
		}{
			{name: "another subject's", user: "bob", id: mine.Grant.ID, status: 403, code: "forbidden"},
			{name: "another kind's", user: "alice", id: bobs.Grant.ID, status: 403, code: "forbidden"},
			{name: "unknown", user: "alice", id: testdb.NewID(), status: 404, code: "not_found"},
			{name: "not a uuid", user: "alice", id: "x' OR '1'='1", status: 404, code: "not_found"},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				before := e.Snapshot()
				rec := serve(e.Mux, apiDelete("/sessions/"+strings.ReplaceAll(tc.id, " ", "%20")).by(tc.user))
				wantError(t, rec, tc.status, tc.code)
				wantNoStore(t, rec)
				unchanged(t, before, e.Snapshot())
			})
		}

		rec := serve(e.Mux, apiDelete("/sessions/"+mine.Grant.ID).by("alice"))
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Fatalf("DELETE = %d %q, want 204 and no body", rec.Code, rec.Body)
		}
		wantNoStore(t, rec)
		if got := listedIDs(list(t, serve(e.Mux, apiGet("/sessions").by("alice")))); !slices.Equal(got, []string{kept.Grant.ID}) {
			t.Errorf("after the DELETE alice lists %v, want only %v", got, kept.Grant.ID)
		}
		if _, err := e.Refresh(mine.Client, mine.Resp.RefreshToken); !errors.Is(err, token.ErrInvalidGrant) {
			t.Errorf("refresh after the DELETE = %v, want invalid_grant", err)
		}
		if _, err := e.Verify(mine.Resp.AccessToken); !errors.Is(err, token.ErrInvalidToken) {
			t.Errorf("access token after the DELETE = %v, want invalid_token", err)
		}
		if n := e.AuditCount(mine.Grant.ID, grant.EventSessionRevoked); n != 1 {
			t.Errorf("%d session.revoked events, want 1", n)
		}
		if _, err := e.Verify(kept.Resp.AccessToken); err != nil {
			t.Errorf("the other session stopped working: %v", err)
		}

		before := e.Snapshot()
		wantError(t, serve(e.Mux, apiDelete("/sessions/"+mine.Grant.ID).by("alice")), 404, "not_found")
		unchanged(t, before, e.Snapshot())

		if rec := serve(e.Mux, apiDelete("/sessions/"+bobs.Grant.ID).by("root")); rec.Code != http.StatusNoContent {
			t.Errorf("admin DELETE = %d %s, want 204", rec.Code, rec.Body)
		}
		if g := e.Grant(bobs.Grant.ID); g.Status != store.GrantRevoked {
			t.Errorf("bob's grant is %s after the admin's DELETE", g.Status)
		}
	})
}

// TestSessionsCrossOrigin: an unsafe request a browser sends from another
// origin (Sec-Fetch-Site: cross-site, or an Origin that is not the Host)
// is refused with 403 before the caller is authenticated, and nothing is
// revoked; same-origin and non-browser requests pass, and so does an
// origin the host trusts through Config.CrossOrigin.
func TestSessionsCrossOrigin(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		cop := http.NewCrossOriginProtection()
		if err := cop.AddTrustedOrigin("https://admin.example"); err != nil {
			t.Fatal(err)
		}
		e := sessionsEnv(t, db, func(cfg *httpapi.Config) { cfg.CrossOrigin = cop })
		cases := []struct {
			name    string
			headers []string
			allowed bool
		}{
			{name: "Sec-Fetch-Site cross-site", headers: []string{"Sec-Fetch-Site", "cross-site"}},
			{name: "Sec-Fetch-Site same-site", headers: []string{"Sec-Fetch-Site", "same-site"}},
			{name: "Origin of another host", headers: []string{"Origin", "https://evil.example"}},
			{name: "Origin null", headers: []string{"Origin", "null"}},
			{name: "cross-site despite a same-host Origin",
				headers: []string{"Sec-Fetch-Site", "cross-site", "Origin", "http://example.com"}},
			{name: "Sec-Fetch-Site same-origin", headers: []string{"Sec-Fetch-Site", "same-origin"}, allowed: true},
			{name: "Sec-Fetch-Site none", headers: []string{"Sec-Fetch-Site", "none"}, allowed: true},
			{name: "same-host Origin", headers: []string{"Origin", "http://example.com"}, allowed: true},
			{name: "no browser headers", allowed: true},
			{name: "trusted origin", headers: []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://admin.example"},
				allowed: true},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				s := e.connect("Acme "+tc.name, "alice", "", false)
				r := apiDelete("/sessions/" + s.Grant.ID).by("alice")
				for i := 0; i < len(tc.headers); i += 2 {
					r = r.with(tc.headers[i], tc.headers[i+1])
				}
				before := e.Snapshot()
				rec := serve(e.Mux, r)
				if tc.allowed {
					if rec.Code != http.StatusNoContent {
						t.Fatalf("DELETE = %d %s, want 204", rec.Code, rec.Body)
					}
					return
				}
				wantError(t, rec, http.StatusForbidden, grantkit.CodeForbidden)
				wantNoStore(t, rec)
				unchanged(t, before, e.Snapshot())
				// The listing (a safe method) is never refused.
				list(t, serve(e.Mux, apiGet("/sessions").by("alice").with(tc.headers[0], tc.headers[1])))
			})
		}
		// Refused before authentication: no caller is asked about.
		rec := serve(e.Mux, apiDelete("/sessions/"+testdb.NewID()).by(failUser).with("Sec-Fetch-Site", "cross-site"))
		wantError(t, rec, http.StatusForbidden, grantkit.CodeForbidden)
	})
}

// TestSessionsFaults fails, one at a time, every store call of a listing
// and of a DELETE (faultstore, k = 1 … Calls): each is answered
// server_error 500 with no-store and a generic description, and leaves
// every table as it was. Without a failure the same requests succeed.
func TestSessionsFaults(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := sessionsEnv(t, db)
		for i := range 3 {
			e.connect(fmt.Sprintf("Client %d", i), "alice", "", false)
		}
		cases := []struct {
			name string
			r    func() req // a fresh request, on a fresh session for a DELETE
			want int
		}{
			{name: "list", want: http.StatusOK, r: func() req { return apiGet("/sessions?limit=2").by("alice") }},
			{name: "list, tenant", want: http.StatusOK, r: func() req { return apiGet("/sessions?tenant=acme").by("alice") }},
			{name: "delete", want: http.StatusNoContent, r: func() req {
				return apiDelete("/sessions/" + e.connect("Doomed", "alice", "", false).Grant.ID).by("alice")
			}},
			{name: "delete, admin", want: http.StatusNoContent, r: func() req {
				return apiDelete("/sessions/" + e.connect("Doomed", "bob", "", false).Grant.ID).by("root")
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				count := faultstore.Wrap(e.Store, 0)
				mux := http.NewServeMux()
				e.sessionsOver(count).Mount(mux)
				if rec := serve(mux, tc.r()); rec.Code != tc.want {
					t.Fatalf("without a failure: %d %s, want %d", rec.Code, rec.Body, tc.want)
				}
				calls := count.Calls()
				if calls == 0 {
					t.Fatal("the request made no store call")
				}
				r := tc.r()
				for _, f := range faults(calls) {
					k := f.k
					mux := http.NewServeMux()
					e.sessionsOver(f.store(e.Store)).Mount(mux)
					before := e.Snapshot()
					rec := f.serve(t, mux, r)
					wantError(t, rec, http.StatusInternalServerError, "server_error")
					wantNoStore(t, rec)
					if strings.Contains(rec.Body.String(), "faultstore") {
						t.Errorf("step %d: the 500 shows the internal error: %s", k, rec.Body)
					}
					unchanged(t, before, e.Snapshot())
				}
			})
		}
	})
}

// TestNewSessions: New refuses Sessions without a Caller and a Sessions
// or Page path that Mount could not register as one literal path; Mount
// registers neither endpoint without Sessions.
func TestNewSessions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		svc, err := session.New(e.Manager, session.Config{})
		if err != nil {
			t.Fatal(err)
		}
		base := httpapi.Config{Grants: e.Manager, Tokens: e.Server, Minter: e.Minter}
		cases := []struct {
			name string
			mut  func(*httpapi.Config)
			ok   bool
		}{
			{name: "sessions and caller", ok: true, mut: func(c *httpapi.Config) { c.Sessions, c.Caller = svc, testCaller }},
			{name: "no sessions", ok: true, mut: func(c *httpapi.Config) {}},
			{name: "sessions without a caller", mut: func(c *httpapi.Config) { c.Sessions = svc }},
			{name: "sessions path with a trailing slash", mut: func(c *httpapi.Config) { c.Paths.Sessions = "/sessions/" }},
			{name: "relative page path", mut: func(c *httpapi.Config) { c.Paths.Page = "clients" }},
			{name: "page path with a wildcard", mut: func(c *httpapi.Config) { c.Paths.Page = "/c/{id}" }},
			{name: "page path with a space", mut: func(c *httpapi.Config) { c.Paths.Page = "/c lients" }},
			{name: "one path for both", mut: func(c *httpapi.Config) { c.Paths.Page = "/sessions" }},
			{name: "other paths", ok: true, mut: func(c *httpapi.Config) {
				c.Sessions, c.Caller = svc, testCaller
				c.Paths.Sessions, c.Paths.Page = "/api/v1/sessions", "/account/clients"
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				cfg := base
				tc.mut(&cfg)
				if _, err := httpapi.New(cfg); (err == nil) != tc.ok {
					t.Errorf("New = %v, want ok %v", err, tc.ok)
				}
			})
		}

		// Without Sessions the mux knows neither path.
		for _, target := range []string{"/sessions", "/sessions/" + testdb.NewID(), "/connected-clients"} {
			if rec := serve(e.Mux, apiGet(target).by("alice")); rec.Code != http.StatusNotFound {
				t.Errorf("GET %s without Sessions = %d, want the mux's 404", target, rec.Code)
			}
		}
		// At other paths, the routes follow them.
		cfg := base
		withSessions(t, e.Manager)(&cfg)
		cfg.Paths.Sessions, cfg.Paths.Page = "/api/v1/sessions", "/account/clients"
		h, err := httpapi.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		h.Mount(mux)
		s := e.connect("Acme", "alice", "", false)
		if got := listedIDs(list(t, serve(mux, apiGet("/api/v1/sessions").by("alice")))); !slices.Equal(got, []string{s.Grant.ID}) {
			t.Errorf("listing at the other path = %v", got)
		}
		body := wantPage(t, serve(mux, apiGet("/account/clients").by("alice")), http.StatusOK)
		wantIn(t, body, `action="/account/clients"`)
		rec := serve(mux, post("/account/clients", form("id", s.Grant.ID, "confirm", "1")).by("alice"))
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account/clients?revoked=1" {
			t.Errorf("revoke at the other path = %d %q", rec.Code, rec.Header().Get("Location"))
		}
		wantError(t, serve(mux, apiDelete("/api/v1/sessions/"+s.Grant.ID).by("alice")), 404, "not_found")
	})
}
