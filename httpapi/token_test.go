package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
)

// TestTokenErrors covers every error row of RFC 6749 §5.2 at the token
// endpoint (with RFC 8707's invalid_target), and its successes: each case
// asserts the status, the JSON error and the no-store headers, which must
// be on every response.
func TestTokenErrors(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		pub := e.Client()
		conf := e.Client(testenv.Confidential)
		noRefresh := e.Client(testenv.NoRefresh)
		// fresh returns an unredeemed code of c.
		fresh := func(c testenv.Client) string { return e.Authorize(c, "alice").Code }
		usedAp := e.Authorize(pub, "bob")
		e.Exchange(testenv.CodeRequest(pub, usedAp))
		used := usedAp.Code
		cases := []struct {
			name   string
			req    func() req
			status int
			code   string // "" for a success
		}{
			{"public client exchanges", func() req {
				return post("/token", form(append(codeForm(fresh(pub), testenv.RedirectURI), "client_id", pub.ID)...))
			}, 200, ""},
			{"client_secret_basic", func() req {
				return post("/token", form(codeForm(fresh(conf), testenv.RedirectURI)...)).basic(conf.ID, conf.Secret)
			}, 200, ""},
			{"client_secret_post", func() req {
				return post("/token", form(append(codeForm(fresh(conf), testenv.RedirectURI),
					"client_id", conf.ID, "client_secret", conf.Secret)...))
			}, 200, ""},
			{"refresh", func() req {
				sess := e.Login(pub, "carol")
				return post("/token", form("grant_type", "refresh_token", "refresh_token", sess.Resp.RefreshToken, "client_id", pub.ID))
			}, 200, ""},
			{"refresh narrowing the scope", func() req {
				sess := e.Login(pub, "dave")
				return post("/token", form("grant_type", "refresh_token", "refresh_token", sess.Resp.RefreshToken,
					"client_id", pub.ID, "scope", "read"))
			}, 200, ""},
			{"refresh with the grant's resource", func() req {
				sess := e.Login(pub, "erin")
				return post("/token", form("grant_type", "refresh_token", "refresh_token", sess.Resp.RefreshToken,
					"client_id", pub.ID, "resource", testenv.Resource))
			}, 200, ""},

			// invalid_request
			{"no grant_type", func() req { return post("/token", form("client_id", pub.ID, "code", "x")) }, 400, "invalid_request"},
			{"no code", func() req {
				return post("/token", form("grant_type", "authorization_code", "client_id", pub.ID,
					"redirect_uri", testenv.RedirectURI, "code_verifier", testenv.PKCEVerifier))
			}, 400, "invalid_request"},
			{"no redirect_uri", func() req {
				return post("/token", form("grant_type", "authorization_code", "client_id", pub.ID,
					"code", fresh(pub), "code_verifier", testenv.PKCEVerifier))
			}, 400, "invalid_request"},
			{"no code_verifier", func() req {
				return post("/token", form("grant_type", "authorization_code", "client_id", pub.ID,
					"code", fresh(pub), "redirect_uri", testenv.RedirectURI))
			}, 400, "invalid_request"},
			{"no refresh_token", func() req { return post("/token", form("grant_type", "refresh_token", "client_id", pub.ID)) }, 400, "invalid_request"},
			{"a parameter twice", func() req {
				return post("/token", form(append(codeForm(fresh(pub), testenv.RedirectURI), "client_id", pub.ID, "client_id", pub.ID)...))
			}, 400, "invalid_request"},
			{"two authentication methods", func() req {
				return post("/token", form(append(codeForm(fresh(conf), testenv.RedirectURI), "client_secret", conf.Secret)...)).basic(conf.ID, conf.Secret)
			}, 400, "invalid_request"},
			{"Basic and body name different clients", func() req {
				return post("/token", form(append(codeForm(fresh(conf), testenv.RedirectURI), "client_id", pub.ID)...)).basic(conf.ID, conf.Secret)
			}, 400, "invalid_request"},

			// invalid_client (401, WWW-Authenticate)
			{"unknown client", func() req {
				return post("/token", form(append(codeForm(fresh(pub), testenv.RedirectURI), "client_id", "nobody")...))
			}, 401, "invalid_client"},
			{"no client at all", func() req { return post("/token", form(codeForm(fresh(pub), testenv.RedirectURI)...)) }, 401, "invalid_client"},
			{"wrong secret, basic", func() req {
				return post("/token", form(codeForm(fresh(conf), testenv.RedirectURI)...)).basic(conf.ID, "wrong")
			}, 401, "invalid_client"},
			{"wrong secret, post", func() req {
				return post("/token", form(append(codeForm(fresh(conf), testenv.RedirectURI), "client_id", conf.ID, "client_secret", "wrong")...))
			}, 401, "invalid_client"},
			{"confidential client without its secret", func() req {
				return post("/token", form(append(codeForm(fresh(conf), testenv.RedirectURI), "client_id", conf.ID)...))
			}, 401, "invalid_client"},
			{"public client sending a secret", func() req {
				return post("/token", form(codeForm(fresh(pub), testenv.RedirectURI)...)).basic(pub.ID, "made-up")
			}, 401, "invalid_client"},
			{"malformed Basic", func() req {
				r := post("/token", form(codeForm(fresh(conf), testenv.RedirectURI)...))
				r.header.Set("Authorization", "Basic %%%")
				return r
			}, 401, "invalid_client"},
			{"Bearer instead of Basic", func() req {
				r := post("/token", form(codeForm(fresh(conf), testenv.RedirectURI)...))
				r.header.Set("Authorization", "Bearer abc")
				return r
			}, 401, "invalid_client"},

			// invalid_grant
			{"unknown code", func() req {
				return post("/token", form(append(codeForm("gk_ac_nonsense", testenv.RedirectURI), "client_id", pub.ID)...))
			}, 400, "invalid_grant"},
			{"wrong redirect_uri", func() req {
				return post("/token", form(append(codeForm(fresh(pub), testenv.OtherRedirectURI), "client_id", pub.ID)...))
			}, 400, "invalid_grant"},
			{"wrong code_verifier", func() req {
				f := codeForm(fresh(pub), testenv.RedirectURI)
				f[len(f)-1] = strings.Repeat("a", 43)
				return post("/token", form(append(f, "client_id", pub.ID)...))
			}, 400, "invalid_grant"},
			{"another client's code", func() req {
				return post("/token", form(codeForm(fresh(pub), testenv.RedirectURI)...)).basic(conf.ID, conf.Secret)
			}, 400, "invalid_grant"},
			{"a used code", func() req {
				return post("/token", form(append(codeForm(used, testenv.RedirectURI), "client_id", pub.ID)...))
			}, 400, "invalid_grant"},
			{"unknown refresh token", func() req {
				return post("/token", form("grant_type", "refresh_token", "refresh_token", "gk_rt_nonsense", "client_id", pub.ID))
			}, 400, "invalid_grant"},

			// unauthorized_client, unsupported_grant_type, invalid_scope, invalid_target
			{"client not registered for refresh_token", func() req {
				return post("/token", form("grant_type", "refresh_token", "refresh_token", "gk_rt_x", "client_id", noRefresh.ID))
			}, 400, "unauthorized_client"},
			{"password grant", func() req {
				return post("/token", form("grant_type", "password", "username", "u", "password", "p", "client_id", pub.ID))
			}, 400, "unsupported_grant_type"},
			{"client_credentials grant", func() req {
				return post("/token", form("grant_type", "client_credentials")).basic(conf.ID, conf.Secret)
			}, 400, "unsupported_grant_type"},
			{"scope beyond the grant", func() req {
				sess := e.Login(pub, "frank")
				return post("/token", form("grant_type", "refresh_token", "refresh_token", sess.Resp.RefreshToken,
					"client_id", pub.ID, "scope", "admin"))
			}, 400, "invalid_scope"},
			{"another resource", func() req {
				return post("/token", form(append(codeForm(fresh(pub), testenv.RedirectURI), "client_id", pub.ID,
					"resource", "https://other.example/")...))
			}, 400, "invalid_target"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rec := serve(e.Mux, tc.req())
				wantNoStore(t, rec)
				if tc.code == "" {
					tokens(t, rec)
					return
				}
				wantError(t, rec, tc.status, tc.code)
				if tc.code == "invalid_client" && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("invalid_client without a Basic WWW-Authenticate: %q", rec.Header().Get("WWW-Authenticate"))
				}
			})
		}
	})
}

// TestTokenBadInput sends malformed requests: each gets a 4xx JSON error
// with no-store headers and leaves the database exactly as it was.
func TestTokenBadInput(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		pub := e.Client()
		code := e.Authorize(pub, "alice").Code
		good := form(append(codeForm(code, testenv.RedirectURI), "client_id", pub.ID)...)
		withType := func(ct string) req { r := post("/token", good); r.contentType = ct; return r }
		cases := []struct {
			name   string
			req    req
			status int
			code   string
		}{
			{"GET", req{method: http.MethodGet, target: "/token?" + good, header: http.Header{}}, 405, "invalid_request"},
			{"PUT", req{method: http.MethodPut, target: "/token", contentType: "application/x-www-form-urlencoded", body: good, header: http.Header{}}, 405, "invalid_request"},
			{"JSON body", withType("application/json"), 400, "invalid_request"},
			{"no content type", withType(""), 400, "invalid_request"},
			{"multipart", withType("multipart/form-data; boundary=x"), 400, "invalid_request"},
			{"form with a charset", func() req {
				r := withType("application/x-www-form-urlencoded; charset=utf-8")
				r.body = strings.Replace(good, "code=", "code=x", 1)
				return r
			}(), 400, "invalid_grant"},
			{"parameters only in the query", req{method: http.MethodPost, target: "/token?" + good,
				contentType: "application/x-www-form-urlencoded", header: http.Header{}}, 400, "invalid_request"},
			{"empty body", post("/token", ""), 400, "invalid_request"},
			{"empty values", post("/token", "grant_type=&code=&client_id="), 400, "invalid_request"},
			{"duplicate grant_type", post("/token", good+"&grant_type=authorization_code"), 400, "invalid_request"},
			{"duplicate with an empty second", post("/token", good+"&code="), 400, "invalid_request"},
			{"bad percent-escape", post("/token", good+"&x=%zz"), 400, "invalid_request"},
			{"NUL byte in a value", post("/token", strings.Replace(good, "code=", "code=%00", 1)), 400, "invalid_request"},
			{"NUL byte in a name", post("/token", good+"&a%00b=1"), 400, "invalid_request"},
			{"invalid UTF-8", post("/token", good+"&x=%ff%fe"), 400, "invalid_request"},
			{"semicolon separator", post("/token", strings.ReplaceAll(good, "&", ";")), 400, "invalid_request"},
			{"unknown client", post("/token", strings.Replace(good, "client_id="+pub.ID, "client_id=ghost", 1)), 401, "invalid_client"},
			{"2 MiB body", post("/token", good+"&pad="+strings.Repeat("a", 2<<20)), 413, "invalid_request"},
		}
		before := e.Snapshot()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				rec := serve(e.Mux, tc.req)
				wantNoStore(t, rec)
				if rec.Code != tc.status || rec.Code < 400 || rec.Code >= 500 {
					t.Errorf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
				}
				m := jsonBody(t, rec)
				if m["error"] != tc.code || m["access_token"] != nil {
					t.Errorf("not an error response: %s", rec.Body)
				}
				if tc.status == 405 && rec.Header().Get("Allow") != http.MethodPost {
					t.Errorf("Allow = %q, want POST", rec.Header().Get("Allow"))
				}
			})
		}
		unchanged(t, before, e.Snapshot())
		// The code is still redeemable: the bad requests consumed nothing.
		tokens(t, serve(e.Mux, post("/token", good)))
	})
}

// panicStore panics where a store would fail: a bug in a host's wrapper
// or an adapter.
type panicStore struct{ store.Store }

func (panicStore) GetClient(context.Context, string) (store.Client, error) { panic("store exploded") }

// TestTokenPanic: a panic under the token endpoint is answered as a JSON
// server_error 500 that still carries the no-store headers, and holds no
// token.
func TestTokenPanic(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		c := e.Client()
		rec := serve(e.MuxOver(panicStore{e.Store}), post("/token",
			form(append(codeForm(e.Authorize(c, "alice").Code, testenv.RedirectURI), "client_id", c.ID)...)))
		wantNoStore(t, rec)
		wantError(t, rec, http.StatusInternalServerError, "server_error")
	})
}
