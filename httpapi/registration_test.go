package httpapi_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
)

// register is a registration request with a JSON body.
func register(body string) req {
	return req{method: http.MethodPost, target: "/register", contentType: "application/json", body: body,
		header: http.Header{}}
}

// TestRegistration registers public and confidential clients (RFC 7591
// §3.1) and checks the client information response (§3.2.1) and what was
// stored: a dynamic client, whose name the consent page flags unverified.
func TestRegistration(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e, a := authEnv(t, db, func(c *httpapi.Config) { c.ScopesSupported = []string{"read", "write", "admin"} })
		cases := []struct {
			name, body string
			secret     bool
			want       map[string]any // the response without client_id, client_secret, client_id_issued_at
		}{
			{name: "public", body: `{"redirect_uris":["https://app.example/cb"],"client_name":"Editor","token_endpoint_auth_method":"none","scope":"read write","logo_uri":"https://x/l.png"}`,
				want: map[string]any{"redirect_uris": []any{"https://app.example/cb"}, "client_name": "Editor",
					"grant_types": []any{"authorization_code", "refresh_token"}, "response_types": []any{"code"},
					"scope": "read write", "token_endpoint_auth_method": "none"}},
			{name: "confidential by default", body: `{"redirect_uris":["https://app.example/cb"],"scope":null}`, secret: true,
				want: map[string]any{"redirect_uris": []any{"https://app.example/cb"},
					"grant_types": []any{"authorization_code", "refresh_token"}, "response_types": []any{"code"},
					"scope": "read write admin", "token_endpoint_auth_method": "client_secret_basic",
					"client_secret_expires_at": float64(0)}},
			{name: "client_secret_post, code only, native", body: `{"redirect_uris":["http://127.0.0.1/cb","com.example.app:/cb"],
				"grant_types":["authorization_code"],"response_types":["code"],"token_endpoint_auth_method":"client_secret_post","scope":""}`,
				secret: true,
				want: map[string]any{"redirect_uris": []any{"http://127.0.0.1/cb", "com.example.app:/cb"},
					"grant_types": []any{"authorization_code"}, "response_types": []any{"code"},
					"token_endpoint_auth_method": "client_secret_post", "client_secret_expires_at": float64(0)}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rec := serve(e.Mux, register(tc.body))
				wantNoStore(t, rec)
				if rec.Code != http.StatusCreated {
					t.Fatalf("status = %d: %s", rec.Code, rec.Body)
				}
				got := jsonBody(t, rec)
				id, _ := got["client_id"].(string)
				secret, _ := got["client_secret"].(string)
				if id == "" || (secret != "") != tc.secret || got["client_id_issued_at"] != float64(testenv.T0.Unix()) {
					t.Errorf("client_id %q, client_secret %q, issued at %v", id, secret, got["client_id_issued_at"])
				}
				for _, k := range []string{"client_id", "client_secret", "client_id_issued_at"} {
					delete(got, k)
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("response (-want +got):\n%s", d)
				}
				c, err := e.Manager.Client(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				if !c.Dynamic || c.Public() == tc.secret {
					t.Errorf("stored client: dynamic %v, public %v", c.Dynamic, c.Public())
				}
				if tc.secret {
					if _, err := e.Manager.AuthenticateClient(t.Context(), id, secret); err != nil {
						t.Errorf("the returned secret does not authenticate: %v", err)
					}
				}
			})
		}
		// A dynamic client's self-reported name is flagged unverified.
		rec := serve(e.Mux, register(`{"redirect_uris":["`+testenv.RedirectURI+`"],"client_name":"Totally Google","token_endpoint_auth_method":"none","scope":"read"}`))
		id := jsonBody(t, rec)["client_id"].(string)
		if rec := serve(e.Mux, get("/authorize?"+authorizeQuery(id, "scope", "read"), "alice")); rec.Code != 200 {
			t.Fatalf("authorize: %d %s", rec.Code, rec.Body)
		}
		if got := a.last(t).Request.Client; got != (httpapi.ClientInfo{ID: id, Name: "Totally Google", NameVerified: false}) {
			t.Errorf("consent shows %+v", got)
		}
	})
}

// TestRegistrationErrors: every RFC 7591 §3.2.2 error, and bad input of
// every kind, answered with a 4xx JSON error and no-store headers, and no
// change to the database.
func TestRegistrationErrors(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db, func(c *httpapi.Config) { c.ScopesSupported = []string{"read", "write"} })
		ok := `"redirect_uris":["https://app.example/cb"]`
		obj := func(members ...string) string { return "{" + strings.Join(append([]string{ok}, members...), ",") + "}" }
		many := make([]string, grant.MaxRedirectURIs+1)
		for i := range many {
			many[i] = fmt.Sprintf(`"https://app.example/cb%d"`, i)
		}
		cases := []struct {
			name   string
			r      req
			status int
			code   string
		}{
			// invalid_redirect_uri (RFC 7591 §3.2.2), by the README's rules.
			{"no redirect_uris", register(`{"client_name":"x"}`), 400, "invalid_redirect_uri"},
			{"empty redirect_uris", register(`{"redirect_uris":[]}`), 400, "invalid_redirect_uri"},
			{"http, not loopback", register(`{"redirect_uris":["http://app.example/cb"]}`), 400, "invalid_redirect_uri"},
			{"fragment", register(`{"redirect_uris":["https://app.example/cb#x"]}`), 400, "invalid_redirect_uri"},
			{"empty fragment", register(`{"redirect_uris":["https://app.example/cb#"]}`), 400, "invalid_redirect_uri"},
			{"userinfo", register(`{"redirect_uris":["https://u:p@app.example/cb"]}`), 400, "invalid_redirect_uri"},
			{"javascript", register(`{"redirect_uris":["javascript:alert(1)"]}`), 400, "invalid_redirect_uri"},
			{"private scheme without dot", register(`{"redirect_uris":["cursor://cb"]}`), 400, "invalid_redirect_uri"},
			{"relative", register(`{"redirect_uris":["/cb"]}`), 400, "invalid_redirect_uri"},
			{"null element", register(`{"redirect_uris":[null]}`), 400, "invalid_redirect_uri"},
			{"too long", register(`{"redirect_uris":["https://app.example/` + strings.Repeat("a", grant.MaxRedirectURILength) + `"]}`), 400, "invalid_redirect_uri"},
			// invalid_client_metadata (RFC 7591 §3.2.2).
			{"too many redirect URIs", register(`{"redirect_uris":[` + strings.Join(many, ",") + `]}`), 400, "invalid_client_metadata"},
			{"redirect_uris a string", register(`{"redirect_uris":"https://app.example/cb"}`), 400, "invalid_client_metadata"},
			{"client_name a number", register(obj(`"client_name":7`)), 400, "invalid_client_metadata"},
			{"client_name too long", register(obj(`"client_name":"` + strings.Repeat("n", grant.MaxClientNameLength+1) + `"`)), 400, "invalid_client_metadata"},
			{"NUL in client_name", register(obj(`"client_name":"a\u0000b"`)), 400, "invalid_client_metadata"},
			{"implicit grant", register(obj(`"grant_types":["implicit"]`)), 400, "invalid_client_metadata"},
			{"password grant", register(obj(`"grant_types":["password"]`)), 400, "invalid_client_metadata"},
			{"token response type", register(obj(`"response_types":["token"]`)), 400, "invalid_client_metadata"},
			{"grant_types an object", register(obj(`"grant_types":{}`)), 400, "invalid_client_metadata"},
			{"private_key_jwt", register(obj(`"token_endpoint_auth_method":"private_key_jwt"`)), 400, "invalid_client_metadata"},
			{"auth method a list", register(obj(`"token_endpoint_auth_method":["none"]`)), 400, "invalid_client_metadata"},
			{"scope not supported", register(obj(`"scope":"read admin"`)), 400, "invalid_client_metadata"},
			{"scope a list", register(obj(`"scope":["read"]`)), 400, "invalid_client_metadata"},
			{"scope with two spaces", register(obj(`"scope":"read  write"`)), 400, "invalid_client_metadata"},
			// Bad input: invalid_request.
			{"GET", req{method: http.MethodGet, target: "/register", header: http.Header{}}, 405, "invalid_request"},
			{"form body", post("/register", "redirect_uris=https://app.example/cb"), 400, "invalid_request"},
			{"text/plain", req{method: http.MethodPost, target: "/register", contentType: "text/plain", body: obj(), header: http.Header{}}, 400, "invalid_request"},
			{"no content type", req{method: http.MethodPost, target: "/register", body: obj(), header: http.Header{}}, 400, "invalid_request"},
			{"empty body", register(""), 400, "invalid_request"},
			{"not JSON", register("redirect_uris"), 400, "invalid_request"},
			{"an array", register(`[` + obj() + `]`), 400, "invalid_request"},
			{"null", register(`null`), 400, "invalid_request"},
			{"truncated", register(`{"redirect_uris":["https://app.example/cb"]`), 400, "invalid_request"},
			{"trailing object", register(obj() + `{}`), 400, "invalid_request"},
			{"trailing garbage", register(obj() + ` x`), 400, "invalid_request"},
			{"member twice", register(obj(ok)), 400, "invalid_request"},
			{"unknown member twice", register(obj(`"a":1`, `"a":2`)), 400, "invalid_request"},
			{"invalid UTF-8", register("{\"client_name\":\"\xff\"," + ok + "}"), 400, "invalid_request"},
			{"NUL byte", register("{\"client_name\":\"a\x00\"," + ok + "}"), 400, "invalid_request"},
			{"2 MiB body", register(obj(`"client_name":"` + strings.Repeat("n", 2<<20) + `"`)), 413, "invalid_request"},
		}
		before := e.Snapshot()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rec := serve(e.Mux, tc.r)
				wantError(t, rec, tc.status, tc.code)
				wantNoStore(t, rec)
				if tc.status == 405 && rec.Header().Get("Allow") != http.MethodPost {
					t.Errorf("Allow = %q", rec.Header().Get("Allow"))
				}
			})
		}
		unchanged(t, before, e.Snapshot())
	})
}

// TestRegistrationLimit: the host's rate limit runs before anything else
// (SPEC §8): a refused request gets 429 however malformed it is, the hook
// sees the body unread, and a hook failure is a 500 that registers nothing.
func TestRegistrationLimit(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		// The subtests run one after another, and the hook on their
		// goroutine (serve calls the handler directly).
		var (
			calls  int
			refuse error  // what the hook returns
			seen   string // the body the hook read
		)
		e := newEnv(t, db, func(c *httpapi.Config) {
			c.RegistrationLimit = func(r *http.Request) error {
				calls++
				b, err := io.ReadAll(r.Body)
				if err != nil {
					return err
				}
				seen = string(b)
				return refuse
			}
		})
		limited := fmt.Errorf("client 203.0.113.9: %w", httpapi.ErrRateLimited)
		cases := []struct {
			name   string
			r      req
			err    error
			status int
			code   string
		}{
			{"valid request", register(`{"redirect_uris":["https://app.example/cb"]}`), limited, 429, "slow_down"},
			{"body that does not parse", register(`{"redirect_uris":`), limited, 429, "slow_down"},
			{"wrong method", req{method: http.MethodDelete, target: "/register", header: http.Header{}}, limited, 429, "slow_down"},
			{"wrong content type", post("/register", "a=b"), limited, 429, "slow_down"},
			{"hook fails", register(`{"redirect_uris":["https://app.example/cb"]}`), errors.New("limiter store down"), 500, "server_error"},
		}
		before := e.Snapshot()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				refuse = tc.err
				n := calls
				rec := serve(e.Mux, tc.r)
				wantError(t, rec, tc.status, tc.code)
				wantNoStore(t, rec)
				if calls != n+1 || seen != tc.r.body {
					t.Errorf("hook called %d times, read %q; want once, reading %q", calls-n, seen, tc.r.body)
				}
			})
		}
		unchanged(t, before, e.Snapshot())
	})
}

// TestRegistrationLimitAllows: a hook that allows (without touching the
// body) lets the registration through.
func TestRegistrationLimitAllows(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	e := newEnv(t, testdb.DB{Name: "sqlite", Harness: testdb.SQLite()}, func(c *httpapi.Config) {
		c.RegistrationLimit = func(*http.Request) error { calls.Add(1); return nil }
	})
	rec := serve(e.Mux, register(`{"redirect_uris":["https://app.example/cb"]}`))
	if rec.Code != http.StatusCreated || calls.Load() != 1 {
		t.Errorf("status %d, hook called %d times: %s", rec.Code, calls.Load(), rec.Body)
	}
}

// TestRegistrationScopesNeedSupported: without Config.ScopesSupported a
// self-registered client may claim no scope (an anonymous registration
// must not put "admin" in front of a user), and one asking for none gets
// none; the database is unchanged by the refusal.
func TestRegistrationScopesNeedSupported(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		before := e.Snapshot()
		rec := serve(e.Mux, register(`{"redirect_uris":["https://evil.example/cb"],"token_endpoint_auth_method":"none","scope":"admin"}`))
		wantNoStore(t, rec)
		wantError(t, rec, http.StatusBadRequest, "invalid_client_metadata")
		unchanged(t, before, e.Snapshot())

		rec = serve(e.Mux, register(`{"redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"none"}`))
		if rec.Code != http.StatusCreated {
			t.Fatalf("registration without scope: %d %s", rec.Code, rec.Body)
		}
		if s, ok := jsonBody(t, rec)["scope"]; ok && s != "" {
			t.Errorf("a client asking for no scope got %q", s)
		}
	})
}
