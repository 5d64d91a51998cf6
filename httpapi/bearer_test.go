package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/token"
)

// metadataURL is testenv.Resource's RFC 9728 metadata URL.
const metadataURL = "https://api.example/.well-known/oauth-protected-resource/mcp"

// protected is a resource handler behind a Bearer: it records the claims
// it was called with.
type protected struct {
	calls  atomic.Int32
	claims atomic.Pointer[token.Claims]
}

func (p *protected) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	if c, ok := httpapi.ClaimsFromContext(r.Context()); ok {
		p.claims.Store(&c)
	}
	w.WriteHeader(http.StatusTeapot)
}

// newBearer is a Bearer over v with metadataURL.
func newBearer(t *testing.T, v *token.Verifier) *httpapi.Bearer {
	t.Helper()
	b, err := httpapi.NewBearer(httpapi.BearerConfig{Verifier: v, ResourceMetadata: metadataURL,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bearerGet is a GET of the protected resource with the given
// Authorization headers.
func bearerGet(target string, auth ...string) req {
	r := apiGet(target)
	for _, a := range auth {
		r.header.Add("Authorization", a)
	}
	return r
}

// TestBearer runs the middleware on every kind of credential (RFC 6750
// §2.1, §3.1; RFC 9728 §5.1): a valid token reaches next with its claims,
// whatever the scheme's case; a missing one, or another scheme, is a 401
// challenge without error code; a malformed header or a token in the
// query is 400 invalid_request; a token the Verifier refuses — garbage,
// expired, for another resource, of a revoked grant, signed by an unknown
// key — is 401 invalid_token. Every challenge carries resource_metadata,
// and next is never called on a refusal.
func TestBearer(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		s := e.Login(e.Client(), "alice")
		at := s.Resp.AccessToken
		revoked := e.connect("Revoked", "alice", "", false)
		if _, err := e.Manager.Revoke(context.Background(), []string{revoked.Grant.ID}, grant.ReasonTokenRevoked, "alice"); err != nil {
			t.Fatal(err)
		}
		otherReq := testenv.Request(e.Client().ID, "alice")
		otherReq.Resource = "https://other.example/api"
		other := e.Mint(e.ActiveGrant(otherReq).Grant)
		foreign := testenv.New(t, db)
		foreignAT := foreign.Login(foreign.Client(), "alice").Resp.AccessToken

		const (
			noError      = `Bearer resource_metadata="` + metadataURL + `"`
			invalidReq   = `Bearer error="invalid_request", error_description="`
			invalidToken = `Bearer error="invalid_token", error_description="`
		)
		cases := []struct {
			name      string
			r         req
			status    int
			challenge string // the WWW-Authenticate header, or its beginning ending in `="`
			code      string // the JSON body's error; "" for no body
		}{
			{name: "valid", r: bearerGet("/mcp", "Bearer "+at), status: http.StatusTeapot},
			{name: "lower-case scheme", r: bearerGet("/mcp", "bearer "+at), status: http.StatusTeapot},
			{name: "upper-case scheme, two spaces", r: bearerGet("/mcp", "BEARER  "+at), status: http.StatusTeapot},
			{name: "missing", r: bearerGet("/mcp"), status: 401, challenge: noError},
			{name: "Basic", r: bearerGet("/mcp", "Basic YTpi"), status: 401, challenge: noError},
			{name: "DPoP", r: bearerGet("/mcp", "DPoP "+at), status: 401, challenge: noError},
			{name: "scheme only", r: bearerGet("/mcp", "Bearer"), status: 400, challenge: invalidReq, code: "invalid_request"},
			{name: "scheme and space", r: bearerGet("/mcp", "Bearer "), status: 400, challenge: invalidReq, code: "invalid_request"},
			{name: "two tokens", r: bearerGet("/mcp", "Bearer "+at+" "+at), status: 400, challenge: invalidReq,
				code: "invalid_request"},
			{name: "not a b64token", r: bearerGet("/mcp", `Bearer a"b`), status: 400, challenge: invalidReq,
				code: "invalid_request"},
			{name: "only padding", r: bearerGet("/mcp", "Bearer =="), status: 400, challenge: invalidReq,
				code: "invalid_request"},
			{name: "two headers", r: bearerGet("/mcp", "Bearer "+at, "Bearer "+at), status: 400, challenge: invalidReq,
				code: "invalid_request"},
			{name: "token in the query", r: bearerGet("/mcp?access_token=" + at), status: 400, challenge: invalidReq,
				code: "invalid_request"},
			{name: "token in the query and the header", r: bearerGet("/mcp?access_token="+at, "Bearer "+at),
				status: 400, challenge: invalidReq, code: "invalid_request"},
			{name: "garbage", r: bearerGet("/mcp", "Bearer abc.def.ghi"), status: 401, challenge: invalidToken,
				code: "invalid_token"},
			{name: "opaque", r: bearerGet("/mcp", "Bearer gk_rt_abc"), status: 401, challenge: invalidToken,
				code: "invalid_token"},
			{name: "truncated", r: bearerGet("/mcp", "Bearer "+at[:len(at)-3]), status: 401, challenge: invalidToken,
				code: "invalid_token"},
			{name: "revoked grant", r: bearerGet("/mcp", "Bearer "+revoked.Resp.AccessToken), status: 401,
				challenge: invalidToken, code: "invalid_token"},
			{name: "another resource's", r: bearerGet("/mcp", "Bearer "+other), status: 401, challenge: invalidToken,
				code: "invalid_token"},
			{name: "unknown key", r: bearerGet("/mcp", "Bearer "+foreignAT), status: 401, challenge: invalidToken,
				code: "invalid_token"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				next := &protected{}
				rec := serve(newBearer(t, e.Verifier).Middleware(next), tc.r)
				checkRefusal(t, rec, tc.status, tc.challenge, tc.code)
				if tc.status == http.StatusTeapot {
					c := next.claims.Load()
					if next.calls.Load() != 1 || c == nil || c.GrantID != s.Grant.ID || c.Subject != "alice" {
						t.Errorf("next was called %d times with claims %+v", next.calls.Load(), c)
					}
					return
				}
				if n := next.calls.Load(); n != 0 {
					t.Errorf("next was called %d times on a refusal", n)
				}
				if strings.Contains(rec.Body.String()+rec.Header().Get("WWW-Authenticate"), at[:20]) {
					t.Error("the refusal echoes the token")
				}
			})
		}

		// Expired (after the leeway): the same token, later.
		e.Clock.Advance(24 * time.Hour)
		next := &protected{}
		rec := serve(newBearer(t, e.Verifier).Middleware(next), bearerGet("/mcp", "Bearer "+at))
		checkRefusal(t, rec, 401, invalidToken, "invalid_token")
		if !strings.Contains(rec.Header().Get("WWW-Authenticate"), "expired") || next.calls.Load() != 0 {
			t.Errorf("expired token: %q, next called %d times", rec.Header().Get("WWW-Authenticate"), next.calls.Load())
		}
	})
}

// checkRefusal fails unless rec has status, a WWW-Authenticate equal to
// challenge (or beginning with it, when it ends in `="`) and ending in
// resource_metadata, and a JSON error code (no body when code is "").
func checkRefusal(t *testing.T, rec *httptest.ResponseRecorder, status int, challenge, code string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	got := rec.Header().Get("WWW-Authenticate")
	switch {
	case challenge == "":
		if got != "" {
			t.Errorf("WWW-Authenticate = %q, want none", got)
		}
	case strings.HasSuffix(challenge, `="`):
		if !strings.HasPrefix(got, challenge) || !strings.HasSuffix(got, `", resource_metadata="`+metadataURL+`"`) {
			t.Errorf("WWW-Authenticate = %q, want %s…, resource_metadata=%q", got, challenge, metadataURL)
		}
	default:
		if got != challenge {
			t.Errorf("WWW-Authenticate = %q, want %q", got, challenge)
		}
	}
	if code == "" {
		if status >= 400 && rec.Body.Len() != 0 {
			t.Errorf("body = %q, want none", rec.Body)
		}
		return
	}
	if m := jsonBody(t, rec); m["error"] != code {
		t.Errorf("error = %v, want %q", m["error"], code)
	}
}

// TestBearerScopes: RequireScopes passes a token with every scope asked
// for and answers one without with 403 insufficient_scope naming the
// scopes needed (RFC 6750 §3.1); behind no Middleware it fails closed.
// InsufficientScope quotes what it is given.
func TestBearerScopes(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		s := e.Login(e.Client(), "alice")
		readOnly := e.Mint(s.Grant, "read")
		b := newBearer(t, e.Verifier)
		insufficient := func(scope string) string {
			return `Bearer error="insufficient_scope", error_description="the access token lacks a scope the request needs", ` +
				`scope="` + scope + `", resource_metadata="` + metadataURL + `"`
		}
		cases := []struct {
			name      string
			token     string
			need      []string
			status    int
			challenge string
		}{
			{name: "has them", token: s.Resp.AccessToken, need: []string{"read", "write"}, status: http.StatusTeapot},
			{name: "needs none", token: readOnly, status: http.StatusTeapot},
			{name: "has one", token: readOnly, need: []string{"read"}, status: http.StatusTeapot},
			{name: "lacks one", token: readOnly, need: []string{"read", "write"}, status: 403,
				challenge: insufficient("read write")},
			{name: "lacks an unknown one", token: s.Resp.AccessToken, need: []string{"admin"}, status: 403,
				challenge: insufficient("admin")},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				next := &protected{}
				rec := serve(b.Middleware(b.RequireScopes(tc.need...)(next)), bearerGet("/mcp", "Bearer "+tc.token))
				code := ""
				if tc.status == 403 {
					code = "insufficient_scope"
				}
				checkRefusal(t, rec, tc.status, tc.challenge, code)
				want := int32(0)
				if tc.status == http.StatusTeapot {
					want = 1
				}
				if n := next.calls.Load(); n != want {
					t.Errorf("next called %d times, want %d", n, want)
				}
			})
		}

		next := &protected{}
		rec := serve(b.RequireScopes("read")(next), bearerGet("/mcp", "Bearer "+s.Resp.AccessToken))
		if rec.Code != http.StatusInternalServerError || next.calls.Load() != 0 {
			t.Errorf("RequireScopes without Middleware: %d, next called %d times; want 500 and none", rec.Code, next.calls.Load())
		}

		w := httptest.NewRecorder()
		b.InsufficientScope(w, `a"b`, `c\d`)
		if got, want := w.Header().Get("WWW-Authenticate"), insufficient(`a\"b c\\d`); got != want {
			t.Errorf("WWW-Authenticate = %q, want %q", got, want)
		}
	})
}

// TestBearerFaults fails, one at a time, every store call of the
// Verifier's grant check (faultstore): each is a 500 server_error without
// a challenge and without calling next, and changes nothing; without a
// failure the same request passes.
func TestBearerFaults(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		s := e.Login(e.Client(), "alice")
		r := bearerGet("/mcp", "Bearer "+s.Resp.AccessToken)

		count := faultstore.Wrap(e.Store, 0)
		next := &protected{}
		if rec := serve(newBearer(t, e.VerifierOver(count)).Middleware(next), r); rec.Code != http.StatusTeapot {
			t.Fatalf("without a failure: %d %s", rec.Code, rec.Body)
		}
		if count.Calls() == 0 {
			t.Fatal("the Verifier made no store call")
		}
		for _, f := range faults(count.Calls()) {
			k := f.k
			next := &protected{}
			before := e.Snapshot()
			rec := f.serve(t, newBearer(t, e.VerifierOver(f.store(e.Store))).Middleware(next), r)
			checkRefusal(t, rec, http.StatusInternalServerError, "", "server_error")
			if next.calls.Load() != 0 {
				t.Errorf("step %d: next was called", k)
			}
			if strings.Contains(rec.Body.String(), "faultstore") {
				t.Errorf("step %d: the 500 shows the internal error: %s", k, rec.Body)
			}
			unchanged(t, before, e.Snapshot())
		}
	})
}

// TestNewBearer refuses a config without a Verifier or with a
// ResourceMetadata that is not an https URL.
func TestNewBearer(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		cases := []struct {
			name string
			cfg  httpapi.BearerConfig
			ok   bool
		}{
			{name: "ok", cfg: httpapi.BearerConfig{Verifier: e.Verifier, ResourceMetadata: metadataURL}, ok: true},
			{name: "loopback http", cfg: httpapi.BearerConfig{Verifier: e.Verifier,
				ResourceMetadata: "http://127.0.0.1:8080/.well-known/oauth-protected-resource"}, ok: true},
			{name: "no verifier", cfg: httpapi.BearerConfig{ResourceMetadata: metadataURL}},
			{name: "no metadata", cfg: httpapi.BearerConfig{Verifier: e.Verifier}},
			{name: "relative", cfg: httpapi.BearerConfig{Verifier: e.Verifier, ResourceMetadata: "/.well-known/x"}},
			{name: "http", cfg: httpapi.BearerConfig{Verifier: e.Verifier, ResourceMetadata: "http://api.example/x"}},
			{name: "fragment", cfg: httpapi.BearerConfig{Verifier: e.Verifier, ResourceMetadata: metadataURL + "#"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := httpapi.NewBearer(tc.cfg)
				if (err == nil) != tc.ok {
					t.Errorf("NewBearer = %v, want ok %v", err, tc.ok)
				}
			})
		}
	})
}
