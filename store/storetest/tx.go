package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("TxCommit", testTxCommit)
	register("TxRollbackOnError", testTxRollbackOnError)
	register("TxRollbackOnPanic", testTxRollbackOnPanic)
	register("TxGetGrantLocked", testTxGetGrantLocked)
	register("TxHostJoined", testTxHostJoined)
	register("TxLockBlocksRevoke", testTxLockBlocksRevoke)
	register("TxLockBinding", testTxLockBinding)
	register("TxAfterCommit", testTxAfterCommit)
	register("TxHostAfterCommit", testTxHostAfterCommit)
}

// testTxAfterCommit checks that callbacks registered in InTx run after the
// commit, in order, once, and never after a rollback or a panic.
func testTxAfterCommit(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		fail   error
		panics bool
		want   []string
	}{
		{"commit runs them in order", nil, false, []string{"first", "second"}},
		{"rollback drops them", boom, false, nil},
		{"panic drops them", nil, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, s)
			var ran []string
			var g store.Grant
			func() {
				defer func() {
					if r := recover(); r != nil && !tc.panics {
						panic(r)
					}
				}()
				err := s.InTx(ctx(t), func(tx store.Tx) error {
					g = newGrant(t, tx, c.ID)
					for _, name := range []string{"first", "second"} {
						tx.AfterCommit(func(context.Context) {
							// The change is visible to others when the callback runs.
							if _, err := s.GetGrant(ctx(t), g.ID); err != nil {
								t.Errorf("callback %s: grant not visible after commit: %v", name, err)
							}
							ran = append(ran, name)
						})
					}
					if len(ran) != 0 {
						t.Errorf("callbacks ran before the commit: %v", ran)
					}
					if tc.panics {
						panic("boom")
					}
					return tc.fail
				})
				if !errors.Is(err, tc.fail) {
					t.Errorf("InTx = %v, want %v", err, tc.fail)
				}
			}()
			if diff := cmp.Diff(tc.want, ran); diff != "" {
				t.Errorf("callbacks run (-want +got):\n%s", diff)
			}
		})
	}
}

// testTxHostAfterCommit checks that callbacks registered on a joined host
// transaction run only when the host calls Committed after its commit, and
// once.
func testTxHostAfterCommit(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	for _, commitIt := range []bool{false, true} {
		t.Run(fmt.Sprintf("commit=%v", commitIt), func(t *testing.T) {
			tx, commit, rollback := h.HostTx(t, s)
			runs := 0
			tx.AfterCommit(func(context.Context) { runs++ })
			if commitIt {
				if err := commit(); err != nil {
					t.Fatal(err)
				}
				if runs != 0 {
					t.Fatalf("callback ran at the host's commit, before Committed")
				}
				tx.Committed(ctx(t))
				tx.Committed(ctx(t))
				if runs != 1 {
					t.Fatalf("callback ran %d times, want 1", runs)
				}
				// A callback registered after Committed is dropped.
				tx.AfterCommit(func(context.Context) { runs++ })
				tx.Committed(ctx(t))
				if runs != 1 {
					t.Fatalf("late callback ran")
				}
				return
			}
			if err := rollback(); err != nil {
				t.Fatal(err)
			}
			if runs != 0 {
				t.Fatalf("callback ran after a rollback")
			}
		})
	}
}

// txArtifacts is one of each record, written together in one transaction.
type txArtifacts struct {
	client  store.Client
	grant   store.Grant
	request store.AuthRequest
	code    store.AuthCode
	token   store.RefreshToken
	event   store.AuditEvent
}

// writeArtifacts writes one record of each kind through ops.
func writeArtifacts(t *testing.T, ops store.Ops) (txArtifacts, error) {
	t.Helper()
	var a txArtifacts
	a.client = store.Client{
		ID: "client-" + newID(t), Name: "Tx", RedirectURIs: []string{"https://app.example/cb"},
		GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, Scopes: []string{"read"},
		CreatedAt: micro, UpdatedAt: micro,
	}
	if err := ops.CreateClient(ctx(t), a.client); err != nil {
		return a, fmt.Errorf("CreateClient: %w", err)
	}
	a.grant = newGrant(t, ops, a.client.ID)
	a.request = seedAuthRequest(t, ops, a.grant)
	a.code = seedAuthCode(t, ops, a.grant)
	a.token = newRefresh(t, ops, a.grant.ID, newID(t), "")
	a.event = auditFixture(t, a.grant.ID, func(e *store.AuditEvent) { e.Type = "grant.activated" })
	if err := ops.AppendAuditEvents(ctx(t), []store.AuditEvent{a.event}); err != nil {
		return a, fmt.Errorf("AppendAuditEvents: %w", err)
	}
	return a, nil
}

// checkArtifacts asserts that every record of a is present (and equal to what
// was written) or that none is.
func checkArtifacts(t *testing.T, s store.Ops, a txArtifacts, present bool) {
	t.Helper()
	check := func(what string, want, got any, err error) {
		t.Helper()
		switch {
		case present && err != nil:
			t.Errorf("%s: %v, want it committed", what, err)
		case present:
			if d := diff(want, got); d != "" {
				t.Errorf("%s (-want +got):\n%s", what, d)
			}
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("%s: %v, want ErrNotFound (rolled back)", what, err)
		}
	}
	c, err := s.GetClient(ctx(t), a.client.ID)
	check("client", a.client, c, err)
	g, err := s.GetGrant(ctx(t), a.grant.ID)
	check("grant", a.grant, g, err)
	r, err := s.GetAuthRequest(ctx(t), a.request.ID)
	check("authorization request", a.request, r, err)
	code, err := s.GetAuthCode(ctx(t), a.code.Hash)
	check("authorization code", a.code, code, err)
	rt, err := s.GetRefreshToken(ctx(t), a.token.Hash)
	check("refresh token", a.token, rt, err)

	page, err := s.ListAuditEvents(ctx(t), store.AuditFilter{GrantID: a.grant.ID}, store.Page{})
	if err != nil {
		t.Fatalf("ListAuditEvents: %v", err)
	}
	var want []store.AuditEvent
	if present {
		want = []store.AuditEvent{auditAsStored(a.event)}
	}
	var got []store.AuditEvent
	for _, e := range page.Items {
		got = append(got, auditAsStored(e))
	}
	if d := diff(want, got); d != "" {
		t.Errorf("audit events (-want +got):\n%s", d)
	}
}

func testTxCommit(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	var a txArtifacts
	err := s.InTx(ctx(t), func(tx store.Tx) error {
		var err error
		a, err = writeArtifacts(t, tx)
		if err != nil {
			return err
		}
		// The transaction reads its own writes.
		if _, err := tx.GetRefreshToken(ctx(t), a.token.Hash); err != nil {
			return fmt.Errorf("reading own write: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	checkArtifacts(t, s, a, true)
}

var errTxAbort = errors.New("storetest: abort the transaction")

func testTxRollbackOnError(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	t.Run("error from fn", func(t *testing.T) {
		var a txArtifacts
		err := s.InTx(ctx(t), func(tx store.Tx) error {
			var err error
			if a, err = writeArtifacts(t, tx); err != nil {
				return err
			}
			return fmt.Errorf("host step failed: %w", errTxAbort)
		})
		if !errors.Is(err, errTxAbort) {
			t.Fatalf("InTx = %v, want the error fn returned", err)
		}
		checkArtifacts(t, s, a, false)
	})
	t.Run("error from a store operation", func(t *testing.T) {
		var a txArtifacts
		err := s.InTx(ctx(t), func(tx store.Tx) error {
			var err error
			if a, err = writeArtifacts(t, tx); err != nil {
				return err
			}
			dup := a.token
			dup.ID, dup.FamilyID = newID(t), newID(t) // same hash
			return tx.CreateRefreshToken(ctx(t), dup)
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("InTx = %v, want ErrConflict", err)
		}
		checkArtifacts(t, s, a, false)
	})
	// The store is usable after a rollback.
	checkArtifacts(t, s, mustWrite(t, s), true)
}

// mustWrite writes a fresh set of artifacts through the store itself.
func mustWrite(t *testing.T, s store.Store) txArtifacts {
	t.Helper()
	var a txArtifacts
	if err := s.InTx(ctx(t), func(tx store.Tx) error {
		var err error
		a, err = writeArtifacts(t, tx)
		return err
	}); err != nil {
		t.Fatalf("InTx: %v", err)
	}
	return a
}

func testTxRollbackOnPanic(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	type boom struct{ Msg string }
	var a txArtifacts
	recovered := func() (v any) {
		defer func() { v = recover() }()
		_ = s.InTx(ctx(t), func(tx store.Tx) error {
			var err error
			if a, err = writeArtifacts(t, tx); err != nil {
				t.Errorf("writeArtifacts: %v", err)
				return err
			}
			panic(boom{"host code panicked"})
		})
		return nil
	}()
	if d := diff(boom{"host code panicked"}, recovered); d != "" {
		t.Fatalf("panic did not propagate out of InTx (-want +got recovered value):\n%s", d)
	}
	checkArtifacts(t, s, a, false)
	// The store is usable after the panic (no lock or connection leaked).
	checkArtifacts(t, s, mustWrite(t, s), true)
}

// grantLocks are the two ways a transaction reads a grant under a lock.
var grantLocks = []struct {
	name string
	get  func(tx store.Tx, ctx context.Context, id string) (store.Grant, error)
}{
	{"GetGrantForUpdate", store.Tx.GetGrantForUpdate},
	{"GetGrantForShare", store.Tx.GetGrantForShare},
}

// testTxGetGrantLocked checks what GetGrantForUpdate and GetGrantForShare
// read.
func testTxGetGrantLocked(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID, func(g *store.Grant) {
		g.CreatedAt, g.ActivatedAt, g.LastUsedAt = base, base, base.Add(time.Second)
		g.ConfigVersion, g.Tenant, g.Scopes = 3, "org-1", []string{"read", "write"}
	})
	want := g
	want.CreatedAt, want.ActivatedAt, want.LastUsedAt = micro, micro, utc(base.Add(time.Second))
	for _, lk := range grantLocks {
		t.Run(lk.name, func(t *testing.T) {
			err := s.InTx(ctx(t), func(tx store.Tx) error {
				got, err := lk.get(tx, ctx(t), g.ID)
				if err != nil {
					return fmt.Errorf("%s: %w", lk.name, err)
				}
				if d := diff(want, got); d != "" {
					t.Errorf("%s (-want +got):\n%s", lk.name, d)
				}
				checkUTC(t, lk.name, got.CreatedAt, got.ActivatedAt, got.LastUsedAt)

				// A grant created in the same transaction can be locked too.
				fresh := newGrant(t, tx, c.ID, pendingGrant)
				if got, err := lk.get(tx, ctx(t), fresh.ID); err != nil || got.Status != store.GrantPending {
					t.Errorf("%s(own insert) = %v, %v; want the pending grant", lk.name, got.Status, err)
				}
				for _, id := range []string{newID(t), "not-a-uuid", ""} {
					if _, err := lk.get(tx, ctx(t), id); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("%s(%q) = %v, want ErrNotFound", lk.name, id, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("InTx: %v", err)
			}
		})
	}
}

func testTxHostJoined(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	for _, tc := range []struct {
		name   string
		commit bool
	}{
		{"rollback leaves nothing", false},
		{"commit keeps everything", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, commit, rollback := h.HostTx(t, s)
			a, err := writeArtifacts(t, tx)
			if err != nil {
				_ = rollback()
				t.Fatalf("through the joined transaction: %v", err)
			}
			// The joined transaction sees its own writes before it ends.
			if _, err := tx.GetGrantForUpdate(ctx(t), a.grant.ID); err != nil {
				_ = rollback()
				t.Fatalf("GetGrantForUpdate in the joined transaction: %v", err)
			}
			end := rollback
			if tc.commit {
				end = commit
			}
			if err := end(); err != nil {
				t.Fatalf("ending the host transaction: %v", err)
			}
			checkArtifacts(t, s, a, tc.commit)
		})
	}
}

// testTxLockBlocksRevoke checks the grant locks a code exchange, a
// refresh and a revocation rely on: while a transaction holds a grant from
// GetGrantForUpdate, GetGrantForShare or LockGrants (and writes nothing),
// a concurrent RevokeGrants waits for that transaction to end.
func testTxLockBlocksRevoke(t *testing.T, h Harness) {
	for _, lk := range grantLocks {
		t.Run(lk.name, func(t *testing.T) { lockBlocksRevoke(t, h, lk.get) })
	}
	t.Run("LockGrants", func(t *testing.T) {
		lockBlocksRevoke(t, h, func(tx store.Tx, ctx context.Context, id string) (store.Grant, error) {
			if err := tx.LockGrants(ctx, []string{newID(t), id, "not-a-uuid"}); err != nil {
				return store.Grant{}, err
			}
			return tx.GetGrant(ctx, id)
		})
	})
}

func lockBlocksRevoke(t *testing.T, h Harness, lock func(store.Tx, context.Context, string) (store.Grant, error)) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)
	revokedAt := micro.Add(2 * time.Minute)

	locked := make(chan struct{})
	release := make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce()
	txDone := make(chan error, 1)
	go func() {
		txDone <- s.InTx(ctx(t), func(tx store.Tx) error {
			got, err := lock(tx, ctx(t), g.ID)
			if err != nil {
				return fmt.Errorf("locking the grant: %w", err)
			}
			if got.Status != store.GrantActive {
				return fmt.Errorf("locked grant is %s, want active", got.Status)
			}
			close(locked)
			<-release
			return nil
		})
	}()
	select {
	case <-locked:
	case err := <-txDone:
		t.Fatalf("locking transaction ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("locking transaction did not start")
	}

	type result struct {
		grants []store.Grant
		err    error
	}
	revoked := make(chan result, 1)
	go func() {
		gs, err := s.RevokeGrants(ctx(t), []string{g.ID}, "user_revoked", revokedAt)
		revoked <- result{gs, err}
	}()
	select {
	case r := <-revoked:
		t.Fatalf("RevokeGrants returned %d grants, %v while the grant was locked; want it to wait", len(r.grants), r.err)
	case <-time.After(100 * time.Millisecond):
	}

	releaseOnce()
	if err := <-txDone; err != nil {
		t.Fatalf("locking transaction: %v", err)
	}
	var r result
	select {
	case r = <-revoked:
	case <-time.After(10 * time.Second):
		t.Fatal("RevokeGrants did not complete after the lock was released")
	}
	if r.err != nil {
		t.Fatalf("RevokeGrants: %v", r.err)
	}
	want := g
	want.Status, want.RevokedAt, want.RevokeReason = store.GrantRevoked, revokedAt, "user_revoked"
	if d := diff([]store.Grant{want}, r.grants); d != "" {
		t.Errorf("RevokeGrants (-want +got):\n%s", d)
	}
}

// testTxLockBinding checks that LockBinding serialises two transactions on
// one binding: the second waits until the first ends.
func testTxLockBinding(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	b := store.Binding{ClientID: "c", Subject: "alice", Resource: "https://mcp.example/", RedirectURI: "https://app.example/cb"}
	locked, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.InTx(ctx(t), func(tx store.Tx) error {
			if err := tx.LockBinding(ctx(t), b); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	select {
	case <-locked:
	case err := <-first:
		t.Fatalf("first transaction ended early: %v", err)
	}
	second := make(chan error, 1)
	go func() {
		second <- s.InTx(ctx(t), func(tx store.Tx) error { return tx.LockBinding(ctx(t), b) })
	}()
	select {
	case err := <-second:
		close(release)
		t.Fatalf("second LockBinding returned %v while the first transaction held the binding; want it to wait", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first transaction: %v", err)
	}
	select {
	case err := <-second:
		if err != nil {
			t.Fatalf("second transaction: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second LockBinding did not complete after the first transaction ended")
	}
}
