package httpapi_test

import (
	"errors"
	"html"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// hostileName is a dynamic client's self-chosen name.
const hostileName = `<script>alert(1)</script>"'&`

// oddRedirect is a registered redirect URI with characters HTML escapes.
const oddRedirect = "https://app.example/cb?a=1&b='2'"

// connectAt is connect for a client registering redirectURI only.
func (e *env) connectAt(name, subject, redirectURI string, dynamic bool) testenv.Session {
	e.T.Helper()
	e.Clock.Advance(time.Second)
	mut := []func(*grant.ClientMetadata){testenv.Named(name), testenv.RedirectURIs(redirectURI)}
	if dynamic {
		mut = append(mut, testenv.Dynamic)
	}
	c := e.Client(mut...)
	req := testenv.Request(c.ID, subject)
	req.RedirectURI = redirectURI
	ap := e.ActiveGrant(req)
	resp := e.Exchange(testenv.CodeRequest(c, ap))
	return testenv.Session{Client: c, Grant: e.Grant(ap.Grant.ID), Resp: resp}
}

// wantPage fails unless rec is an HTML page with status and the page's
// security headers, and returns its body.
func wantPage(t *testing.T, rec *httptest.ResponseRecorder, status int) string {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	want := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	}
	got := map[string]string{}
	for k := range want {
		got[k] = rec.Header().Get(k)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("headers (-want +got):\n%s", d)
	}
	body := rec.Body.String()
	if strings.Contains(strings.ToLower(body), "<script") {
		t.Errorf("the page holds a script:\n%s", body)
	}
	return body
}

// wantIn fails unless body holds every one of parts.
func wantIn(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Errorf("the page lacks %q:\n%s", p, body)
		}
	}
}

// pagePost is a form POST to the page as user.
func pagePost(user string, kv ...string) req { return post("/connected-clients", form(kv...)).by(user) }

// TestPageList renders the caller's sessions: the name in quotes, escaped
// and marked unverified for a dynamic client; the redirect URI's host,
// resource, scopes, tenant, authorized and last-used times; a Revoke form
// per session posting its id to the page. Another subject's sessions are
// not shown.
func TestPageList(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := sessionsEnv(t, db)
		acme := e.connect("Acme Desktop", "alice", "acme", false)
		evil := e.connectAt(hostileName, "alice", "http://127.0.0.1:8765/cb", true)
		bobs := e.connect("Bob's tool", "bob", "", false)
		if _, err := e.Store.TouchGrants(t.Context(), []string{acme.Grant.ID}, testenv.T0.Add(time.Hour), 0); err != nil {
			t.Fatal(err)
		}

		body := wantPage(t, serve(e.Mux, apiGet("/connected-clients").by("alice")), http.StatusOK)
		wantIn(t, body,
			"“Acme Desktop”",
			"“&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;” <span class=\"unverified\">(unverified)</span>",
			"returns to <code>app.example</code>", "returns to <code>127.0.0.1:8765</code>",
			"<code>"+testenv.Resource+"</code>", "<code>read</code> <code>write</code>", "tenant acme",
			"authorized "+acme.Grant.CreatedAt.UTC().Format("2006-01-02 15:04")+" UTC",
			"last used 2026-03-14 16:09 UTC", "last used never",
			`<input type="hidden" name="id" value="`+acme.Grant.ID+`">`,
			`<input type="hidden" name="id" value="`+evil.Grant.ID+`">`,
			`<form method="post" action="/connected-clients">`)
		if strings.Count(body, "(unverified)") != 1 {
			t.Errorf("want exactly one unverified mark:\n%s", body)
		}
		if strings.Contains(body, bobs.Grant.ID) || strings.Contains(body, "Bob") {
			t.Errorf("alice's page shows bob's session:\n%s", body)
		}
		if acme := strings.Index(body, "Acme Desktop"); acme < strings.Index(body, "alert(1)") {
			t.Error("the sessions are not newest first")
		}

		empty := wantPage(t, serve(e.Mux, apiGet("/connected-clients").by("carol")), http.StatusOK)
		wantIn(t, empty, "No client is connected")
	})
}

// TestPagePaging: the page lists DefaultSessionsLimit sessions and links
// to the next page, which lists the rest.
func TestPagePaging(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := sessionsEnv(t, db)
		var ids []string
		for range httpapi.DefaultSessionsLimit + 2 {
			ids = append(ids, e.connect("Tool", "alice", "", false).Grant.ID)
		}
		first := wantPage(t, serve(e.Mux, apiGet("/connected-clients").by("alice")), http.StatusOK)
		_, after, ok := strings.Cut(first, `<p><a href="`)
		link, _, _ := strings.Cut(after, `"`)
		if !ok || !strings.HasPrefix(link, "/connected-clients?cursor=") {
			t.Fatalf("no link to the next page:\n%s", first)
		}
		second := wantPage(t, serve(e.Mux, apiGet(html.UnescapeString(link)).by("alice")), http.StatusOK)
		for i, id := range ids {
			inFirst, inSecond := strings.Contains(first, id), strings.Contains(second, id)
			if inFirst == (i < 2) || inSecond != (i < 2) {
				t.Errorf("session %d (oldest first): on the first page %v, on the second %v", i, inFirst, inSecond)
			}
		}
		if strings.Contains(second, "cursor=") {
			t.Error("the last page links to a next one")
		}
		wantPage(t, serve(e.Mux, apiGet("/connected-clients?cursor=AAAA").by("alice")), http.StatusBadRequest)
	})
}

// TestPageRevoke walks the page's revocation: the Revoke form's POST shows
// the confirmation, with the exact client id and redirect URI, and
// changes nothing; the confirmation's POST revokes and redirects (303) to
// the page, which says so and no longer lists the session; the client's
// refresh token then fails with invalid_grant and its access token the
// Verifier.
func TestPageRevoke(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := sessionsEnv(t, db)
		s := e.connectAt(hostileName, "alice", oddRedirect, true)
		other := e.connect("Kept", "alice", "", false)

		before := e.Snapshot()
		confirm := wantPage(t, serve(e.Mux, pagePost("alice", "id", s.Grant.ID)), http.StatusOK)
		unchanged(t, before, e.Snapshot())
		wantIn(t, confirm,
			"<dt>Client ID</dt><dd><code>"+s.Client.ID+"</code></dd>",
			"<dt>Redirect URI</dt><dd><code>"+template.HTMLEscapeString(oddRedirect)+"</code></dd>",
			"Disconnect “&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;”?",
			"its name is unverified",
			`<input type="hidden" name="id" value="`+s.Grant.ID+`">`,
			`<input type="hidden" name="confirm" value="1">`)
		if html.UnescapeString(template.HTMLEscapeString(oddRedirect)) != oddRedirect {
			t.Fatal("escaping is not reversible")
		}

		rec := serve(e.Mux, pagePost("alice", "id", s.Grant.ID, "confirm", "1"))
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/connected-clients?revoked=1" {
			t.Fatalf("confirmed POST = %d, Location %q; want 303 to /connected-clients?revoked=1",
				rec.Code, rec.Header().Get("Location"))
		}
		if g := e.Grant(s.Grant.ID); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonUserRevoked {
			t.Errorf("grant is %s (%s), want revoked (user_revoked)", g.Status, g.RevokeReason)
		}
		if _, err := e.Refresh(s.Client, s.Resp.RefreshToken); !errors.Is(err, token.ErrInvalidGrant) {
			t.Errorf("refresh after the revocation = %v, want invalid_grant", err)
		}
		if _, err := e.Verify(s.Resp.AccessToken); !errors.Is(err, token.ErrInvalidToken) {
			t.Errorf("access token after the revocation = %v, want invalid_token", err)
		}
		page := wantPage(t, serve(e.Mux, apiGet("/connected-clients?revoked=1").by("alice")), http.StatusOK)
		wantIn(t, page, "The client was disconnected.", other.Grant.ID)
		if strings.Contains(page, s.Grant.ID) {
			t.Error("the revoked session is still listed")
		}
		// Confirming again: it is gone.
		wantPage(t, serve(e.Mux, pagePost("alice", "id", s.Grant.ID, "confirm", "1")), http.StatusNotFound)
		wantPage(t, serve(e.Mux, pagePost("alice", "id", s.Grant.ID)), http.StatusNotFound)
	})
}

// TestPageRefused: a cross-origin POST (Sec-Fetch-Site, or an Origin that
// is not the Host) is refused with 403 and revokes nothing; so are
// another subject's session (404 at the confirmation, which shows only
// the caller's own; 403 when confirmed), a missing id, a bad confirm
// value, a body that is not a form, no caller (401), a failing
// authenticator (500, generic) and a wrong method (405 with Allow). Each
// answer is an HTML page with the page's headers and changes no row.
func TestPageRefused(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := sessionsEnv(t, db)
		s := e.connect("Acme", "alice", "", false)
		bobs := e.connect("Bob's", "bob", "", false)
		cases := []struct {
			name   string
			r      req
			status int
			say    string
		}{
			{name: "cross-site confirmed POST", r: pagePost("alice", "id", s.Grant.ID, "confirm", "1").
				with("Sec-Fetch-Site", "cross-site"), status: 403, say: "came from another site"},
			{name: "cross-origin confirmed POST", r: pagePost("alice", "id", s.Grant.ID, "confirm", "1").
				with("Origin", "https://evil.example"), status: 403, say: "came from another site"},
			{name: "cross-site first POST", r: pagePost("alice", "id", s.Grant.ID).with("Sec-Fetch-Site", "cross-site"),
				status: 403, say: "came from another site"},
			{name: "another subject's, confirmation", r: pagePost("alice", "id", bobs.Grant.ID), status: 404,
				say: "not connected"},
			{name: "another subject's, confirmed", r: pagePost("alice", "id", bobs.Grant.ID, "confirm", "1"),
				status: 403, say: "may not disconnect"},
			{name: "unknown id", r: pagePost("alice", "id", testdb.NewID(), "confirm", "1"), status: 404},
			{name: "no id", r: pagePost("alice", "confirm", "1"), status: 400},
			{name: "id twice", r: pagePost("alice", "id", s.Grant.ID, "id", bobs.Grant.ID, "confirm", "1"), status: 400},
			{name: "confirm yes", r: pagePost("alice", "id", s.Grant.ID, "confirm", "yes"), status: 400},
			{name: "JSON body", r: req{method: http.MethodPost, target: "/connected-clients", contentType: "application/json",
				body: `{"id":"` + s.Grant.ID + `","confirm":"1"}`, header: http.Header{}}.by("alice"), status: 400},
			{name: "no caller", r: pagePost("", "id", s.Grant.ID, "confirm", "1"), status: 401, say: "sign in"},
			{name: "no caller, GET", r: apiGet("/connected-clients"), status: 401, say: "sign in"},
			{name: "authenticator fails", r: pagePost(failUser, "id", s.Grant.ID, "confirm", "1"), status: 500,
				say: "nothing was changed"},
			{name: "DELETE", r: apiDelete("/connected-clients").by("alice"), status: 405},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := e.Snapshot()
				rec := serve(e.Mux, tc.r)
				body := wantPage(t, rec, tc.status)
				wantIn(t, body, `<p class="error" role="alert">`, tc.say)
				if tc.status == 405 && rec.Header().Get("Allow") != "GET, HEAD, POST" {
					t.Errorf("Allow = %q", rec.Header().Get("Allow"))
				}
				if strings.Contains(body, errDirectory.Error()) {
					t.Errorf("the page shows the internal error:\n%s", body)
				}
				unchanged(t, before, e.Snapshot())
			})
		}
	})
}

// TestPageTemplate: Config.PageTemplate replaces the page, is executed
// with PageData, and a template that fails to execute is a plain 500, not
// half a page.
func TestPageTemplate(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		tmpl := template.Must(template.New("mine").Parse(
			`<h1>{{.View}} at {{.Action}}</h1>{{range .Sessions}}<p>{{.ClientName}} {{.ClientID}} {{.RedirectHost}} ` +
				`{{.CreatedAt.Unix}}</p>{{end}}{{with .Confirm}}<p>sure? {{.RedirectURI}}</p>{{end}}{{.Message}}`))
		e := sessionsEnv(t, db, func(cfg *httpapi.Config) { cfg.PageTemplate = tmpl })
		s := e.connectAt(hostileName, "alice", oddRedirect, true)

		body := wantPage(t, serve(e.Mux, apiGet("/connected-clients").by("alice")), http.StatusOK)
		want := "<h1>list at /connected-clients</h1><p>" + template.HTMLEscapeString(hostileName) + " " + s.Client.ID +
			" app.example " + strconv.FormatInt(s.Grant.CreatedAt.Unix(), 10) + "</p>"
		if body != want {
			t.Errorf("page = %q, want %q", body, want)
		}
		body = wantPage(t, serve(e.Mux, pagePost("alice", "id", s.Grant.ID)), http.StatusOK)
		if want := "<h1>confirm at /connected-clients</h1><p>sure? " + template.HTMLEscapeString(oddRedirect) + "</p>"; body != want {
			t.Errorf("confirmation = %q, want %q", body, want)
		}

		broken := template.Must(template.New("broken").Parse(`<p>partial</p>{{.Nope}}`))
		e2 := sessionsEnv(t, db, func(cfg *httpapi.Config) { cfg.PageTemplate = broken })
		rec := serve(e2.Mux, apiGet("/connected-clients").by("alice"))
		if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "partial") {
			t.Errorf("broken template: %d %q, want a plain 500", rec.Code, rec.Body)
		}
	})
}

// TestPageFaults fails, one at a time, every store call of the page's
// listing, confirmation and confirmed revocation: each is an error page
// with status 500 and changes nothing.
func TestPageFaults(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := sessionsEnv(t, db)
		e.connect("Acme", "alice", "", false)
		cases := []struct {
			name string
			r    func() req
			want int
		}{
			{name: "list", want: http.StatusOK, r: func() req { return apiGet("/connected-clients").by("alice") }},
			{name: "confirmation", want: http.StatusOK, r: func() req {
				return pagePost("alice", "id", e.connect("Doomed", "alice", "", false).Grant.ID)
			}},
			{name: "revocation", want: http.StatusSeeOther, r: func() req {
				return pagePost("alice", "id", e.connect("Doomed", "alice", "", false).Grant.ID, "confirm", "1")
			}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				count := faultstore.Wrap(e.Store, 0)
				if rec := serve(e.sessionsOver(count).Page(), tc.r()); rec.Code != tc.want {
					t.Fatalf("without a failure: %d %s, want %d", rec.Code, rec.Body, tc.want)
				}
				r := tc.r()
				for _, f := range faults(count.Calls()) {
					k := f.k
					before := e.Snapshot()
					body := wantPage(t, f.serve(t, e.sessionsOver(f.store(e.Store)).Page(), r),
						http.StatusInternalServerError)
					if strings.Contains(body, "faultstore") {
						t.Errorf("step %d: the page shows the internal error", k)
					}
					unchanged(t, before, e.Snapshot())
				}
			})
		}
	})
}
