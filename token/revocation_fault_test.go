package token_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// faultOp runs the operation under test on srv and reports whether it
// answered an active introspection.
type faultOp func(ctx context.Context, srv *token.Server) (active bool, err error)

// faultCase is one path of Revoke or Introspect to fail at every store call.
type faultCase struct {
	name string
	opts []func(*token.ServerConfig)
	// setup prepares the env and returns the operation under test.
	setup func(e *env) faultOp
	// want is the operation's error without failure; active its answer;
	// changes whether it changes the database.
	want    error
	active  bool
	changes bool
}

// runFaults fails, one at a time, every store call of each case's
// operation (faultstore, k = 1 … Calls, counted on a twin env): each time
// the operation must return the injected error, answered as server_error
// (a revocation that failed is never a 200, an introspection that failed
// never active: CVE-2020-15223), tell the observer nothing and leave every
// table as it was. Without a failure the same calls are made with the
// case's outcome.
func runFaults(t *testing.T, cases []faultCase) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				twin := newEnv(t, db, tt.opts...)
				twinOp := tt.setup(twin)
				probe := faultstore.Wrap(twin.Store, 0)
				_, srv := twin.ServerOver(probe)
				if _, err := twinOp(ctx, srv); !testenv.Is(err, tt.want) {
					t.Fatalf("probe run: got %v, want %v", err, tt.want)
				}
				calls := probe.Trace()
				if len(calls) == 0 {
					t.Fatal("the operation made no store call: the test proves nothing")
				}

				e := newEnv(t, db, tt.opts...)
				run := tt.setup(e)
				before, heard := e.Snapshot(), len(e.Events.Types())
				for k := 1; k <= len(calls); k++ {
					_, srv := e.ServerOver(faultstore.Wrap(e.Store, k))
					active, err := run(ctx, srv)
					if !errors.Is(err, faultstore.ErrInjected) {
						t.Fatalf("failure at call %d (%s): got %v, want the injected error", k, calls[k-1], err)
					}
					if got := errCode(err); got != "server_error" {
						t.Errorf("failure at call %d (%s): answered %q (%v), want server_error", k, calls[k-1], got, err)
					}
					if active {
						t.Errorf("failure at call %d (%s): answered active", k, calls[k-1])
					}
					if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
						t.Fatalf("failure at call %d (%s) left half-done state (-before +after):\n%s", k, calls[k-1], diff)
					}
					if got := e.Events.Types(); len(got) != heard {
						t.Errorf("failure at call %d (%s): the observer heard %v", k, calls[k-1], got[heard:])
					}
				}

				full := faultstore.Wrap(e.Store, 0)
				_, srv = e.ServerOver(full)
				active, err := run(ctx, srv)
				if !testenv.Is(err, tt.want) || active != tt.active {
					t.Fatalf("run without failure: got %v, active %v; want %v, active %v", err, active, tt.want, tt.active)
				}
				if diff := cmp.Diff(calls, full.Trace()); diff != "" {
					t.Errorf("calls differ from the twin's (-twin +run):\n%s", diff)
				}
				if changed := !cmp.Equal(before, e.Snapshot()); changed != tt.changes {
					t.Errorf("run without failure changed the database: %v, want %v", changed, tt.changes)
				}
				t.Logf("%d store calls: %v", len(calls), calls)
			})
		}
	})
}

// revokeOp is Revoke of req as a faultOp.
func revokeOp(req token.RevocationRequest) faultOp {
	return func(ctx context.Context, srv *token.Server) (bool, error) { return false, srv.Revoke(ctx, req) }
}

// introspectOp is Introspect of req as a faultOp; it fails the test if an
// answer that is not active carries any member.
func introspectOp(t *testing.T, req token.IntrospectionRequest) faultOp {
	return func(ctx context.Context, srv *token.Server) (bool, error) {
		in, err := srv.Introspect(ctx, req)
		if !in.Active && !cmp.Equal(in, token.Introspection{}) {
			t.Errorf("an inactive answer says more: %+v", in)
		}
		return in.Active, err
	}
}

// TestRevokeFaults fails every store call of Revoke on each of its paths.
func TestRevokeFaults(t *testing.T) {
	t.Parallel()
	runFaults(t, []faultCase{
		{name: "refresh token", changes: true, setup: func(e *env) faultOp {
			s := e.login("alice", testenv.Confidential)
			return revokeOp(revokeAs(s.Client, s.Resp.RefreshToken, ""))
		}},
		{name: "access token", changes: true, setup: func(e *env) faultOp {
			s := e.login("alice")
			return revokeOp(revokeAs(s.Client, s.Resp.AccessToken, token.HintAccessToken))
		}},
		{name: "unknown token", setup: func(e *env) faultOp {
			s := e.login("alice")
			return revokeOp(revokeAs(s.Client, "gk_rt_unknown", ""))
		}},
		{name: "rotated refresh token", setup: func(e *env) faultOp {
			s := e.login("alice")
			e.MustRefresh(s.Client, s.Resp.RefreshToken)
			return revokeOp(revokeAs(s.Client, s.Resp.RefreshToken, ""))
		}},
		{name: "another client's token", want: grant.ErrUnauthorizedClient, setup: func(e *env) faultOp {
			s := e.login("alice")
			return revokeOp(revokeAs(e.client(), s.Resp.RefreshToken, ""))
		}},
	})
}

// TestIntrospectFaults fails every store call of Introspect on each of
// its paths.
func TestIntrospectFaults(t *testing.T) {
	t.Parallel()
	allowAll := func(c *token.ServerConfig) {
		c.MayIntrospect = func(store.Client, store.Grant) bool { return true }
	}
	runFaults(t, []faultCase{
		{name: "active access token", active: true, setup: func(e *env) faultOp {
			s := e.login("alice", testenv.Confidential)
			return introspectOp(t, introspectAs(s.Client, s.Resp.AccessToken, ""))
		}},
		{name: "active refresh token", active: true, setup: func(e *env) faultOp {
			s := e.login("alice", testenv.Confidential)
			return introspectOp(t, introspectAs(s.Client, s.Resp.RefreshToken, ""))
		}},
		{name: "another client's token, MayIntrospect allows", active: true,
			opts: []func(*token.ServerConfig){allowAll}, setup: func(e *env) faultOp {
				s := e.login("alice")
				return introspectOp(t, introspectAs(e.client(testenv.Confidential), s.Resp.RefreshToken, ""))
			}},
		{name: "revoked grant", setup: func(e *env) faultOp {
			s := e.login("alice", testenv.Confidential)
			e.revokeGrant(s.Grant)
			return introspectOp(t, introspectAs(s.Client, s.Resp.AccessToken, ""))
		}},
	})
}
