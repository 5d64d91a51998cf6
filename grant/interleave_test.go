package grant_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

// These tests force the interleavings a review found unsafe: interfering
// work starts at a precise point of an operation's transaction (through a
// hooked store.Tx) and the test then checks the invariant that must hold
// whatever order the database lets the two finish in. The pause after
// starting the interfering work only widens the window: on PostgreSQL it
// lets the other transaction reach its lock wait, on SQLite it queues behind
// the writer; the assertions do not depend on it.

// pause is how long a hook lets the interfering transaction run.
const pause = 100 * time.Millisecond

// hookedTx runs a function once, right after the first call of the hooked
// method returns, inside the operation's transaction.
type hookedTx struct {
	store.Tx
	method string
	hook   func()
}

func (t *hookedTx) fire(method string) {
	if t.hook != nil && t.method == method {
		f := t.hook
		t.hook = nil
		f()
	}
}

func (t *hookedTx) GetClientForShare(ctx context.Context, id string) (store.Client, error) {
	c, err := t.Tx.GetClientForShare(ctx, id)
	t.fire("GetClientForShare")
	return c, err
}

func (t *hookedTx) GetClientForUpdate(ctx context.Context, id string) (store.Client, error) {
	c, err := t.Tx.GetClientForUpdate(ctx, id)
	t.fire("GetClientForUpdate")
	return c, err
}

func (t *hookedTx) GetGrantForUpdate(ctx context.Context, id string) (store.Grant, error) {
	g, err := t.Tx.GetGrantForUpdate(ctx, id)
	t.fire("GetGrantForUpdate")
	return g, err
}

func (t *hookedTx) FindActiveGrant(ctx context.Context, b store.Binding) (store.Grant, error) {
	g, err := t.Tx.FindActiveGrant(ctx, b)
	t.fire("FindActiveGrant")
	return g, err
}

// hookedStore hands the next transaction a hookedTx.
type hookedStore struct {
	store.Store
	method string
	hook   func()
}

func (h *hookedStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	hook := h.hook
	h.hook = nil
	return h.Store.InTx(ctx, func(tx store.Tx) error {
		return fn(&hookedTx{Tx: tx, method: h.method, hook: hook})
	})
}

// hooked is a test's setup: a store, a hookedStore over it, an env whose
// manager (e.m) goes through the hooks, a manager that does not, a client.
type hooked struct {
	raw   store.Store
	hs    *hookedStore
	e     *env
	plain *grant.Manager
	c     store.Client
}

func newHooked(t *testing.T, db testdb.DB) hooked {
	raw := db.Harness.Open(t, nil)
	hs := &hookedStore{Store: raw}
	e := envOver(t, hs)
	return hooked{raw: raw, hs: hs, e: e, plain: e.manager(raw), c: e.client()}
}

// inBackground starts fn and returns a channel closed when it returns,
// after pausing so fn can reach its lock wait.
func inBackground(fn func()) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	time.Sleep(pause)
	return done
}

// await waits for the interfering work, failing t if the hook never ran.
func await(t *testing.T, done <-chan struct{}) {
	t.Helper()
	if done == nil {
		t.Fatal("the hook never ran: the operation no longer makes the hooked call")
	}
	<-done
}

// TestStartRacesMaterialUpdate: a material UpdateClient arriving while
// Start has checked the request against the registration must not leave a
// grant with a scope the client no longer has (SPEC §3): either the update
// waits and then revokes the new grant, or Start sees the new registration.
func TestStartRacesMaterialUpdate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		h := newHooked(t, db)
		hs, e, admin, c := h.hs, h.e, h.plain, h.c
		req := request(c.ID, "alice")
		req.Scopes = []string{"read", "write"}
		var done <-chan struct{}
		hs.method, hs.hook = "GetClientForShare", func() {
			done = inBackground(func() {
				if _, _, err := admin.UpdateClient(ctx, c.ID, grant.ClientMetadata{Name: c.Name,
					RedirectURIs: c.RedirectURIs, Scopes: []string{"read"}}, "admin"); err != nil {
					t.Errorf("UpdateClient: %v", err)
				}
			})
		}
		a, startErr := e.m.Start(ctx, req)
		await(t, done)
		if startErr != nil {
			if !errors.Is(startErr, grant.ErrInvalidScope) {
				t.Fatalf("Start = %v, want success or ErrInvalidScope", startErr)
			}
			return
		}
		ap, err := e.m.Approve(ctx, a.Request.ID, nil)
		if err == nil {
			t.Fatalf("Approve of a request checked against the old registration succeeded: grant %s is %s "+
				"with scopes %v", ap.Grant.ID, e.grant(ap.Grant.ID).Status, ap.Grant.Scopes)
		}
		if g := e.grant(a.Grant.ID); g.Status != store.GrantRevoked {
			t.Errorf("grant %s started against the old registration is %s, want revoked", g.ID, g.Status)
		}
	})
}

// TestStartReuseRacesRevoke: a revocation arriving while Start is reusing
// the active grant must not leave an open authorization request on a
// revoked grant (SPEC §3 step 2).
func TestStartReuseRacesRevoke(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		h := newHooked(t, db)
		raw, hs, e, admin, c := h.raw, h.hs, h.e, h.plain, h.c
		req := request(c.ID, "alice")
		p := e.activeGrant(req)
		var done <-chan struct{}
		// Right after Start has locked the grant it reuses.
		hs.method, hs.hook = "GetGrantForUpdate", func() {
			done = inBackground(func() {
				if _, err := admin.Revoke(ctx, []string{p.Grant.ID}, "user_deleted", "admin"); err != nil {
					t.Errorf("Revoke: %v", err)
				}
			})
		}
		a, err := e.m.Start(ctx, req)
		await(t, done)
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		r, err := raw.GetAuthRequest(ctx, a.Request.ID)
		if err != nil {
			t.Fatal(err)
		}
		if g := e.grant(a.Grant.ID); g.Status == store.GrantRevoked && r.RevokedAt.IsZero() && r.ConsumedAt.IsZero() {
			t.Errorf("grant %s is revoked but its authorization request %s is open (Reused %v)", g.ID, r.ID, a.Reused)
		}
	})
}

// TestApproveRacesRevokeWhere: an approval superseding the binding's active
// grant and a revocation of both grants (RevokeWhere by subject) must not
// deadlock on PostgreSQL, and no grant of the subject may be left active.
// A third transaction holds the binding while both start, so the approval
// is parked at the point where it used to hold the pending grant's row.
func TestApproveRacesRevokeWhere(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		if db.Name != "postgres" {
			t.Skip("SQLite write transactions never overlap: there is no lock order to get wrong")
		}
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client()
		req := request(c.ID, "alice")
		p := e.activeGrant(req)
		req.Scopes = []string{"read", "write"} // not reusable: a new pending grant
		a := e.start(req)

		locked, release := make(chan struct{}), make(chan struct{})
		holder := make(chan error, 1)
		go func() {
			holder <- e.s.InTx(ctx, func(tx store.Tx) error {
				if err := tx.LockBinding(ctx, p.Grant.Binding()); err != nil {
					return err
				}
				close(locked)
				<-release
				return nil
			})
		}()
		<-locked
		var (
			approveErr, revokeErr error
		)
		approved := inBackground(func() { _, approveErr = e.m.Approve(ctx, a.Request.ID, nil) })
		revoked := inBackground(func() {
			_, revokeErr = e.m.RevokeWhere(ctx, store.Selector{Subject: "alice"}, "user_deleted", "admin")
		})
		close(release)
		<-approved
		<-revoked
		if err := <-holder; err != nil {
			t.Fatal(err)
		}
		if revokeErr != nil {
			t.Errorf("RevokeWhere: %v", revokeErr)
		}
		if approveErr != nil && !errors.Is(approveErr, grant.ErrRequestClosed) &&
			!errors.Is(approveErr, grant.ErrInvalidTransition) {
			t.Errorf("Approve = %v, want success, ErrRequestClosed or ErrInvalidTransition", approveErr)
		}
		for _, id := range []string{p.Grant.ID, a.Grant.ID} {
			if g := e.grant(id); g.Status == store.GrantActive {
				t.Errorf("grant %s is active after the revocation of every grant of its subject", id)
			}
		}
	})
}

// TestConcurrentMaterialUpdates: a redirect URI added by one UpdateClient
// and removed by another running at the same time is seen as removed by
// whichever commits last, so a grant bound to it never outlives the
// registration (SPEC §3). The second update reads the registration, then
// the first (adding the URI) and an authorization through it try to run.
func TestConcurrentMaterialUpdates(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		h := newHooked(t, db)
		raw, hs, slow, c := h.raw, h.hs, h.e.m, h.c
		e := &env{t: t, s: raw, m: h.plain, clk: h.e.clk} // the unhooked side
		const other = "https://app.example/other"
		var done <-chan struct{}
		hs.method, hs.hook = "GetClientForUpdate", func() {
			done = inBackground(func() {
				if _, _, err := e.m.UpdateClient(ctx, c.ID, grant.ClientMetadata{Name: c.Name,
					RedirectURIs: []string{redirectURI, other}, Scopes: c.Scopes}, "admin1"); err != nil {
					t.Errorf("UpdateClient adding %s: %v", other, err)
					return
				}
				req := request(c.ID, "alice")
				req.RedirectURI = other
				a, err := e.m.Start(ctx, req)
				if err == nil {
					_, err = e.m.Approve(ctx, a.Request.ID, nil)
				}
				if err != nil && !errors.Is(err, grant.ErrInvalidRedirectURI) {
					t.Errorf("authorizing through %s: %v", other, err)
				}
			})
		}
		if _, _, err := slow.UpdateClient(ctx, c.ID, grant.ClientMetadata{Name: c.Name,
			RedirectURIs: []string{redirectURI}, Scopes: c.Scopes}, "admin2"); err != nil {
			t.Fatalf("UpdateClient removing %s: %v", other, err)
		}
		await(t, done)
		cur, err := raw.GetClient(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		page, err := raw.ListActiveGrants(ctx, store.GrantFilter{Subject: "alice", SubjectKind: "user"}, store.Page{})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.Items {
			if !slices.Contains(cur.RedirectURIs, g.RedirectURI) {
				t.Errorf("active grant %s on %s, which the client no longer has (%v)", g.ID, g.RedirectURI,
					cur.RedirectURIs)
			}
		}
	})
}
