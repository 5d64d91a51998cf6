package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
)

// TestAuthzFaults fails, one at a time, every store call (faultstore, k =
// 1 … Calls), then stalls each until the request's deadline passes, of a
// registration, an authorization request, an approval and
// a denial. Each time the answer is a server error — a 500 (JSON at
// registration, a page for the user before the redirect URI is trusted)
// or, once the client's redirect URI is trusted, a redirect with
// error=server_error (RFC 6749 §4.1.2.1: a 500 cannot reach the client) —
// with no code, no client secret, nothing for the observer, and the
// database exactly as it was. Without a failure the same requests succeed.
func TestAuthzFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// setup prepares e and returns the request under test.
		setup func(e *env, a *authorizer) req
		// ok is the status of the request without failure.
		ok int
	}{
		{name: "registration", ok: http.StatusCreated, setup: func(e *env, _ *authorizer) req {
			return register(`{"redirect_uris":["https://app.example/cb"],"client_name":"x"}`)
		}},
		{name: "authorize", ok: http.StatusOK, setup: func(e *env, _ *authorizer) req {
			return get("/authorize?"+authorizeQuery(e.Client().ID), "alice")
		}},
		{name: "approve", ok: http.StatusFound, setup: func(e *env, _ *authorizer) req {
			return decision(e.Start(testenv.Request(e.Client().ID, "alice")).Request.ID, httpapi.DecisionApprove, "alice")
		}},
		{name: "approve superseding", ok: http.StatusFound, setup: func(e *env, _ *authorizer) req {
			c := e.Client()
			e.Authorize(c, "alice", "read")
			return decision(e.Start(testenv.Request(c.ID, "alice")).Request.ID, httpapi.DecisionApprove, "alice")
		}},
		{name: "deny", ok: http.StatusFound, setup: func(e *env, _ *authorizer) req {
			return decision(e.Start(testenv.Request(e.Client().ID, "alice")).Request.ID, httpapi.DecisionDeny, "alice")
		}},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				// Count the calls on an env of its own, where the request
				// succeeds.
				e0, a0 := authEnv(t, db)
				r0 := tc.setup(e0, a0)
				fs0, mux0 := faultMux(e0, a0, &fault{})
				if rec := serve(mux0, r0); rec.Code != tc.ok {
					t.Fatalf("without failure: %d %s", rec.Code, rec.Body)
				}
				calls := fs0.Calls()
				if calls == 0 {
					t.Fatal("the request made no store call")
				}
				t.Logf("%d store calls: %v", calls, fs0.Trace())

				e, a := authEnv(t, db)
				r := tc.setup(e, a)
				before, heard := e.Snapshot(), len(e.Events.Events())
				for _, f := range faults(calls) {
					fs, mux := faultMux(e, a, &f)
					rec := f.serve(t, mux, r)
					wantServerError(t, &f, fs.Trace(), rec)
					unchanged(t, before, e.Snapshot())
					if n := len(e.Events.Events()); n != heard {
						t.Errorf("%v: the observer heard %v", &f, e.Events.Types()[heard:])
					}
				}
			})
		}
	})
}

// faultMux mounts a Handler whose store calls go through a faultstore
// with fault f (k 0: never failing).
func faultMux(e *env, a *authorizer, f *fault) (*faultstore.Store, *http.ServeMux) {
	fs := f.store(e.Store)
	m, srv := e.ServerOver(fs)
	h, err := httpapi.New(httpapi.Config{Grants: m, Tokens: srv, Minter: e.Minter, Authorizer: a})
	if err != nil {
		e.T.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	return fs, mux
}

// wantServerError fails unless rec is a server error (see TestAuthzFaults)
// without any credential.
func wantServerError(t *testing.T, k *fault, trace []string, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.String()
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("%v (%v): Cache-Control %q, want no-store", k, trace, cc)
	}
	switch rec.Code {
	case http.StatusInternalServerError:
		if !strings.Contains(body, "server_error") {
			t.Errorf("%v (%v): 500 without server_error: %s", k, trace, body)
		}
	case http.StatusFound:
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		if q.Get("error") != "server_error" || q.Has("code") || q.Get("iss") != testenv.Issuer {
			t.Errorf("%v (%v): redirect %s, want error=server_error and no code", k, trace, loc)
		}
	default:
		t.Errorf("%v (%v): status %d, want a server error; %s", k, trace, rec.Code, body)
	}
	if strings.Contains(body, "client_secret") || strings.Contains(body, "gk_") {
		t.Errorf("%v: the answer holds a credential: %s", k, body)
	}
}
