package httpapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
)

// userHeader names the user the test Authorizer authenticates; without it
// the Authorizer sends the browser to its login page.
const userHeader = "X-Test-User"

// authorizer is the test host's Authorizer: it authenticates the user the
// request's userHeader names (subject kind "user"), or redirects to
// /login; its Consent records the pending authorization and answers 200
// with it as JSON.
type authorizer struct {
	mu      sync.Mutex
	pending []httpapi.Pending
	// fail, when set, is what Authenticate returns.
	fail error
}

func (a *authorizer) Authenticate(w http.ResponseWriter, r *http.Request, _ httpapi.AuthorizeRequest) (httpapi.Login, bool, error) {
	if a.fail != nil {
		return httpapi.Login{}, false, a.fail
	}
	u := r.Header.Get(userHeader)
	if u == "" {
		http.Redirect(w, r, "/login", http.StatusFound)
		return httpapi.Login{}, false, nil
	}
	return httpapi.Login{Subject: u, SubjectKind: "user"}, true, nil
}

func (a *authorizer) Consent(w http.ResponseWriter, _ *http.Request, p httpapi.Pending) {
	a.mu.Lock()
	a.pending = append(a.pending, p)
	a.mu.Unlock()
	writeTestJSON(w, p)
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// authEnv is newEnv with a test Authorizer configured.
func authEnv(t *testing.T, db testdb.DB, mut ...func(*httpapi.Config)) (*env, *authorizer) {
	t.Helper()
	a := &authorizer{}
	e := newEnv(t, db, append([]func(*httpapi.Config){func(c *httpapi.Config) { c.Authorizer = a }}, mut...)...)
	return e, a
}

// authorizeQuery is a valid authorization request for clientID (the
// fixture's redirect URI, scopes, state xyz, S256 challenge and resource),
// with kv (name, value…) replacing parameters of the same name, or
// removing them when the value is "-".
func authorizeQuery(clientID string, kv ...string) string {
	v := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {testenv.RedirectURI},
		"scope": {"read write"}, "state": {"xyz"}, "code_challenge": {testenv.Challenge},
		"code_challenge_method": {"S256"}, "resource": {testenv.Resource},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "-" {
			v.Del(kv[i])
		} else {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v.Encode()
}

// get is a GET of target as user ("" for none).
func get(target, user string) req {
	r := req{method: http.MethodGet, target: target, header: http.Header{}}
	if user != "" {
		r.header.Set(userHeader, user)
	}
	return r
}

// as makes r come from user.
func (r req) as(user string) req {
	r.header.Set(userHeader, user)
	return r
}

// wantShown fails unless rec is an error page for the user with status
// and code — never a redirect.
func wantShown(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if loc := rec.Header().Get("Location"); loc != "" {
		t.Fatalf("an error to show the user was redirected to %s", loc)
	}
	if rec.Code != status {
		t.Errorf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if !strings.HasPrefix(rec.Body.String(), code+": ") {
		t.Errorf("body = %q, want the %s page", rec.Body, code)
	}
	if strings.Contains(rec.Body.String(), "code=") {
		t.Errorf("the page holds a code: %s", rec.Body)
	}
}

// location parses rec's redirect, failing unless it is a 302 to a URI
// starting with prefix followed by a query.
func location(t *testing.T, rec *httptest.ResponseRecorder, prefix string) url.Values {
	t.Helper()
	if rec.Code != http.StatusFound {
		t.Fatalf("status = %d, want 302; body %s", rec.Code, rec.Body)
	}
	loc := rec.Header().Get("Location")
	rest, ok := strings.CutPrefix(loc, prefix+"?")
	if !ok {
		t.Fatalf("Location = %q, want %s?…", loc, prefix)
	}
	q, err := url.ParseQuery(rest)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// wantRedirectError fails unless rec redirects error code with state
// (omitted when "") and iss to redirectURI, and no code.
func wantRedirectError(t *testing.T, rec *httptest.ResponseRecorder, redirectURI, code, state string) {
	t.Helper()
	q := location(t, rec, redirectURI)
	got := map[string]string{"error": q.Get("error"), "state": q.Get("state"), "iss": q.Get("iss")}
	want := map[string]string{"error": code, "state": state, "iss": testenv.Issuer}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("redirect (-want +got):\n%s\n%s", d, rec.Header().Get("Location"))
	}
	if q.Has("code") || q.Get("error_description") == "" {
		t.Errorf("redirect has a code or no description: %s", rec.Header().Get("Location"))
	}
}

// pending returns the pending authorization the last Consent got.
func (a *authorizer) last(t *testing.T) httpapi.Pending {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.pending) == 0 {
		t.Fatal("Consent was not called")
	}
	return a.pending[len(a.pending)-1]
}

// decision posts the consent form for id as user.
func decision(id, choice, user string) req {
	return post(httpapi.DefaultDecisionPath, form(httpapi.DecisionRequestField, id, httpapi.DecisionField, choice)).as(user)
}

// TestAuthorizeShownErrors: an authorization request whose client or
// redirect URI cannot be trusted, or that does not parse, is answered with
// a page for the user and never redirected (RFC 6749 §4.1.2.1, §3.1.2.4),
// and changes nothing.
func TestAuthorizeShownErrors(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e, _ := authEnv(t, db)
		c := e.Client(testenv.RedirectURIs(testenv.RedirectURI, "http://127.0.0.1/cb", "http://localhost/cb"))
		gone := e.Client()
		if _, err := e.Manager.DeleteClient(t.Context(), gone.ID, "admin"); err != nil {
			t.Fatal(err)
		}
		q := func(kv ...string) string { return "/authorize?" + authorizeQuery(c.ID, kv...) }
		long := strings.Repeat("x", 300)
		cases := []struct {
			name   string
			r      req
			status int
			code   string
		}{
			{"unknown client", get("/authorize?"+authorizeQuery("nope"), "alice"), 400, "invalid_client"},
			{"deleted client", get("/authorize?"+authorizeQuery(gone.ID), "alice"), 400, "invalid_client"},
			{"client id too long", get("/authorize?"+authorizeQuery(long), "alice"), 400, "invalid_client"},
			{"no client_id", get(q("client_id", "-"), "alice"), 400, "invalid_request"},
			{"empty client_id", get(q("client_id", ""), "alice"), 400, "invalid_request"},
			{"client_id twice", get(q()+"&client_id="+c.ID, "alice"), 400, "invalid_request"},
			{"no redirect_uri", get(q("redirect_uri", "-"), "alice"), 400, "invalid_request"},
			{"redirect_uri twice", get(q()+"&redirect_uri="+url.QueryEscape(testenv.RedirectURI), "alice"), 400, "invalid_request"},
			{"redirect_uri not registered", get(q("redirect_uri", "https://evil.example/cb"), "alice"), 400, "invalid_redirect_uri"},
			{"redirect_uri with a slash more", get(q("redirect_uri", testenv.RedirectURI+"/"), "alice"), 400, "invalid_redirect_uri"},
			{"redirect_uri with a query more", get(q("redirect_uri", testenv.RedirectURI+"?a=b"), "alice"), 400, "invalid_redirect_uri"},
			{"localhost on another port", get(q("redirect_uri", "http://localhost:8080/cb"), "alice"), 400, "invalid_redirect_uri"},
			{"loopback, another path", get(q("redirect_uri", "http://127.0.0.1:8080/other"), "alice"), 400, "invalid_redirect_uri"},
			{"redirect_uri with NUL", get(q("redirect_uri", testenv.RedirectURI+"\x00"), "alice"), 400, "invalid_request"},
			{"bad escape", get(q()+"&x=%zz", "alice"), 400, "invalid_request"},
			{"bad escape in redirect_uri", get("/authorize?client_id="+c.ID+"&redirect_uri=%zz", "alice"), 400, "invalid_request"},
			{"invalid UTF-8 key", get(q()+"&%ff=1", "alice"), 400, "invalid_request"},
			{"PUT", req{method: http.MethodPut, target: q(), header: http.Header{userHeader: {"alice"}}}, 405, "invalid_request"},
			{"POST not a form", req{method: http.MethodPost, target: "/authorize", contentType: "application/json",
				body: "{}", header: http.Header{userHeader: {"alice"}}}, 400, "invalid_request"},
			{"POST too large", post("/authorize", authorizeQuery(c.ID)+"&pad="+strings.Repeat("a", 2<<20)).as("alice"), 413, "invalid_request"},
		}
		before := e.Snapshot()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rec := serve(e.Mux, tc.r)
				wantShown(t, rec, tc.status, tc.code)
				if tc.status == 405 && rec.Header().Get("Allow") != "GET, POST" {
					t.Errorf("Allow = %q", rec.Header().Get("Allow"))
				}
				if rec.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control = %q", rec.Header().Get("Cache-Control"))
				}
			})
		}
		unchanged(t, before, e.Snapshot())
	})
}

// TestAuthorizeRedirectedErrors: once the client and its redirect URI are
// trusted, every refusal of RFC 6749 §4.1.2.1 (and RFC 8707's
// invalid_target) goes to the redirect URI with error, state and iss (RFC
// 9207), never a code, and changes nothing. access_denied is Deny's
// (TestDeny); temporarily_unavailable is never produced.
func TestAuthorizeRedirectedErrors(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e, a := authEnv(t, db, func(c *httpapi.Config) { c.Resources = []string{testenv.Resource, "https://b.example/"} })
		c := e.Client()
		refreshOnly := e.Client(func(md *grant.ClientMetadata) { md.GrantTypes = []string{grant.GrantTypeRefreshToken} })
		q := func(kv ...string) string { return "/authorize?" + authorizeQuery(c.ID, kv...) }
		cases := []struct {
			name, target, code, state string
			fail                      error
		}{
			{name: "no response_type", target: q("response_type", "-"), code: "invalid_request"},
			{name: "response_type token", target: q("response_type", "token"), code: "unsupported_response_type"},
			{name: "response_type code id_token", target: q("response_type", "code id_token"), code: "unsupported_response_type"},
			{name: "response_type twice", target: q() + "&response_type=code", code: "invalid_request"},
			{name: "scope twice", target: q() + "&scope=read", code: "invalid_request"},
			{name: "state twice", target: q() + "&state=abc", code: "invalid_request", state: "-"},
			{name: "no code_challenge", target: q("code_challenge", "-"), code: "invalid_request"},
			{name: "short code_challenge", target: q("code_challenge", "abc"), code: "invalid_request"},
			{name: "no code_challenge_method", target: q("code_challenge_method", "-"), code: "invalid_request"},
			{name: "plain PKCE", target: q("code_challenge_method", "plain"), code: "invalid_request"},
			{name: "state too long", target: q("state", strings.Repeat("s", grant.MaxStateLength+1)), code: "invalid_request", state: "-"},
			{name: "NUL in state", target: q("state", "a\x00b"), code: "invalid_request", state: "-"},
			{name: "NUL in scope", target: q("scope", "read\x00"), code: "invalid_request"},
			{name: "scope not registered", target: q("scope", "read admin"), code: "invalid_scope"},
			{name: "scope with two spaces", target: q("scope", "read  write"), code: "invalid_scope"},
			{name: "scope with a tab", target: q("scope", "read\twrite"), code: "invalid_scope"},
			{name: "too many scopes", target: q("scope", strings.TrimSpace(strings.Repeat("read ", grant.MaxScopes+1))), code: "invalid_scope"},
			{name: "relative resource", target: q("resource", "/mcp"), code: "invalid_target"},
			{name: "resource with fragment", target: q("resource", testenv.Resource+"#x"), code: "invalid_target"},
			{name: "two resources", target: q() + "&resource=" + url.QueryEscape("https://b.example/"), code: "invalid_target"},
			{name: "resource not configured", target: q("resource", "https://c.example/"), code: "invalid_target"},
			{name: "resource too long", target: q("resource", "https://c.example/"+strings.Repeat("r", grant.MaxResourceLength)), code: "invalid_target"},
			{name: "client without the code grant", target: "/authorize?" + authorizeQuery(refreshOnly.ID), code: "unauthorized_client"},
			{name: "authenticating fails", target: q(), code: "server_error", fail: errors.New("identity provider down")},
		}
		before := e.Snapshot()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				a.fail = tc.fail
				defer func() { a.fail = nil }()
				rec := serve(e.Mux, get(tc.target, "alice"))
				state := tc.state
				switch state {
				case "":
					state = "xyz"
				case "-":
					state = ""
				}
				wantRedirectError(t, rec, testenv.RedirectURI, tc.code, state)
			})
		}
		unchanged(t, before, e.Snapshot())
	})
}

// TestAuthorizeLoginFirst: a user the host does not know yet is sent to
// its login page by the Authorizer; nothing is stored.
func TestAuthorizeLoginFirst(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e, _ := authEnv(t, db)
		c := e.Client()
		before := e.Snapshot()
		rec := serve(e.Mux, get("/authorize?"+authorizeQuery(c.ID), ""))
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/login" {
			t.Fatalf("got %d to %q, want the host's login redirect", rec.Code, rec.Header().Get("Location"))
		}
		unchanged(t, before, e.Snapshot())
	})
}

// TestApprove runs the whole browser flow: the authorization request
// (GET, and POST per RFC 6749 §3.1) reaches the host's consent page with
// the pending authorization; approving it redirects with code, state and
// iss (RFC 9207 §2), and the code works at the token endpoint.
func TestApprove(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			t.Run(method, func(t *testing.T) {
				t.Parallel()
				e, a := authEnv(t, db)
				c := e.Client(testenv.Dynamic, testenv.Named("Self-named"))
				r := get("/authorize?"+authorizeQuery(c.ID, "scope", "read"), "alice")
				if method == http.MethodPost {
					r = post("/authorize", authorizeQuery(c.ID, "scope", "read")).as("alice")
				}
				rec := serve(e.Mux, r)
				if rec.Code != http.StatusOK {
					t.Fatalf("authorize: %d %s", rec.Code, rec.Body)
				}
				p := a.last(t)
				want := httpapi.Pending{ID: p.ID, Request: httpapi.AuthorizeRequest{
					Client:      httpapi.ClientInfo{ID: c.ID, Name: "Self-named", NameVerified: false},
					RedirectURI: testenv.RedirectURI, Scopes: []string{"read"}, State: "xyz",
					CodeChallenge: testenv.Challenge, CodeChallengeMethod: "S256", Resource: testenv.Resource,
				}, Login: httpapi.Login{Subject: "alice", SubjectKind: "user"},
					DecisionURL: testenv.Issuer + httpapi.DefaultDecisionPath, RedirectHost: "app.example"}
				if d := cmp.Diff(want, p); d != "" {
					t.Errorf("pending (-want +got):\n%s", d)
				}
				rec = serve(e.Mux, decision(p.ID, httpapi.DecisionApprove, "alice"))
				wantNoStore(t, rec)
				q := location(t, rec, testenv.RedirectURI)
				if q.Get("code") == "" || q.Get("state") != "xyz" || q.Get("iss") != testenv.Issuer || q.Has("error") {
					t.Fatalf("approval redirect = %s", rec.Header().Get("Location"))
				}
				tr := tokens(t, serve(e.Mux, post("/token", form(append(codeForm(q.Get("code"), testenv.RedirectURI),
					"client_id", c.ID)...))))
				if tr.Scope != "read" {
					t.Errorf("scope = %q, want read", tr.Scope)
				}
			})
		}
	})
}

// TestApproveLoopbackPort: a native client registered with a loopback IP
// literal comes back on whatever port it listens on (RFC 8252 §7.3): the
// approval and its errors go to that port, and the code is redeemed with
// that URI.
func TestApproveLoopbackPort(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e, a := authEnv(t, db)
		c := e.Client(testenv.RedirectURIs("http://127.0.0.1/cb"))
		const used = "http://127.0.0.1:54321/cb"
		rec := serve(e.Mux, get("/authorize?"+authorizeQuery(c.ID, "redirect_uri", used, "response_type", "token"), "alice"))
		wantRedirectError(t, rec, used, "unsupported_response_type", "xyz")
		if rec := serve(e.Mux, get("/authorize?"+authorizeQuery(c.ID, "redirect_uri", used), "alice")); rec.Code != 200 {
			t.Fatalf("authorize: %d %s", rec.Code, rec.Body)
		}
		q := location(t, serve(e.Mux, decision(a.last(t).ID, httpapi.DecisionApprove, "alice")), used)
		tokens(t, serve(e.Mux, post("/token", form(append(codeForm(q.Get("code"), used), "client_id", c.ID)...))))
	})
}

// TestDeny: denying redirects access_denied with state and iss (RFC 6749
// §4.1.2.1, RFC 9207) and writes the authorization.denied audit event and
// nothing else but closing the request: no code, the grant left pending.
func TestDeny(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e, _ := authEnv(t, db)
		c := e.Client()
		a := e.Start(testenv.Request(c.ID, "alice"))
		before := e.Snapshot()
		rec := serve(e.Mux, decision(a.Request.ID, httpapi.DecisionDeny, "alice"))
		wantRedirectError(t, rec, testenv.RedirectURI, "access_denied", "xyz")
		after := e.Snapshot()
		if got := testenv.AuditRows(after, grant.EventAuthorizationDenied); len(got) != 1 {
			t.Errorf("%d authorization.denied events, want 1", len(got))
		}
		for _, table := range []string{"grants", "auth_codes", "refresh_tokens", "clients"} {
			if d := cmp.Diff(before[table], after[table]); d != "" {
				t.Errorf("deny changed %s:\n%s", table, d)
			}
		}
		if n := len(after["audit_events"]) - len(before["audit_events"]); n != 1 {
			t.Errorf("deny wrote %d audit events, want 1", n)
		}
		if n := e.Events.Count(grant.EventAuthorizationDenied); n != 1 {
			t.Errorf("observer heard authorization.denied %d times, want 1: %v", n, e.Events.Types())
		}
		// The request is closed: approving it now is shown to the user.
		wantShown(t, serve(e.Mux, decision(a.Request.ID, httpapi.DecisionApprove, "alice")), 400, "invalid_request")
	})
}

// TestDecisionRefusals: a decision by another user, for an unknown or
// closed request, with a bad form, or posted cross-origin is shown to the
// user and changes nothing; one for an expired request of the user's goes
// to the client.
func TestDecisionRefusals(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e, _ := authEnv(t, db)
		c := e.Client()
		a := e.Start(testenv.Request(c.ID, "alice"))
		id := a.Request.ID
		crossSite := decision(id, httpapi.DecisionApprove, "alice")
		crossSite.header.Set("Sec-Fetch-Site", "cross-site")
		cases := []struct {
			name   string
			r      req
			status int
			code   string
		}{
			{"another user approves", decision(id, httpapi.DecisionApprove, "mallory"), 403, "access_denied"},
			{"another user denies", decision(id, httpapi.DecisionDeny, "mallory"), 403, "access_denied"},
			{"cross-site post", crossSite, 403, "forbidden"},
			{"unknown request", decision("01900000-0000-7000-8000-000000000000", httpapi.DecisionApprove, "alice"), 404, "not_found"},
			{"not a request id", decision("garbage", httpapi.DecisionApprove, "alice"), 404, "not_found"},
			{"upper-case id", decision(strings.ToUpper(id), httpapi.DecisionApprove, "alice"), 404, "not_found"},
			{"no request id", post(httpapi.DefaultDecisionPath, form(httpapi.DecisionField, "approve")).as("alice"), 400, "invalid_request"},
			{"bad decision", decision(id, "maybe", "alice"), 400, "invalid_request"},
			{"no decision", post(httpapi.DefaultDecisionPath, form(httpapi.DecisionRequestField, id)).as("alice"), 400, "invalid_request"},
			{"decision twice", post(httpapi.DefaultDecisionPath, form(httpapi.DecisionRequestField, id,
				httpapi.DecisionField, "deny", httpapi.DecisionField, "approve")).as("alice"), 400, "invalid_request"},
			{"GET", get(httpapi.DefaultDecisionPath+"?"+form(httpapi.DecisionRequestField, id, httpapi.DecisionField, "approve"), "alice"), 405, "invalid_request"},
			{"JSON", req{method: http.MethodPost, target: httpapi.DefaultDecisionPath, contentType: "application/json",
				body: "{}", header: http.Header{userHeader: {"alice"}}}, 400, "invalid_request"},
		}
		before := e.Snapshot()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				wantShown(t, serve(e.Mux, tc.r), tc.status, tc.code)
			})
		}
		unchanged(t, before, e.Snapshot())

		e.Clock.Advance(grant.DefaultAuthRequestTTL + time.Second)
		wantRedirectError(t, serve(e.Mux, decision(id, httpapi.DecisionApprove, "alice")), testenv.RedirectURI,
			"invalid_request", "xyz")
		unchanged(t, before, e.Snapshot())
	})
}

// TestDecisionAfterRevocation: the grant of a request the user is
// deciding is revoked meanwhile, and the cascade closes the request with
// it. When the user revoked it (another tab, say), approving or denying
// then tells the client access_denied at its redirect URI — the request
// is the user's and the client waits there. When the client was deleted,
// or changed so that it no longer registers that redirect URI, the error
// is shown to the user instead: the client no longer vouches for the URI
// (RFC 6749 §4.1.2.1). Either way no code and no change.
func TestDecisionAfterRevocation(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e, _ := authEnv(t, db)
		causes := []struct {
			name     string
			revoke   func(t *testing.T, c testenv.Client, g store.Grant)
			redirect bool
		}{
			{"user revoked", func(t *testing.T, _ testenv.Client, g store.Grant) {
				if _, err := e.Manager.Revoke(t.Context(), []string{g.ID}, grant.ReasonUserRevoked, "alice"); err != nil {
					t.Fatal(err)
				}
			}, true},
			{"client deleted", func(t *testing.T, c testenv.Client, _ store.Grant) {
				if _, err := e.Manager.DeleteClient(t.Context(), c.ID, "admin"); err != nil {
					t.Fatal(err)
				}
			}, false},
			{"redirect URI changed", func(t *testing.T, c testenv.Client, _ store.Grant) {
				if _, _, err := e.Manager.UpdateClient(t.Context(), c.ID, grant.ClientMetadata{Name: c.Name,
					RedirectURIs: []string{"https://moved.example/cb"}, Scopes: c.Scopes}, "admin"); err != nil {
					t.Fatal(err)
				}
			}, false},
		}
		for _, cause := range causes {
			for _, d := range []string{httpapi.DecisionApprove, httpapi.DecisionDeny} {
				t.Run(cause.name+"/"+d, func(t *testing.T) {
					c := e.Client()
					a := e.Start(testenv.Request(c.ID, "alice"))
					cause.revoke(t, c, a.Grant)
					before := e.Snapshot()
					rec := serve(e.Mux, decision(a.Request.ID, d, "alice"))
					if cause.redirect {
						wantRedirectError(t, rec, testenv.RedirectURI, "access_denied", "xyz")
					} else {
						wantShown(t, rec, http.StatusForbidden, "access_denied")
					}
					unchanged(t, before, e.Snapshot())
				})
			}
		}
	})
}

// TestDecisionSubjectKind: an API key with the user's id is another
// principal (README, "subject_kind is part of identity").
func TestDecisionSubjectKind(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e, _ := authEnv(t, db)
		c := e.Client()
		req := testenv.Request(c.ID, "alice")
		req.SubjectKind = "api_key"
		a := e.Start(req)
		before := e.Snapshot()
		wantShown(t, serve(e.Mux, decision(a.Request.ID, httpapi.DecisionApprove, "alice")), 403, "access_denied")
		unchanged(t, before, e.Snapshot())
	})
}

// TestAuthorizeErrorPage: the host renders the errors shown to the user.
func TestAuthorizeErrorPage(t *testing.T) {
	t.Parallel()
	e, _ := authEnv(t, testdb.DB{Name: "sqlite", Harness: testdb.SQLite()}, func(c *httpapi.Config) {
		c.AuthorizeErrorPage = func(w http.ResponseWriter, _ *http.Request, err error) {
			code, _ := httpapi.ErrorCode(err)
			w.WriteHeader(http.StatusTeapot)
			_, _ = w.Write([]byte("host page: " + code))
		}
	})
	rec := serve(e.Mux, get("/authorize?"+authorizeQuery("nope"), "alice"))
	if rec.Code != http.StatusTeapot || rec.Body.String() != "host page: invalid_client" || rec.Header().Get("Location") != "" {
		t.Errorf("got %d %q", rec.Code, rec.Body)
	}
}

// TestDecisionTrustsConfiguredOrigins: the decision endpoint uses
// Config.CrossOrigin like the sessions API: an origin the host trusts may
// post the consent form; another is refused.
func TestDecisionTrustsConfiguredOrigins(t *testing.T) {
	t.Parallel()
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin("https://front.example"); err != nil {
		t.Fatal(err)
	}
	e, a := authEnv(t, sqliteDB, func(c *httpapi.Config) { c.CrossOrigin = cop })
	c := e.Client()
	serve(e.Mux, get("/authorize?"+authorizeQuery(c.ID), "alice"))
	id := a.last(t).ID
	foreign := decision(id, httpapi.DecisionApprove, "alice")
	foreign.header.Set("Origin", "https://evil.example")
	foreign.header.Set("Sec-Fetch-Site", "cross-site")
	wantShown(t, serve(e.Mux, foreign), http.StatusForbidden, "forbidden")
	trusted := decision(id, httpapi.DecisionApprove, "alice")
	trusted.header.Set("Origin", "https://front.example")
	trusted.header.Set("Sec-Fetch-Site", "cross-site")
	if rec := serve(e.Mux, trusted); rec.Code != http.StatusFound || !strings.Contains(rec.Header().Get("Location"), "code=") {
		t.Fatalf("trusted origin: status %d, Location %q, body %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
}

// TestAuthorizeDuplicateWithEmptyValue: a parameter given twice is a
// duplicate even when one value is empty (RFC 6749 §3.1), at /authorize as
// at the token endpoint; shown to the user, never redirected.
func TestAuthorizeDuplicateWithEmptyValue(t *testing.T) {
	t.Parallel()
	e, _ := authEnv(t, sqliteDB)
	c := e.Client()
	for _, extra := range []string{"&client_id=", "&redirect_uri=", "&state=", "&scope="} {
		rec := serve(e.Mux, get("/authorize?"+authorizeQuery(c.ID)+extra, "alice"))
		if rec.Code == http.StatusOK {
			t.Errorf("%s: accepted", extra)
		}
	}
	wantShown(t, serve(e.Mux, get("/authorize?"+authorizeQuery(c.ID)+"&client_id=", "alice")), http.StatusBadRequest, "invalid_request")
}
