package grant_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
)

// TestTxForms runs every mutating operation's …Tx form inside a host
// transaction that also deletes a host row, as a host deleting a user
// would: a commit keeps both the host's change and grantkit's, a rollback
// leaves neither, and observer events arrive only once the host reports
// its commit (JoinedTx.Committed) — never before, never after a rollback.
func TestTxForms(t *testing.T) {
	t.Parallel()
	type op struct {
		name string
		// setup prepares what run needs, outside the host transaction.
		setup func(e *env) any
		run   func(ctx context.Context, e *env, tx store.Tx, in any) error
		// events are the observer event types a committed run reports.
		events []string
	}
	ops := []op{
		{"StartTx", func(e *env) any { return e.client() },
			func(ctx context.Context, e *env, tx store.Tx, in any) error {
				_, err := e.m.StartTx(ctx, tx, request(in.(store.Client).ID, "alice"))
				return err
			}, nil},
		{"ApproveTx superseding", func(e *env) any {
			c := e.client()
			e.activeGrant(request(c.ID, "alice"))
			req := request(c.ID, "alice")
			req.Scopes = []string{"read", "write"}
			return e.start(req).Request.ID
		}, func(ctx context.Context, e *env, tx store.Tx, in any) error {
			_, err := e.m.ApproveTx(ctx, tx, in.(string), nil)
			return err
		}, []string{grant.EventGrantRevoked}},
		{"DenyTx", func(e *env) any { return e.start(request(e.client().ID, "alice")).Request.ID },
			func(ctx context.Context, e *env, tx store.Tx, in any) error {
				return e.m.DenyTx(ctx, tx, in.(string), "user said no", "alice")
			}, []string{grant.EventAuthorizationDenied}},
		{"RegisterClientTx", func(*env) any { return nil },
			func(ctx context.Context, e *env, tx store.Tx, _ any) error {
				_, _, err := e.m.RegisterClientTx(ctx, tx, grant.ClientMetadata{Name: "Host client",
					RedirectURIs: []string{redirectURI}, Scopes: []string{"read"}})
				return err
			}, nil},
		{"UpdateClientTx material", func(e *env) any {
			c := e.client()
			e.activeGrant(request(c.ID, "alice"))
			return c.ID
		}, func(ctx context.Context, e *env, tx store.Tx, in any) error {
			_, _, err := e.m.UpdateClientTx(ctx, tx, in.(string), grant.ClientMetadata{Name: "Test client",
				RedirectURIs: []string{redirectURI}, Scopes: []string{"read"}}, "admin")
			return err
		}, []string{grant.EventGrantRevoked}},
		{"DeleteClientTx", func(e *env) any {
			c := e.client()
			e.activeGrant(request(c.ID, "alice"))
			return c.ID
		}, func(ctx context.Context, e *env, tx store.Tx, in any) error {
			_, err := e.m.DeleteClientTx(ctx, tx, in.(string), "admin")
			return err
		}, []string{grant.EventGrantRevoked}},
		{"RevokeTx", func(e *env) any { return e.activeGrant(request(e.client().ID, "alice")).Grant.ID },
			func(ctx context.Context, e *env, tx store.Tx, in any) error {
				_, err := e.m.RevokeTx(ctx, tx, []string{in.(string)}, "user_deleted", "host")
				return err
			}, []string{grant.EventGrantRevoked}},
		{"RevokeWhereTx", func(e *env) any { return e.activeGrant(request(e.client().ID, "alice")).Grant.ID },
			func(ctx context.Context, e *env, tx store.Tx, _ any) error {
				_, err := e.m.RevokeWhereTx(ctx, tx, store.Selector{Subject: "alice"}, "user_deleted", "host")
				return err
			}, []string{grant.EventGrantRevoked}},
		{"session RevokeTx", func(e *env) any { return e.activeGrant(request(e.client().ID, "alice")).Grant.ID },
			func(ctx context.Context, e *env, tx store.Tx, in any) error {
				sessions, err := session.New(e.m, session.Config{})
				if err != nil {
					return err
				}
				return sessions.RevokeTx(ctx, tx, session.Caller{Subject: "alice", Kind: "user"}, in.(string))
			}, []string{grant.EventGrantRevoked, grant.EventSessionRevoked}},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, o := range ops {
			for _, commit := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/commit=%v", o.name, commit), func(t *testing.T) {
					t.Parallel()
					ctx := context.Background()
					events := &testdb.Observer{}
					e := newEnv(t, db, func(c *grant.Config) { c.Observer = events })
					host := newHostTable(t, e.s)
					seed, seedCommit, _ := db.Harness.HostTx(t, e.s)
					if err := host.exec(seed, `INSERT INTO host_credentials (grant_id) VALUES ($1)`, "user-alice"); err != nil {
						t.Fatal(err)
					}
					if err := seedCommit(); err != nil {
						t.Fatal(err)
					}
					in := o.setup(e)
					before, eventsBefore := e.snapshot(), len(events.Events())

					tx, commitTx, rollbackTx := db.Harness.HostTx(t, e.s)
					if err := host.exec(tx, `DELETE FROM host_credentials WHERE grant_id = $1`, "user-alice"); err != nil {
						t.Fatal(err)
					}
					if err := o.run(ctx, e, tx, in); err != nil {
						_ = rollbackTx()
						t.Fatalf("%s: %v", o.name, err)
					}
					if n := len(events.Events()); n != eventsBefore {
						t.Errorf("%d events reported before the commit", n-eventsBefore)
					}
					if !commit {
						if err := rollbackTx(); err != nil {
							t.Fatal(err)
						}
						if diff := cmp.Diff(before, e.snapshot()); diff != "" {
							t.Errorf("rolled back, yet grantkit's rows changed (-before +after):\n%s", diff)
						}
						if host.count() != 1 {
							t.Errorf("rolled back, yet the host row is gone")
						}
						if n := len(events.Events()); n != eventsBefore {
							t.Errorf("%d events reported after a rollback", n-eventsBefore)
						}
						return
					}
					if err := commitTx(); err != nil {
						t.Fatal(err)
					}
					if n := len(events.Events()); n != eventsBefore {
						t.Errorf("%d events reported at the host's commit, before Committed", n-eventsBefore)
					}
					tx.(store.JoinedTx).Committed(ctx)
					if cmp.Equal(before, e.snapshot()) {
						t.Errorf("committed, yet grantkit's rows did not change")
					}
					if host.count() != 0 {
						t.Errorf("committed, yet the host row is still there")
					}
					var got []string
					for _, ev := range events.Events()[eventsBefore:] {
						got = append(got, ev.Type)
					}
					if diff := cmp.Diff(o.events, got); diff != "" {
						t.Errorf("events after Committed (-want +got):\n%s", diff)
					}
				})
			}
		}
	})
}
