package httpapi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
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

// revokePath is where Mount puts the revocation endpoint.
const revokePath = "/revoke"

// wantInvalidClient fails unless rec is invalid_client 401 with a Basic
// challenge (RFC 6749 §5.2).
func wantInvalidClient(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic realm=") {
		t.Errorf("WWW-Authenticate = %q, want a Basic challenge", got)
	}
}

// TestRevocation covers every answer of RFC 7009 §2.2 and §2.2.1 at the
// mounted endpoint: 200 with an empty body for a token revoked (its grant
// with it, whatever the hint and however the client authenticates) and for
// an unknown one; invalid_request, invalid_client (401 with
// WWW-Authenticate), unauthorized_client and unsupported_token_type as
// JSON errors. Every answer has the no-store headers; only a revocation
// changes the database.
func TestRevocation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// setup returns the request and the session whose grant it is about.
		setup   func(e *env) (req, testenv.Session)
		status  int
		code    string // "" for a success
		revoked bool
	}{
		{name: "refresh token, client_secret_basic", status: 200, revoked: true, setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(revokePath, form("token", s.Resp.RefreshToken)).basic(s.Client.ID, s.Client.Secret), s
		}},
		{name: "refresh token, client_secret_post, hint", status: 200, revoked: true, setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(revokePath, form("client_id", s.Client.ID, "client_secret", s.Client.Secret,
				"token", s.Resp.RefreshToken, "token_type_hint", "refresh_token")), s
		}},
		{name: "access token, public client", status: 200, revoked: true, setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(), "alice")
			return post(revokePath, form("client_id", s.Client.ID, "token", s.Resp.AccessToken,
				"token_type_hint", "access_token")), s
		}},
		{name: "access token with hint refresh_token", status: 200, revoked: true, setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(), "alice")
			return post(revokePath, form("client_id", s.Client.ID, "token", s.Resp.AccessToken,
				"token_type_hint", "refresh_token")), s
		}},
		{name: "unknown token", status: 200, setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(), "alice")
			return post(revokePath, form("client_id", s.Client.ID, "token", "gk_rt_unknown")), s
		}},
		{name: "malformed token", status: 200, setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(), "alice")
			return post(revokePath, form("client_id", s.Client.ID, "token", "eyJhbGciOi.x.y")), s
		}},
		{name: "missing token", status: 400, code: "invalid_request", setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(revokePath, form("token_type_hint", "refresh_token")).basic(s.Client.ID, s.Client.Secret), s
		}},
		{name: "wrong secret", status: 401, code: "invalid_client", setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(revokePath, form("token", s.Resp.RefreshToken)).basic(s.Client.ID, "gk_cs_wrong"), s
		}},
		{name: "unknown client", status: 401, code: "invalid_client", setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(), "alice")
			return post(revokePath, form("client_id", "nobody", "token", s.Resp.RefreshToken)), s
		}},
		{name: "confidential client without its secret", status: 401, code: "invalid_client",
			setup: func(e *env) (req, testenv.Session) {
				s := e.Login(e.Client(testenv.Confidential), "alice")
				return post(revokePath, form("client_id", s.Client.ID, "token", s.Resp.RefreshToken)), s
			}},
		{name: "unsupported token type", status: 400, code: "unsupported_token_type", setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(), "alice")
			return post(revokePath, form("client_id", s.Client.ID, "token", s.Resp.RefreshToken,
				"token_type_hint", "id_token")), s
		}},
		{name: "another client's token", status: 400, code: "unauthorized_client", setup: func(e *env) (req, testenv.Session) {
			s := e.Login(e.Client(), "alice")
			other := e.Client(testenv.Confidential)
			return post(revokePath, form("token", s.Resp.RefreshToken)).basic(other.ID, other.Secret), s
		}},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db)
				r, s := tt.setup(e)
				before := e.Snapshot()
				rec := serve(e.Mux, r)
				wantNoStore(t, rec)
				if tt.code != "" {
					wantError(t, rec, tt.status, tt.code)
					if tt.code == "invalid_client" {
						wantInvalidClient(t, rec)
					}
				} else if rec.Code != tt.status || rec.Body.Len() != 0 {
					t.Errorf("status %d, body %q; want %d with an empty body", rec.Code, rec.Body, tt.status)
				}
				if !tt.revoked {
					unchanged(t, before, e.Snapshot())
					return
				}
				if g := e.Grant(s.Grant.ID); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonTokenRevoked {
					t.Errorf("grant is %s (%q), want revoked with %q", g.Status, g.RevokeReason, grant.ReasonTokenRevoked)
				}
				if _, err := e.Refresh(s.Client, s.Resp.RefreshToken); !errors.Is(err, token.ErrInvalidGrant) {
					t.Errorf("refresh after revocation: %v, want invalid_grant", err)
				}
				if _, err := e.Verify(s.Resp.AccessToken); err == nil {
					t.Error("the access token still verifies after revocation")
				}
			})
		}
	})
}

// TestRevocationBadInput sends malformed requests (badForms): each gets
// its 4xx JSON error with no-store headers and changes nothing.
func TestRevocationBadInput(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		s := e.Login(e.Client(testenv.Confidential), "alice")
		for _, tt := range badForms(revokePath, s.Client, s.Resp.RefreshToken) {
			t.Run(tt.name, func(t *testing.T) {
				before := e.Snapshot()
				rec := serve(e.Mux, tt.r)
				wantError(t, rec, tt.status, tt.code)
				wantNoStore(t, rec)
				if tt.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodPost {
					t.Errorf("Allow = %q, want POST", rec.Header().Get("Allow"))
				}
				if tt.code == "invalid_client" {
					wantInvalidClient(t, rec)
				}
				unchanged(t, before, e.Snapshot())
			})
		}
		if g := e.Grant(s.Grant.ID); g.Status != store.GrantActive {
			t.Errorf("after the bad requests the grant is %s", g.Status)
		}
	})
}

// TestRevocationFaults fails every store call a revocation makes, on each
// path (faultstore, k = 1 … Calls, counted on a twin): each time the
// answer is server_error 500 with no-store headers and no token in it —
// never the 200 that would tell the client its token is gone — and the
// database is unchanged. Without a failure the same calls are made.
func TestRevocationFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		setup   func(e *env) req
		status  int
		changes bool
	}{
		{name: "refresh token", status: 200, changes: true, setup: func(e *env) req {
			s := e.Login(e.Client(testenv.Confidential), "alice")
			return post(revokePath, form("token", s.Resp.RefreshToken)).basic(s.Client.ID, s.Client.Secret)
		}},
		{name: "access token", status: 200, changes: true, setup: func(e *env) req {
			s := e.Login(e.Client(), "alice")
			return post(revokePath, form("client_id", s.Client.ID, "token", s.Resp.AccessToken))
		}},
		{name: "unknown token", status: 200, setup: func(e *env) req {
			c := e.Client()
			return post(revokePath, form("client_id", c.ID, "token", "gk_rt_unknown"))
		}},
		{name: "wrong secret", status: 401, setup: func(e *env) req {
			c := e.Client(testenv.Confidential)
			return post(revokePath, form("token", "gk_rt_x")).basic(c.ID, "gk_cs_wrong")
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
				if rec := serve(twin.handlerOver(probe).Revocation(), r); rec.Code != tt.status {
					t.Fatalf("probe run: status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
				}
				calls := probe.Trace()

				e := newEnv(t, db)
				r = tt.setup(e)
				before := e.Snapshot()
				for _, f := range faults(len(calls)) {
					k := f.k
					rec := f.serve(t, e.handlerOver(f.store(e.Store)).Revocation(), r)
					wantError(t, rec, http.StatusInternalServerError, "server_error")
					wantNoStore(t, rec)
					if strings.Contains(rec.Body.String(), "gk_") || strings.Contains(rec.Body.String(), "eyJ") {
						t.Errorf("failure at call %d (%s): the body holds token material: %s", k, calls[k-1], rec.Body)
					}
					unchanged(t, before, e.Snapshot())
					if t.Failed() {
						t.Fatalf("failure at call %d (%s)", k, calls[k-1])
					}
				}
				full := faultstore.Wrap(e.Store, 0)
				if rec := serve(e.handlerOver(full).Revocation(), r); rec.Code != tt.status {
					t.Fatalf("run without failure: status %d, want %d", rec.Code, tt.status)
				}
				if got := full.Trace(); strings.Join(got, " ") != strings.Join(calls, " ") {
					t.Errorf("calls %v differ from the twin's %v", got, calls)
				}
				if changed := !cmp.Equal(before, e.Snapshot()); changed != tt.changes {
					t.Errorf("run without failure changed the database: %v, want %v", changed, tt.changes)
				}
				t.Logf("%d store calls: %v", len(calls), calls)
			})
		}
	})
}
