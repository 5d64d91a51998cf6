package grant_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/store/sqlite"
)

// TestRevoke checks the cascade of SPEC §3 by ids: the grants, their open
// requests, unused codes and active refresh tokens are revoked, one
// grant.revoked event is written per grant, the observer is told once, and
// nothing else changes. A second run is a no-op.
func TestRevoke(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		var observed []grant.Event
		e := newEnv(t, db, func(c *grant.Config) {
			c.Observer = grant.ObserverFunc(func(_ context.Context, ev grant.Event) { observed = append(observed, ev) })
		})
		c := e.client()

		// alice: an active grant with an unused code, a redeemed code, an
		// open request (a reused start), a consumed request and tokens.
		alice := e.activeGrant(request(c.ID, "alice"))
		redeemed := e.activeGrant(request(c.ID, "alice")) // reuse: a second code for the same grant
		code, err := e.s.GetAuthCode(ctx, secret.Hash(redeemed.Code))
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := e.s.RedeemAuthCode(ctx, code.ID, e.clk.Now()); !ok || err != nil {
			t.Fatalf("RedeemAuthCode: %v %v", ok, err)
		}
		open := e.start(request(c.ID, "alice"))
		aliceTokens := e.refreshTokens(alice.Grant.ID, 3)
		// bob: a pending grant with an open request.
		bob := e.start(request(c.ID, "bob"))
		// carol: a bystander.
		carol := e.activeGrant(request(c.ID, "carol"))
		carolTokens := e.refreshTokens(carol.Grant.ID, 2)
		observed = nil
		e.clk.Advance(time.Minute)
		at := e.clk.Now()
		before := e.snapshot()

		got, err := e.m.Revoke(ctx, []string{alice.Grant.ID, bob.Grant.ID, newID(), "not-a-uuid"}, "user_deleted", "admin")
		if err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		ids := grant.Revocation{Grants: got}.IDs()
		slices.Sort(ids)
		want := []string{alice.Grant.ID, bob.Grant.ID}
		slices.Sort(want)
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("revoked (-want +got):\n%s", diff)
		}
		for _, g := range got {
			if g.Status != store.GrantRevoked || g.RevokeReason != "user_deleted" || !g.RevokedAt.Equal(at) {
				t.Errorf("returned grant %s: %s %q %v", g.Subject, g.Status, g.RevokeReason, g.RevokedAt)
			}
			if diff := cmp.Diff(e.grant(g.ID), g, equateJSON); diff != "" {
				t.Errorf("returned grant differs from the stored one (-stored +returned):\n%s", diff)
			}
		}

		for _, id := range []string{open.Request.ID, bob.Request.ID} {
			if r, _ := e.s.GetAuthRequest(ctx, id); !r.RevokedAt.Equal(at) {
				t.Errorf("open request not revoked: %+v", r)
			}
		}
		if c, _ := e.s.GetAuthCode(ctx, secret.Hash(alice.Code)); !c.RevokedAt.Equal(at) {
			t.Errorf("unused code not revoked: %+v", c)
		}
		if c, _ := e.s.GetAuthCode(ctx, secret.Hash(redeemed.Code)); !c.RevokedAt.IsZero() {
			t.Errorf("redeemed code was revoked: %+v", c)
		}
		for _, h := range aliceTokens {
			if rt, _ := e.s.GetRefreshToken(ctx, h); !rt.RevokedAt.Equal(at) || rt.RevokeReason != "user_deleted" {
				t.Errorf("refresh token not revoked: %+v", rt)
			}
		}

		after := e.snapshot()
		revokedEvents := rowsOfType(after, grant.EventGrantRevoked)
		if len(revokedEvents) != 2 {
			t.Fatalf("%d grant.revoked events, want 2", len(revokedEvents))
		}
		for _, ev := range revokedEvents {
			if ev["reason"] != "user_deleted" || ev["actor"] != "admin" || ev["client_id"] != c.ID ||
				!slices.Contains(want, fmt.Sprint(ev["grant_id"])) {
				t.Errorf("grant.revoked event = %v", ev)
			}
		}
		wantObserved := []grant.Event{{Type: grant.EventGrantRevoked, Reason: "user_deleted", Count: 2}}
		if diff := cmp.Diff(wantObserved, observed); diff != "" {
			t.Errorf("observed events (-want +got):\n%s", diff)
		}

		// Nothing of carol's changed, nor anything else: undo the expected
		// changes and compare with the snapshot from before.
		if rt, _ := e.s.GetRefreshToken(ctx, carolTokens[0]); !rt.Active() {
			t.Error("bystander's refresh token revoked")
		}
		stamp := at.Format(time.RFC3339Nano)
		undo := func(table string, cols ...string) {
			for _, row := range after[table] {
				for _, c := range cols {
					if row[c] == stamp {
						row[c] = nil
					}
				}
				if table == "grants" && row["status"] == "revoked" {
					row["revoke_reason"] = ""
					if row["activated_at"] == nil {
						row["status"] = "pending"
					} else {
						row["status"] = "active"
					}
				}
				if table == "refresh_tokens" && row["revoke_reason"] == "user_deleted" {
					row["revoke_reason"] = ""
				}
			}
		}
		undo("grants", "revoked_at")
		undo("auth_requests", "revoked_at")
		undo("auth_codes", "revoked_at")
		undo("refresh_tokens", "revoked_at")
		after["audit_events"] = slices.DeleteFunc(after["audit_events"], func(r map[string]any) bool {
			return r["type"] == grant.EventGrantRevoked
		})
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("Revoke changed more than the cascade (-before +after, cascade undone):\n%s", diff)
		}

		// Idempotence: a second run revokes nothing, writes nothing and
		// tells nobody.
		observed = nil
		again := e.snapshot()
		e.clk.Advance(time.Minute)
		got, err = e.m.Revoke(ctx, want, "user_deleted", "admin")
		if err != nil || len(got) != 0 {
			t.Errorf("second Revoke: %d grants, %v; want none", len(got), err)
		}
		if diff := cmp.Diff(again, e.snapshot()); diff != "" {
			t.Errorf("second Revoke changed the database (-before +after):\n%s", diff)
		}
		if len(observed) != 0 {
			t.Errorf("second Revoke observed %v", observed)
		}
		if diff := cmp.Diff([]string{grant.EventGrantCreated, grant.EventGrantActivated, grant.EventGrantRevoked},
			e.auditTypes(alice.Grant.ID)); diff != "" {
			t.Errorf("audit events of a grant revoked twice (-want +got):\n%s", diff)
		}
	})
}

func TestRevokeBadInput(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		g := e.activeGrant(request(e.client().ID, "alice")).Grant
		before := e.snapshot()
		if _, err := e.m.Revoke(ctx, []string{g.ID}, "", "admin"); !errors.Is(err, grant.ErrInvalidReason) {
			t.Errorf("Revoke without reason: %v, want ErrInvalidReason", err)
		}
		if _, err := e.m.RevokeWhere(ctx, store.Selector{Subject: "alice"}, "", "admin"); !errors.Is(err, grant.ErrInvalidReason) {
			t.Errorf("RevokeWhere without reason: %v, want ErrInvalidReason", err)
		}
		if got, err := e.m.Revoke(ctx, nil, "x", "admin"); err != nil || len(got) != 0 {
			t.Errorf("Revoke of no ids: %v, %v", got, err)
		}
		if diff := cmp.Diff(before, e.snapshot()); diff != "" {
			t.Errorf("refused revocation changed the database (-before +after):\n%s", diff)
		}
	})
}

// TestRevokeWhere checks every selector kind of SPEC §3.
func TestRevokeWhere(t *testing.T) {
	t.Parallel()
	type fixture struct {
		client, subject, kind, tenant, resource string
		version                                 int64
	}
	grants := map[string]fixture{
		"g1": {"A", "alice", "user", "", "https://r1.example", 1},
		"g2": {"A", "alice", "user", "org1", "https://r2.example", 3},
		"g3": {"B", "bob", "api_key", "org1", "https://r1.example", 5},
		"g4": {"B", "alice", "api_key", "org2", "https://r1.example", 2},
		"g5": {"B", "carol", "user", "", "https://r2.example", 0},
	}
	cases := []struct {
		name string
		sel  store.Selector
		want []string
		err  error
	}{
		{"client", store.Selector{ClientID: "A"}, []string{"g1", "g2"}, nil},
		{"subject", store.Selector{Subject: "alice"}, []string{"g1", "g2", "g4"}, nil},
		{"subject and tenant", store.Selector{Subject: "alice", Tenant: store.Tenant("org1")}, []string{"g2"}, nil},
		{"personal tenant", store.Selector{Tenant: store.Tenant("")}, []string{"g1", "g5"}, nil},
		{"tenant", store.Selector{Tenant: store.Tenant("org1")}, []string{"g2", "g3"}, nil},
		{"resource", store.Selector{Resource: "https://r1.example"}, []string{"g1", "g3", "g4"}, nil},
		{"subject kind", store.Selector{SubjectKind: "api_key"}, []string{"g3", "g4"}, nil},
		{"subject and subject kind", store.Selector{Subject: "alice", SubjectKind: "api_key"}, []string{"g4"}, nil},
		{"resource below config version", store.Selector{Resource: "https://r1.example", ConfigVersionBelow: 3}, []string{"g1", "g4"}, nil},
		{"matches nothing", store.Selector{Subject: "dave"}, nil, nil},
		{"empty selector", store.Selector{}, nil, store.ErrInvalidArgument},
		{"config version without resource", store.Selector{Subject: "alice", ConfigVersionBelow: 3}, nil, store.ErrInvalidArgument},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, db)
				clients := map[string]string{}
				for _, name := range []string{"A", "B"} {
					clients[name] = e.client(func(md *grant.ClientMetadata) { md.ID = "client-" + name }).ID
				}
				names := map[string]string{} // grant id → fixture name
				for name, f := range grants {
					req := request(clients[f.client], f.subject)
					req.SubjectKind, req.Tenant, req.Resource, req.ConfigVersion = f.kind, f.tenant, f.resource, f.version
					if f.client == "B" && f.subject == "alice" { // keep g4 pending: selectors see pending grants too
						names[e.start(req).Grant.ID] = name
						continue
					}
					names[e.activeGrant(req).Grant.ID] = name
				}
				sel := tt.sel
				if sel.ClientID != "" {
					sel.ClientID = clients[sel.ClientID]
				}
				before := e.snapshot()
				got, err := e.m.RevokeWhere(ctx, sel, "selector_test", "admin")
				if !is(err, tt.err) {
					t.Fatalf("RevokeWhere: %v, want %v", err, tt.err)
				}
				if tt.err != nil {
					if diff := cmp.Diff(before, e.snapshot()); diff != "" {
						t.Errorf("refused RevokeWhere changed the database (-before +after):\n%s", diff)
					}
					return
				}
				var gotNames []string
				for _, g := range got {
					gotNames = append(gotNames, names[g.ID])
				}
				if diff := cmp.Diff(tt.want, gotNames, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("revoked (-want +got):\n%s", diff)
				}
				for id, name := range names {
					g := e.grant(id)
					if slices.Contains(tt.want, name) != (g.Status == store.GrantRevoked) {
						t.Errorf("%s: status %s", name, g.Status)
					}
					if g.Status == store.GrantRevoked && g.RevokeReason != "selector_test" {
						t.Errorf("%s: reason %q", name, g.RevokeReason)
					}
				}
				if n := len(rowsOfType(e.snapshot(), grant.EventGrantRevoked)); n != len(tt.want) {
					t.Errorf("%d grant.revoked events, want %d", n, len(tt.want))
				}
			})
		}
	})
}

// TestRevokeTx checks that the …Tx forms join the host's transaction: a
// rollback leaves nothing, a commit keeps everything, and the hooks get
// the host's transaction.
func TestRevokeTx(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, commit := range []bool{false, true} {
			t.Run(fmt.Sprintf("commit=%v", commit), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				var hookTx store.Tx
				e := newEnv(t, db, func(c *grant.Config) {
					c.Hooks = []grant.CascadeHook{func(_ context.Context, tx store.Tx, _ grant.Revocation) error {
						hookTx = tx
						return nil
					}}
				})
				c := e.client()
				alice := e.activeGrant(request(c.ID, "alice")).Grant
				e.refreshTokens(alice.ID, 2)
				bob := e.activeGrant(request(c.ID, "bob")).Grant
				before := e.snapshot()

				tx, commitTx, rollbackTx := db.Harness.HostTx(t, e.s)
				got, err := e.m.RevokeTx(ctx, tx, []string{alice.ID}, "user_deleted", "host")
				if err != nil || len(got) != 1 {
					t.Fatalf("RevokeTx: %d grants, %v", len(got), err)
				}
				if hookTx != tx {
					t.Errorf("hook got transaction %v, want the host's %v", hookTx, tx)
				}
				got, err = e.m.RevokeWhereTx(ctx, tx, store.Selector{Subject: "bob"}, "user_deleted", "host")
				if err != nil || len(got) != 1 || got[0].ID != bob.ID {
					t.Fatalf("RevokeWhereTx: %v, %v", got, err)
				}
				end := rollbackTx
				if commit {
					end = commitTx
				}
				if err := end(); err != nil {
					t.Fatal(err)
				}
				if !commit {
					if diff := cmp.Diff(before, e.snapshot()); diff != "" {
						t.Errorf("rolled-back revocation left changes (-before +after):\n%s", diff)
					}
					return
				}
				for _, id := range []string{alice.ID, bob.ID} {
					if g := e.grant(id); g.Status != store.GrantRevoked {
						t.Errorf("after commit: %s", g.Status)
					}
				}
				if n := len(rowsOfType(e.snapshot(), grant.EventGrantRevoked)); n != 2 {
					t.Errorf("%d grant.revoked events after commit, want 2", n)
				}
			})
		}
	})
}

// hostTable is a host-owned table beside grantkit's (e.g. upstream
// provider credentials), for hooks that change it in the cascade's
// transaction.
type hostTable struct {
	name string
	// exec runs a statement written with $1 placeholders on tx.
	exec func(tx store.Tx, query string, args ...any) error
	// count returns the table's rows outside any transaction.
	count func() int
}

func newHostTable(t *testing.T, s store.Store) hostTable {
	t.Helper()
	ctx := context.Background()
	switch s := s.(type) {
	case *sqlite.Store:
		h := hostTable{name: "host_credentials"}
		h.exec = func(tx store.Tx, query string, args ...any) error {
			stx, ok := sqlite.SQLTx(unwrapTx(tx))
			if !ok {
				return errors.New("not a SQLite transaction")
			}
			_, err := stx.ExecContext(ctx, strings.ReplaceAll(query, "$", "?"), args...)
			return err
		}
		h.count = func() int {
			var n int
			if err := s.DB().QueryRowContext(ctx, `SELECT count(*) FROM host_credentials`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if _, err := s.DB().ExecContext(ctx, `CREATE TABLE host_credentials (grant_id TEXT PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		return h
	case *postgres.Store:
		h := hostTable{name: `"` + s.Schema() + `".host_credentials`}
		h.exec = func(tx store.Tx, query string, args ...any) error {
			ptx, ok := postgres.PgxTx(unwrapTx(tx))
			if !ok {
				return errors.New("not a PostgreSQL transaction")
			}
			_, err := ptx.Exec(ctx, strings.ReplaceAll(query, "host_credentials", h.name), args...)
			return err
		}
		h.count = func() int {
			var n int
			if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM `+h.name).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if _, err := s.Pool().Exec(ctx, `CREATE TABLE `+h.name+` (grant_id text PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		return h
	}
	t.Fatalf("no host table for %T", s)
	return hostTable{}
}

// unwrapTx returns the adapter's transaction behind a faultstore.Tx.
func unwrapTx(tx store.Tx) store.Tx {
	for {
		u, ok := tx.(interface{ Unwrap() store.Tx })
		if !ok {
			return tx
		}
		tx = u.Unwrap()
	}
}

// TestCascadeHooks checks SPEC §3 step 3: hooks run in the cascade's
// transaction with the revoked grants, host rows they change commit with
// it, and a hook error rolls back everything, host rows included.
func TestCascadeHooks(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		s := db.Harness.Open(t, nil)
		host := newHostTable(t, s)
		var (
			mu    sync.Mutex
			calls []grant.Revocation
			fail  error
		)
		deleteCredentials := func(_ context.Context, tx store.Tx, r grant.Revocation) error {
			mu.Lock()
			calls = append(calls, r)
			mu.Unlock()
			for _, id := range r.IDs() {
				if err := host.exec(tx, `DELETE FROM host_credentials WHERE grant_id = $1`, id); err != nil {
					return err
				}
			}
			return nil
		}
		failing := func(context.Context, store.Tx, grant.Revocation) error { return fail }
		e := envOver(t, s, func(c *grant.Config) { c.Hooks = []grant.CascadeHook{deleteCredentials, failing} })
		c := e.client()
		var ids []string
		for _, sub := range []string{"alice", "bob"} {
			g := e.activeGrant(request(c.ID, sub)).Grant
			ids = append(ids, g.ID)
			if err := s.InTx(ctx, func(tx store.Tx) error {
				return host.exec(tx, `INSERT INTO host_credentials (grant_id) VALUES ($1)`, g.ID)
			}); err != nil {
				t.Fatal(err)
			}
		}

		fail = errors.New("upstream revocation failed")
		before := e.snapshot()
		if _, err := e.m.Revoke(ctx, ids, grant.ReasonUserRevoked, "alice"); !errors.Is(err, fail) {
			t.Fatalf("Revoke with a failing hook: %v, want the hook's error", err)
		}
		if diff := cmp.Diff(before, e.snapshot()); diff != "" {
			t.Errorf("failed hook left changes (-before +after):\n%s", diff)
		}
		if n := host.count(); n != 2 {
			t.Errorf("failed hook: %d host rows, want the 2 restored", n)
		}

		fail, calls = nil, nil
		e.clk.Advance(time.Second)
		got, err := e.m.Revoke(ctx, ids, grant.ReasonUserRevoked, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if n := host.count(); n != 0 {
			t.Errorf("%d host rows left, want the hook's deletes committed", n)
		}
		want := []grant.Revocation{{Grants: got, Reason: grant.ReasonUserRevoked, Actor: "alice", At: e.clk.Now()}}
		if diff := cmp.Diff(want, calls, equateJSON); diff != "" {
			t.Errorf("hook calls (-want +got):\n%s", diff)
		}
		// Nothing revoked, no hook call.
		calls = nil
		if _, err := e.m.Revoke(ctx, ids, grant.ReasonUserRevoked, "alice"); err != nil || len(calls) != 0 {
			t.Errorf("revoking revoked grants: %v, %d hook calls", err, len(calls))
		}
	})
}

// TestDeleteClient checks that soft-deleting a client revokes all its
// grants (reason client_deleted) and writes client.deleted, atomically.
func TestDeleteClient(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		other := e.client()
		active := e.activeGrant(request(c.ID, "alice")).Grant
		tokens := e.refreshTokens(active.ID, 2)
		pending := e.start(request(c.ID, "bob")).Grant
		bystander := e.activeGrant(request(other.ID, "alice")).Grant

		e.clk.Advance(time.Second)
		got, err := e.m.DeleteClient(ctx, c.ID, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Errorf("DeleteClient revoked %d grants, want 2", len(got))
		}
		for _, id := range []string{active.ID, pending.ID} {
			if g := e.grant(id); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonClientDeleted {
				t.Errorf("grant %s: %s %q", g.Subject, g.Status, g.RevokeReason)
			}
		}
		if rt, _ := e.s.GetRefreshToken(ctx, tokens[0]); rt.Active() {
			t.Error("refresh token of a deleted client still active")
		}
		if g := e.grant(bystander.ID); g.Status != store.GrantActive {
			t.Errorf("another client's grant: %s", g.Status)
		}
		stored, err := e.s.GetClient(ctx, c.ID)
		if err != nil || !stored.DeletedAt.Equal(e.clk.Now()) {
			t.Errorf("client after delete: %+v, %v", stored, err)
		}
		snap := e.snapshot()
		deleted := rowsOfType(snap, grant.EventClientDeleted)
		if len(deleted) != 1 || deleted[0]["client_id"] != c.ID || deleted[0]["actor"] != "admin" {
			t.Errorf("client.deleted events: %v", deleted)
		}
		if n := len(rowsOfType(snap, grant.EventGrantRevoked)); n != 2 {
			t.Errorf("%d grant.revoked events, want 2", n)
		}

		if _, err := e.m.DeleteClient(ctx, c.ID, "admin"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second DeleteClient: %v, want store.ErrNotFound", err)
		}
		if _, err := e.m.DeleteClient(ctx, "nobody", "admin"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteClient of an unknown client: %v, want store.ErrNotFound", err)
		}
		if _, err := e.m.Client(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Client of a deleted client: %v, want store.ErrNotFound", err)
		}
		if _, _, err := e.m.UpdateClient(ctx, c.ID, grant.ClientMetadata{RedirectURIs: []string{redirectURI}}, "admin"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateClient of a deleted client: %v, want store.ErrNotFound", err)
		}
		if diff := cmp.Diff(snap, e.snapshot()); diff != "" {
			t.Errorf("refused calls changed the database (-before +after):\n%s", diff)
		}
	})
}

func TestAuthenticateClient(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		conf, confSecret, err := e.m.RegisterClient(ctx, grant.ClientMetadata{Name: "Confidential",
			RedirectURIs: []string{redirectURI}, Confidential: true})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(confSecret, secret.ClientSecretPrefix) || !secret.Equal(conf.SecretHash, confSecret) {
			t.Errorf("secret %q does not match its stored hash", confSecret)
		}
		assertNoSecrets(t, e.snapshot(), testdb.Tables, confSecret)
		public, publicSecret, err := e.m.RegisterClient(ctx, grant.ClientMetadata{RedirectURIs: []string{redirectURI}})
		if err != nil || publicSecret != "" || !public.Public() {
			t.Fatalf("public client: %+v %q %v", public, publicSecret, err)
		}
		gone, goneSecret, err := e.m.RegisterClient(ctx, grant.ClientMetadata{RedirectURIs: []string{redirectURI}, Confidential: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.DeleteClient(ctx, gone.ID, "admin"); err != nil {
			t.Fatal(err)
		}
		otherSecret := func() string { s, _ := secret.New(secret.ClientSecretPrefix); return s }()
		changed := []byte(confSecret)
		changed[len(changed)-1] ^= 1 // one byte different

		for _, tt := range []struct {
			name, id, secret string
			want             error
		}{
			{"confidential, right secret", conf.ID, confSecret, nil},
			{"confidential, wrong secret", conf.ID, otherSecret, grant.ErrInvalidClient},
			{"confidential, secret with a byte changed", conf.ID, string(changed), grant.ErrInvalidClient},
			{"confidential, no secret", conf.ID, "", grant.ErrInvalidClient},
			{"confidential, the hash as secret", conf.ID, string(conf.SecretHash), grant.ErrInvalidClient},
			{"public, no secret", public.ID, "", nil},
			{"public with a secret", public.ID, confSecret, grant.ErrInvalidClient},
			{"unknown client", "nobody", confSecret, grant.ErrInvalidClient},
			{"deleted client, right secret", gone.ID, goneSecret, grant.ErrInvalidClient},
		} {
			t.Run(tt.name, func(t *testing.T) {
				c, err := e.m.AuthenticateClient(ctx, tt.id, tt.secret)
				if !is(err, tt.want) {
					t.Fatalf("AuthenticateClient: %v, want %v", err, tt.want)
				}
				if (err == nil) != (c.ID == tt.id) {
					t.Errorf("AuthenticateClient returned client %q with error %v", c.ID, err)
				}
			})
		}
	})
}
