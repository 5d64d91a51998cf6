package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// introspectPath is where Mount puts the introspection endpoint.
const introspectPath = "/introspect"

// inactiveBody is the whole answer about an inactive token (RFC 7662 §2.2).
var inactiveBody = map[string]any{"active": false}

// accessBody is the introspection response for access token claims c.
func accessBody(c token.Claims) map[string]any {
	aud := make([]any, len(c.Audience))
	for i, a := range c.Audience {
		aud[i] = a
	}
	return map[string]any{"active": true, "scope": c.Scope, "client_id": c.ClientID, "token_type": "Bearer",
		"exp": float64(c.Expiry.Time().Unix()), "iat": float64(c.IssuedAt.Time().Unix()), "sub": c.Subject,
		"aud": aud, "iss": c.Issuer, "jti": c.ID, "subject_kind": c.SubjectKind, "grant_id": c.GrantID}
}

// refreshBody is the introspection response for refresh token raw of s.
func (e *env) refreshBody(s testenv.Session, raw string) map[string]any {
	e.T.Helper()
	rt, err := e.Store.GetRefreshToken(context.Background(), testdb.Hash(raw))
	if err != nil {
		e.T.Fatal(err)
	}
	exp := rt.ExpiresAt // idle (15 days) before absolute (90 days)
	return map[string]any{"active": true, "scope": "read write", "client_id": s.Client.ID, "token_type": "refresh_token",
		"exp": float64(exp.Unix()), "iat": float64(rt.CreatedAt.Unix()), "sub": s.Grant.Subject,
		"iss": testenv.Issuer, "jti": rt.ID, "subject_kind": s.Grant.SubjectKind, "grant_id": s.Grant.ID}
}

// TestIntrospection covers the answers of RFC 7662 §2.2 and §2.3 at the
// mounted endpoint: 200 with every member for the caller's own active
// access and refresh tokens (and for another client's when
// MayIntrospect allows), exactly {"active":false} for revoked, unknown and
// other clients' tokens; invalid_request, invalid_client (401 with
// WWW-Authenticate, a public client included) and unsupported_token_type
// as JSON errors. Every answer has the no-store headers; none changes the
// database.
func TestIntrospection(t *testing.T) {
	t.Parallel()
	allowAll := testenv.WithServerConfig(func(c *token.ServerConfig) {
		c.MayIntrospect = func(store.Client, store.Grant) bool { return true }
	})
	cases := []struct {
		name   string
		opts   []testenv.Option
		setup  func(e *env) (req, map[string]any)
		status int
		code   string // "" for a success
	}{
		{name: "own access token, client_secret_basic", status: 200, setup: func(e *env) (req, map[string]any) {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(introspectPath, form("token", s.Resp.AccessToken)).basic(s.Client.ID, s.Client.Secret),
				accessBody(s.Resp.Claims)
		}},
		{name: "own access token, client_secret_post, hint refresh_token", status: 200, setup: func(e *env) (req, map[string]any) {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(introspectPath, form("client_id", s.Client.ID, "client_secret", s.Client.Secret,
				"token", s.Resp.AccessToken, "token_type_hint", "refresh_token")), accessBody(s.Resp.Claims)
		}},
		{name: "own refresh token", status: 200, setup: func(e *env) (req, map[string]any) {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(introspectPath, form("token", s.Resp.RefreshToken, "token_type_hint", "refresh_token")).
				basic(s.Client.ID, s.Client.Secret), e.refreshBody(s, s.Resp.RefreshToken)
		}},
		{name: "revoked grant", status: 200, setup: func(e *env) (req, map[string]any) {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			if _, err := e.Manager.Revoke(context.Background(), []string{s.Grant.ID}, grant.ReasonUserRevoked, "alice"); err != nil {
				t.Fatal(err)
			}
			return post(introspectPath, form("token", s.Resp.AccessToken)).basic(s.Client.ID, s.Client.Secret), inactiveBody
		}},
		{name: "unknown token", status: 200, setup: func(e *env) (req, map[string]any) {
			c := e.Client(testenv.Confidential)
			return post(introspectPath, form("token", "gk_rt_unknown")).basic(c.ID, c.Secret), inactiveBody
		}},
		{name: "another client's token", status: 200, setup: func(e *env) (req, map[string]any) {
			s := e.Login(e.Client(), "alice")
			rs := e.Client(testenv.Confidential)
			return post(introspectPath, form("token", s.Resp.AccessToken)).basic(rs.ID, rs.Secret), inactiveBody
		}},
		{name: "another client's token, MayIntrospect allows", opts: []testenv.Option{allowAll}, status: 200,
			setup: func(e *env) (req, map[string]any) {
				s := e.Login(e.Client(), "alice")
				rs := e.Client(testenv.Confidential)
				return post(introspectPath, form("token", s.Resp.AccessToken)).basic(rs.ID, rs.Secret), accessBody(s.Resp.Claims)
			}},
		{name: "public client", status: 401, code: "invalid_client", setup: func(e *env) (req, map[string]any) {
			s := e.Login(e.Client(), "alice")
			return post(introspectPath, form("client_id", s.Client.ID, "token", s.Resp.AccessToken)), nil
		}},
		{name: "wrong secret", status: 401, code: "invalid_client", setup: func(e *env) (req, map[string]any) {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(introspectPath, form("token", s.Resp.AccessToken)).basic(s.Client.ID, "gk_cs_wrong"), nil
		}},
		{name: "unknown client", status: 401, code: "invalid_client", setup: func(e *env) (req, map[string]any) {
			return post(introspectPath, form("token", "gk_rt_x")).basic("nobody", "secret"), nil
		}},
		{name: "missing token", status: 400, code: "invalid_request", setup: func(e *env) (req, map[string]any) {
			c := e.Client(testenv.Confidential)
			return post(introspectPath, form("token_type_hint", "access_token")).basic(c.ID, c.Secret), nil
		}},
		{name: "unsupported token type", status: 400, code: "unsupported_token_type", setup: func(e *env) (req, map[string]any) {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(introspectPath, form("token", s.Resp.AccessToken, "token_type_hint", "id_token")).
				basic(s.Client.ID, s.Client.Secret), nil
		}},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnvWith(t, db, tt.opts)
				r, want := tt.setup(e)
				before := e.Snapshot()
				rec := serve(e.Mux, r)
				wantNoStore(t, rec)
				if tt.code != "" {
					wantError(t, rec, tt.status, tt.code)
					if tt.code == "invalid_client" {
						wantInvalidClient(t, rec)
					}
				} else {
					if rec.Code != tt.status || rec.Header().Get("Content-Type") != "application/json" {
						t.Errorf("status %d, Content-Type %q; want %d, application/json", rec.Code,
							rec.Header().Get("Content-Type"), tt.status)
					}
					if diff := cmp.Diff(want, jsonBody(t, rec)); diff != "" {
						t.Errorf("introspection response (-want +got):\n%s", diff)
					}
				}
				unchanged(t, before, e.Snapshot())
			})
		}
	})
}

// TestIntrospectionBadInput sends malformed requests (badForms): each gets
// its 4xx JSON error with no-store headers and changes nothing.
func TestIntrospectionBadInput(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		s := e.Login(e.Client(testenv.Confidential), "alice")
		before := e.Snapshot()
		for _, tt := range badForms(introspectPath, s.Client, s.Resp.AccessToken) {
			t.Run(tt.name, func(t *testing.T) {
				rec := serve(e.Mux, tt.r)
				wantError(t, rec, tt.status, tt.code)
				wantNoStore(t, rec)
				if tt.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodPost {
					t.Errorf("Allow = %q, want POST", rec.Header().Get("Allow"))
				}
				if tt.code == "invalid_client" {
					wantInvalidClient(t, rec)
				}
				if _, ok := jsonBody(t, rec)["active"]; ok {
					t.Errorf("an error answer holds active: %s", rec.Body)
				}
				unchanged(t, before, e.Snapshot())
			})
		}
	})
}

// TestIntrospectionFaults fails every store call an introspection makes,
// on each path (faultstore, k = 1 … Calls, counted on a twin): each time
// the answer is server_error 500 with no-store headers, never an active
// answer and no token in it, and the database is unchanged. Without a
// failure the same calls are made.
func TestIntrospectionFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		setup  func(e *env) req
		active bool
	}{
		{name: "active access token", active: true, setup: func(e *env) req {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(introspectPath, form("token", s.Resp.AccessToken)).basic(s.Client.ID, s.Client.Secret)
		}},
		{name: "active refresh token", active: true, setup: func(e *env) req {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(introspectPath, form("token", s.Resp.RefreshToken)).basic(s.Client.ID, s.Client.Secret)
		}},
		{name: "unknown refresh token", setup: func(e *env) req {
			c := e.Client(testenv.Confidential)
			return post(introspectPath, form("token", "gk_rt_unknown")).basic(c.ID, c.Secret)
		}},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				twin := newEnv(t, db)
				r := tt.setup(twin)
				probe := faultstore.Wrap(twin.Store, 0)
				rec := serve(twin.handlerOver(probe).Introspection(), r)
				if rec.Code != http.StatusOK || jsonBody(t, rec)["active"] != tt.active {
					t.Fatalf("probe run: status %d, body %s; want active %v", rec.Code, rec.Body, tt.active)
				}
				calls := probe.Trace()

				e := newEnv(t, db)
				r = tt.setup(e)
				before := e.Snapshot()
				for _, f := range faults(len(calls)) {
					k := f.k
					rec := f.serve(t, e.handlerOver(f.store(e.Store)).Introspection(), r)
					wantError(t, rec, http.StatusInternalServerError, "server_error")
					wantNoStore(t, rec)
					body := rec.Body.String()
					if strings.Contains(body, "active") || strings.Contains(body, "gk_") || strings.Contains(body, "eyJ") {
						t.Errorf("failure at call %d (%s): the body says too much: %s", k, calls[k-1], body)
					}
					unchanged(t, before, e.Snapshot())
					if t.Failed() {
						t.Fatalf("failure at call %d (%s)", k, calls[k-1])
					}
				}
				full := faultstore.Wrap(e.Store, 0)
				rec = serve(e.handlerOver(full).Introspection(), r)
				if rec.Code != http.StatusOK || jsonBody(t, rec)["active"] != tt.active {
					t.Fatalf("run without failure: status %d, body %s; want active %v", rec.Code, rec.Body, tt.active)
				}
				if diff := cmp.Diff(calls, full.Trace()); diff != "" {
					t.Errorf("calls differ from the twin's (-twin +run):\n%s", diff)
				}
				t.Logf("%d store calls: %v", len(calls), calls)
			})
		}
	})
}
