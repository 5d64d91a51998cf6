package token_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// TestFaults fails, one at a time, every store call a code exchange or a
// refresh makes (faultstore, k = 1 … Calls), on each of their paths:
// success, reuse detection with either policy, a retry within the leeway,
// a rotation overtaken by a concurrent one (staleStore).
// Each time the operation must fail with the injected error, answered as
// server_error and never as invalid_grant (CVE-2020-15223: a store error is
// never a client error nor a success), return no token, tell the observer
// nothing, and leave every table exactly as it was (snapshots compared
// with go-cmp). faultstore counts the commit as a step that precedes the
// real commit, so a failure there rolls back too and "as it was" is the
// only consistent outcome. Without a failure the same calls are made and
// the database changes.
func TestFaults(t *testing.T) {
	t.Parallel()
	type op func(ctx context.Context, srv *token.Server) (token.Response, error)
	cases := []struct {
		name string
		opts []func(*token.ServerConfig)
		// setup prepares the env and returns the operation under test.
		setup func(e *env) op
		// want is the operation's outcome without failure.
		want error
		// wrap, when set, wraps the store under the faultstore.
		wrap func(store.Store) store.Store
	}{
		{name: "ExchangeCode", setup: func(e *env) op {
			c := e.client()
			req := testenv.CodeRequest(c, e.Authorize(c, "alice"))
			return func(ctx context.Context, srv *token.Server) (token.Response, error) {
				return srv.ExchangeCode(ctx, req)
			}
		}},
		{name: "ExchangeCode confidential without refresh", setup: func(e *env) op {
			c := e.client(testenv.Confidential, testenv.NoRefresh)
			req := testenv.CodeRequest(c, e.Authorize(c, "alice"))
			return func(ctx context.Context, srv *token.Server) (token.Response, error) {
				return srv.ExchangeCode(ctx, req)
			}
		}},
		{name: "ExchangeCode reused", want: token.ErrReused, setup: func(e *env) op {
			c := e.client()
			req := testenv.CodeRequest(c, e.Authorize(c, "alice"))
			e.Exchange(req)
			return func(ctx context.Context, srv *token.Server) (token.Response, error) {
				return srv.ExchangeCode(ctx, req)
			}
		}},
		{name: "Refresh", setup: func(e *env) op {
			sess := e.login("alice", testenv.Confidential)
			return func(ctx context.Context, srv *token.Server) (token.Response, error) {
				return srv.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken))
			}
		}},
		{name: "Refresh narrowing scope", setup: func(e *env) op {
			sess := e.login("alice")
			req := sess.RefreshRequest(sess.Resp.RefreshToken)
			req.Scopes = []string{"read"}
			return func(ctx context.Context, srv *token.Server) (token.Response, error) { return srv.Refresh(ctx, req) }
		}},
		{name: "Refresh reused, RevokeGrant", want: token.ErrReused, setup: func(e *env) op {
			sess := e.login("alice")
			e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
			return func(ctx context.Context, srv *token.Server) (token.Response, error) {
				return srv.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken))
			}
		}},
		{name: "Refresh reused, RevokeFamily", want: token.ErrReused,
			opts: []func(*token.ServerConfig){func(c *token.ServerConfig) { c.ReusePolicy = token.RevokeFamily }},
			setup: func(e *env) op {
				sess := e.login("alice")
				e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
				return func(ctx context.Context, srv *token.Server) (token.Response, error) {
					return srv.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken))
				}
			}},
		{name: "Refresh retry within the leeway",
			opts: []func(*token.ServerConfig){func(c *token.ServerConfig) { c.ReuseLeeway = time.Minute }},
			setup: func(e *env) op {
				sess := e.login("alice")
				e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
				e.Clock.Advance(time.Second)
				return func(ctx context.Context, srv *token.Server) (token.Response, error) {
					return srv.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken))
				}
			}},
		{name: "Refresh overtaken by a concurrent rotation", want: token.ErrReused,
			wrap: func(s store.Store) store.Store { return staleStore{s} },
			setup: func(e *env) op {
				sess := e.login("alice")
				e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
				return func(ctx context.Context, srv *token.Server) (token.Response, error) {
					return srv.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken))
				}
			}},
		{name: "Refresh overtaken within the leeway",
			opts: []func(*token.ServerConfig){func(c *token.ServerConfig) { c.ReuseLeeway = time.Minute }},
			wrap: func(s store.Store) store.Store { return staleStore{s} },
			setup: func(e *env) op {
				sess := e.login("alice")
				e.MustRefresh(sess.Client, sess.Resp.RefreshToken)
				return func(ctx context.Context, srv *token.Server) (token.Response, error) {
					return srv.Refresh(ctx, sess.RefreshRequest(sess.Resp.RefreshToken))
				}
			}},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				wrap := func(s store.Store) store.Store { return s }
				if tt.wrap != nil {
					wrap = tt.wrap
				}
				// Count the calls on a twin.
				twin := newEnv(t, db, tt.opts...)
				twinOp := tt.setup(twin)
				probe := faultstore.Wrap(wrap(twin.Store), 0)
				_, srv := twin.ServerOver(probe)
				if _, err := twinOp(ctx, srv); !testenv.Is(err, tt.want) {
					t.Fatalf("probe run: got %v, want %v", err, tt.want)
				}
				calls := probe.Trace()

				e := newEnv(t, db, tt.opts...)
				run := tt.setup(e)
				before, heard := e.Snapshot(), len(e.Events.Types())
				for k := 1; k <= len(calls); k++ {
					_, srv := e.ServerOver(faultstore.Wrap(wrap(e.Store), k))
					resp, err := run(ctx, srv)
					if !errors.Is(err, faultstore.ErrInjected) {
						t.Fatalf("failure at call %d (%s): got %v, want the injected error", k, calls[k-1], err)
					}
					if got := errCode(err); got != "server_error" || errors.Is(err, token.ErrInvalidGrant) {
						t.Errorf("failure at call %d (%s): answered %q (%v), want server_error", k, calls[k-1], got, err)
					}
					if diff := cmp.Diff(token.Response{}, resp); diff != "" {
						t.Errorf("failure at call %d (%s): tokens returned:\n%s", k, calls[k-1], diff)
					}
					if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
						t.Fatalf("failure at call %d (%s) left half-done state (-before +after):\n%s", k, calls[k-1], diff)
					}
					if got := e.Events.Types(); len(got) != heard {
						t.Errorf("failure at call %d (%s): the observer heard %v", k, calls[k-1], got[heard:])
					}
				}

				// Without a failure: the same calls, and a change.
				full := faultstore.Wrap(wrap(e.Store), 0)
				_, srv = e.ServerOver(full)
				resp, err := run(ctx, srv)
				if !testenv.Is(err, tt.want) {
					t.Fatalf("run without failure: got %v, want %v", err, tt.want)
				}
				if (err == nil) != (resp.AccessToken != "") {
					t.Errorf("run without failure: error %v with access token %q", err, resp.AccessToken)
				}
				if diff := cmp.Diff(calls, full.Trace()); diff != "" {
					t.Errorf("calls differ from the twin's (-twin +run):\n%s", diff)
				}
				if cmp.Equal(before, e.Snapshot()) {
					t.Error("the operation changed nothing: the test proves nothing")
				}
				t.Logf("%d store calls: %v", len(calls), calls)
			})
		}
	})
}
