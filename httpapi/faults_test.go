package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
)

// faultSweep fails, one at a time, every store call the request setup
// returns makes (faultstore, k = 1 … Calls, counted on a twin env), then
// stalls each one under a request deadline (faultstore.Stall): each time
// the answer must be a 5xx JSON server_error with the no-store headers
// (noStore says whether the endpoint has them), hold no token, and leave
// every table as it was. Without a failure the same request must
// answer ok and change the database, so the sweep proves something.
func faultSweep(t *testing.T, db testdb.DB, ok int, noStore bool, setup func(e *env) req) {
	t.Helper()
	twin := newEnv(t, db)
	probe := faultstore.Wrap(twin.Store, 0)
	if rec := serve(twin.MuxOver(probe), setup(twin)); rec.Code != ok {
		t.Fatalf("probe run: status %d, want %d; body %s", rec.Code, ok, rec.Body)
	}
	calls := probe.Trace()
	if len(calls) == 0 {
		t.Fatal("the request made no store call")
	}

	e := newEnv(t, db)
	r := setup(e)
	before := e.Snapshot()
	for _, f := range faults(len(calls)) {
		k := f.k
		rec := f.serve(t, e.MuxOver(f.store(e.Store)), r)
		if rec.Code < 500 {
			t.Errorf("failure at call %d (%s): status %d, want 5xx; body %s", k, calls[k-1], rec.Code, rec.Body)
		}
		if got := jsonBody(t, rec)["error"]; got != "server_error" && got != "temporarily_unavailable" {
			t.Errorf("failure at call %d (%s): error %v, want server_error", k, calls[k-1], got)
		}
		if noStore {
			wantNoStore(t, rec)
		}
		if body := rec.Body.String(); strings.Contains(body, "gk_") || strings.Contains(body, "access_token") {
			t.Errorf("failure at call %d (%s): the answer holds a token: %s", k, calls[k-1], body)
		}
		if d := cmp.Diff(before, e.Snapshot()); d != "" {
			t.Fatalf("failure at call %d (%s) left half-done state (-before +after):\n%s", k, calls[k-1], d)
		}
	}
	full := faultstore.Wrap(e.Store, 0)
	if rec := serve(e.MuxOver(full), r); rec.Code != ok {
		t.Fatalf("run without failure: status %d, want %d; body %s", rec.Code, ok, rec.Body)
	}
	if d := cmp.Diff(calls, full.Trace()); d != "" {
		t.Errorf("calls differ from the twin's (-twin +run):\n%s", d)
	}
	if cmp.Equal(before, e.Snapshot()) {
		t.Error("the request changed nothing: the sweep proves nothing")
	}
	t.Logf("%d store calls: %v", len(calls), calls)
}

// TestTokenFaults runs faultSweep over the token endpoint's grants: a
// public and a confidential code exchange, a refresh, and a refresh token
// replayed (reuse detection revokes the grant).
func TestTokenFaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		ok    int
		setup func(e *env) req
	}{
		{"exchange, public", http.StatusOK, func(e *env) req {
			c := e.Client()
			return post("/token", form(append(codeForm(e.Authorize(c, "alice").Code, testenv.RedirectURI), "client_id", c.ID)...))
		}},
		{"exchange, client_secret_basic", http.StatusOK, func(e *env) req {
			c := e.Client(testenv.Confidential)
			return post("/token", form(codeForm(e.Authorize(c, "alice").Code, testenv.RedirectURI)...)).basic(c.ID, c.Secret)
		}},
		{"refresh", http.StatusOK, func(e *env) req {
			sess := e.Login(e.Client(), "alice")
			return post("/token", form("grant_type", "refresh_token", "refresh_token", sess.Resp.RefreshToken, "client_id", sess.Client.ID))
		}},
		{"refresh token replayed", http.StatusBadRequest, func(e *env) req {
			sess := e.Login(e.Client(), "alice")
			e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
			return post("/token", form("grant_type", "refresh_token", "refresh_token", sess.Resp.RefreshToken, "client_id", sess.Client.ID))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, func(t *testing.T, db testdb.DB) {
				t.Parallel()
				faultSweep(t, db, tc.ok, true, tc.setup)
			})
		})
	}
}

// fault is one fault of a fault loop: store call k fails, or hangs until
// the request's deadline passes (stall) — which the test makes happen
// right after call k began to hang, so the stalled call is always the
// k-th, however slow the machine.
type fault struct {
	k     int
	stall bool
	fs    *faultstore.Store // the last store wraps made
}

func (f *fault) String() string {
	if f.stall {
		return fmt.Sprintf("k=%d stalled", f.k)
	}
	return fmt.Sprintf("k=%d", f.k)
}

// faults is every fault of a request making n store calls: each call
// failed, then each call stalled.
func faults(n int) []fault {
	out := make([]fault, 0, 2*n)
	for _, stall := range []bool{false, true} {
		for k := 1; k <= n; k++ {
			out = append(out, fault{k: k, stall: stall})
		}
	}
	return out
}

// store wraps s with the fault.
func (f *fault) store(s store.Store) *faultstore.Store {
	if f.stall {
		f.fs = faultstore.Stall(s, f.k)
	} else {
		f.fs = faultstore.Wrap(s, f.k)
	}
	return f.fs
}

// serve sends r to h, whose store f.store made. When the fault stalls,
// the request's context passes its deadline (context.DeadlineExceeded)
// once call k hangs; a stall that is never reached fails t.
func (f *fault) serve(t *testing.T, h http.Handler, r req) *httptest.ResponseRecorder {
	t.Helper()
	if !f.stall {
		return serve(h, r)
	}
	stalled := f.fs.Stalled()
	inner := h
	h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := &expiring{Context: r.Context(), done: make(chan struct{})}
		served := make(chan struct{})
		defer close(served)
		go func() {
			select {
			case <-stalled:
			case <-time.After(10 * time.Second): // a stall never reached, reported below
			case <-served:
				return
			}
			ctx.expire()
		}()
		inner.ServeHTTP(w, r.WithContext(ctx))
	})
	rec := serve(h, r)
	select {
	case <-stalled:
	default:
		t.Errorf("%v: the request never made call %d", f, f.k)
	}
	return rec
}

// expiring is a request context whose deadline passes when expire is
// called: Done closes and Err is context.DeadlineExceeded.
type expiring struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func (c *expiring) expire()               { c.once.Do(func() { close(c.done) }) }
func (c *expiring) Done() <-chan struct{} { return c.done }

func (c *expiring) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
