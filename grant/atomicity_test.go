package grant_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

// atomicFixture is the state an operation under test runs on.
type atomicFixture struct {
	e    *env
	host hostTable
	// hookFail, when set, makes the second cascade hook fail.
	hookFail atomic.Bool
	observed atomic.Int64
	// ids are the three active grants; pending is alice's pending
	// authorization.
	ids     []string
	pending grant.Authorization
}

// manager returns a manager over s (the fixture's store or a faultstore
// around it) with two cascade hooks — one deleting the revoked grants'
// host rows, one failing on demand — and an observer counting events.
func (f *atomicFixture) manager(s store.Store) *grant.Manager {
	return f.e.manager(s, func(c *grant.Config) {
		c.Hooks = []grant.CascadeHook{
			func(_ context.Context, tx store.Tx, r grant.Revocation) error {
				for _, id := range r.IDs() {
					if err := f.host.exec(tx, `DELETE FROM host_credentials WHERE grant_id = $1`, id); err != nil {
						return err
					}
				}
				return nil
			},
			func(context.Context, store.Tx, grant.Revocation) error {
				if f.hookFail.Load() {
					return errHook
				}
				return nil
			},
		}
		c.Observer = grant.ObserverFunc(func(context.Context, grant.Event) { f.observed.Add(1) })
	})
}

var errHook = errors.New("host hook failed")

// newAtomicFixture opens a store holding a client with three active
// grants (each with 5 refresh tokens, a code and an open request, and a
// row in a host table) and a pending grant of alice on the binding of the
// first one, with a wider scope and an open request.
func newAtomicFixture(t *testing.T, db testdb.DB) *atomicFixture {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t, db)
	f := &atomicFixture{e: e, host: newHostTable(t, e.s)}
	c := e.client()
	first := e.activeGrant(request(c.ID, "alice")).Grant
	ids := append([]string{first.ID}, seed(t, e.s, c.ID, 2, t0)...)
	e.refreshTokens(first.ID, 5)
	for _, id := range ids {
		if err := e.s.InTx(ctx, func(tx store.Tx) error {
			return f.host.exec(tx, `INSERT INTO host_credentials (grant_id) VALUES ($1)`, id)
		}); err != nil {
			t.Fatal(err)
		}
	}
	req := request(c.ID, "alice")
	req.Scopes = []string{"read", "write"}
	f.ids, f.pending = ids, e.start(req)
	e.clk.Advance(time.Second)
	return f
}

// TestAtomicity injects a store failure at every store call an operation
// makes (faultstore), and a cascade hook failure, and checks each time
// that the operation fails, every grantkit table is exactly as before
// (snapshot compared with go-cmp), the host's rows too, and the observer
// heard nothing (SPEC §3: a failure anywhere rolls back everything).
func TestAtomicity(t *testing.T) {
	t.Parallel()
	type op func(ctx context.Context, m *grant.Manager, f *atomicFixture) error
	cases := []struct {
		name string
		op   op
		// cascades is whether the operation runs the cascade (and so the
		// hooks).
		cascades bool
	}{
		{"Revoke", func(ctx context.Context, m *grant.Manager, f *atomicFixture) error {
			_, err := m.Revoke(ctx, f.ids, grant.ReasonUserRevoked, "alice")
			return err
		}, true},
		{"RevokeWhere", func(ctx context.Context, m *grant.Manager, f *atomicFixture) error {
			_, err := m.RevokeWhere(ctx, store.Selector{ClientID: f.pending.Grant.ClientID}, "client_blocked", "admin")
			return err
		}, true},
		{"Approve superseding", func(ctx context.Context, m *grant.Manager, f *atomicFixture) error {
			// The host's approval work writes a row in the same commit.
			_, err := m.Approve(ctx, f.pending.Request.ID, func(ctx context.Context, tx store.Tx, g store.Grant) error {
				return f.host.exec(tx, `INSERT INTO host_credentials (grant_id) VALUES ($1)`, g.ID)
			})
			return err
		}, true},
		{"UpdateClient material", func(ctx context.Context, m *grant.Manager, f *atomicFixture) error {
			_, _, err := m.UpdateClient(ctx, f.pending.Grant.ClientID, grant.ClientMetadata{RedirectURIs: []string{"https://app.example/new"}}, "admin")
			return err
		}, true},
		{"DeleteClient", func(ctx context.Context, m *grant.Manager, f *atomicFixture) error {
			_, err := m.DeleteClient(ctx, f.pending.Grant.ClientID, "admin")
			return err
		}, true},
		{"Start", func(ctx context.Context, m *grant.Manager, f *atomicFixture) error {
			_, err := m.Start(ctx, request(f.pending.Grant.ClientID, "bob"))
			return err
		}, false},
		{"Deny", func(ctx context.Context, m *grant.Manager, f *atomicFixture) error {
			return m.Deny(ctx, f.pending.Request.ID, "no", "alice")
		}, false},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				// Count the calls on a twin fixture.
				twin := newAtomicFixture(t, db)
				probe := faultstore.Wrap(twin.e.s, 0)
				if err := tt.op(ctx, twin.manager(probe), twin); err != nil {
					t.Fatalf("probe run: %v", err)
				}
				calls := probe.Trace()

				f := newAtomicFixture(t, db)
				before, hostRows := f.e.snapshot(), f.host.count()
				unchanged := func(what string) {
					t.Helper()
					if diff := cmp.Diff(before, f.e.snapshot()); diff != "" {
						t.Fatalf("%s changed the database (-before +after):\n%s", what, diff)
					}
					if n := f.host.count(); n != hostRows {
						t.Fatalf("%s: %d host rows, want %d", what, n, hostRows)
					}
					if n := f.observed.Load(); n != 0 {
						t.Fatalf("%s: the observer heard %d events", what, n)
					}
				}
				for k := 1; k <= len(calls); k++ {
					err := tt.op(ctx, f.manager(faultstore.Wrap(f.e.s, k)), f)
					if !errors.Is(err, faultstore.ErrInjected) {
						t.Fatalf("failure at call %d (%s): got %v, want ErrInjected", k, calls[k-1], err)
					}
					unchanged("failure at call " + calls[k-1])
				}
				if tt.cascades {
					f.hookFail.Store(true)
					if err := tt.op(ctx, f.manager(f.e.s), f); !errors.Is(err, errHook) {
						t.Fatalf("failing hook: got %v, want the hook's error", err)
					}
					unchanged("a failing hook")
					f.hookFail.Store(false)
				}

				// Without failure the operation makes the same calls and
				// changes the database.
				run := faultstore.Wrap(f.e.s, 0)
				if err := tt.op(ctx, f.manager(run), f); err != nil {
					t.Fatalf("run without failure: %v", err)
				}
				if diff := cmp.Diff(calls, run.Trace()); diff != "" {
					t.Errorf("calls differ from the twin's (-twin +run):\n%s", diff)
				}
				if cmp.Equal(before, f.e.snapshot()) {
					t.Error("the operation changed nothing: the test proves nothing")
				}
				t.Logf("%d store calls: %v", len(calls), calls)
			})
		}
	})
}
