// Package faultstore wraps a store.Store to inject one failure at a chosen
// store call, so tests can prove that an operation interrupted at any step
// leaves the database exactly as it was: a failure anywhere in the cascade
// or any other multi-step operation rolls back everything.
//
// Every call of a store.Ops or store.Tx method on the wrapper, on the Tx
// values its InTx hands out and on transactions wrapped with WrapTx counts
// as one step; so do the beginning of an InTx and its commit. The step whose
// number equals failAt returns an error wrapping ErrInjected instead of
// reaching the database (an injected commit failure makes the wrapped
// store roll back). A test first runs the operation with failAt 0 (never
// fail) to learn Calls, then once per k in 1..Calls with failAt k.
//
// Stall makes the chosen step hang instead, until the caller's context
// ends, and then fail with the context's error: a database that stops
// answering under a request deadline.
package faultstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/grantkit/grantkit/store"
)

// ErrInjected is the failure the wrapper injects.
var ErrInjected = errors.New("faultstore: injected failure")

// Store is a store.Store that fails at one chosen step. It is safe for
// concurrent use; the step counter is shared by the store and every Tx it
// wraps.
type Store struct {
	ops
	inner  store.Store
	failAt int
	stall  bool
	// stalled is closed when the stalled step begins to hang (the one
	// step whose number is failAt: it happens once).
	stalled chan struct{}

	mu    sync.Mutex
	trace []string
}

var (
	_ store.Store = (*Store)(nil)
	_ store.Tx    = (*Tx)(nil)
)

// Wrap returns s failing at step failAt (counted from 1); failAt 0 never
// fails.
func Wrap(s store.Store, failAt int) *Store {
	f := &Store{inner: s, failAt: failAt, stalled: make(chan struct{})}
	f.ops = ops{f: f, o: s}
	return f
}

// Stall returns s hanging at step stallAt (counted from 1) until the
// step's context is done, when the step fails with an error wrapping
// ErrInjected and the context's error. The context must be able to end.
func Stall(s store.Store, stallAt int) *Store {
	f := Wrap(s, stallAt)
	f.stall = true
	return f
}

// Stalled returns a channel closed once the stalled step has begun to
// hang (never, for a Store made by Wrap): a test can end the caller's
// context then, sure the step was reached.
func (s *Store) Stalled() <-chan struct{} { return s.stalled }

// Calls returns the number of steps counted so far, the failed one
// included.
func (s *Store) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.trace)
}

// Trace returns the names of the steps counted so far, in order: store
// method names, plus "InTx" for a transaction's beginning and "Commit" for
// its commit.
func (s *Store) Trace() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.trace...)
}

// Unwrap returns the wrapped store.
func (s *Store) Unwrap() store.Store { return s.inner }

// step counts one step and returns the injected error if it is the chosen
// one.
func (s *Store) step(ctx context.Context, name string) error {
	s.mu.Lock()
	s.trace = append(s.trace, name)
	n := len(s.trace)
	s.mu.Unlock()
	if n == s.failAt && s.stall {
		close(s.stalled)
		<-ctx.Done()
		return fmt.Errorf("faultstore: step %d (%s) stalled: %w: %w", n, name, ErrInjected, context.Cause(ctx))
	}
	if n == s.failAt {
		return fmt.Errorf("faultstore: step %d (%s): %w", n, name, ErrInjected)
	}
	return nil
}

// InTx implements store.Store. Its beginning and its commit are steps; fn
// receives the wrapped store's Tx wrapped, so its calls are steps too.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := s.step(ctx, "InTx"); err != nil {
		return err
	}
	return s.inner.InTx(ctx, func(tx store.Tx) error {
		if err := fn(s.WrapTx(tx)); err != nil {
			return err
		}
		// Failing here makes the wrapped store roll back: a failed commit.
		return s.step(ctx, "Commit")
	})
}

// Migrate implements store.Store; it is not a step.
func (s *Store) Migrate(ctx context.Context) error { return s.inner.Migrate(ctx) }

// Exclusive implements store.Store; it is not a step (fn's calls on the
// wrapper are).
func (s *Store) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	return s.inner.Exclusive(ctx, name, fn)
}

// WrapTx returns tx (a transaction of the wrapped store's database, e.g. a
// host transaction joined with an adapter's WithTx) with its calls counted
// as steps of s.
func (s *Store) WrapTx(tx store.Tx) store.Tx { return &Tx{ops: ops{f: s, o: tx}, inner: tx} }

// Tx is a store.Tx whose calls are steps of the Store that wrapped it.
type Tx struct {
	ops
	inner store.Tx
}

// Unwrap returns the wrapped transaction, e.g. for sqlite.SQLTx or
// postgres.PgxTx in a cascade hook.
func (t *Tx) Unwrap() store.Tx { return t.inner }

// AfterCommit implements store.Tx; it is not a step.
func (t *Tx) AfterCommit(fn func(ctx context.Context)) { t.inner.AfterCommit(fn) }

// LockBinding implements store.Tx.
func (t *Tx) LockBinding(ctx context.Context, b store.Binding) error {
	if err := t.f.step(ctx, "LockBinding"); err != nil {
		return err
	}
	return t.inner.LockBinding(ctx, b)
}

// GetGrantForUpdate implements store.Tx.
func (t *Tx) GetGrantForUpdate(ctx context.Context, id string) (_ store.Grant, err error) {
	if err = t.f.step(ctx, "GetGrantForUpdate"); err != nil {
		return
	}
	return t.inner.GetGrantForUpdate(ctx, id)
}

// LockGrants implements store.Tx.
func (t *Tx) LockGrants(ctx context.Context, ids []string) error {
	if err := t.f.step(ctx, "LockGrants"); err != nil {
		return err
	}
	return t.inner.LockGrants(ctx, ids)
}

// GetGrantForShare implements store.Tx.
func (t *Tx) GetGrantForShare(ctx context.Context, id string) (_ store.Grant, err error) {
	if err = t.f.step(ctx, "GetGrantForShare"); err != nil {
		return
	}
	return t.inner.GetGrantForShare(ctx, id)
}

// GetClientForShare implements store.Tx.
func (t *Tx) GetClientForShare(ctx context.Context, id string) (_ store.Client, err error) {
	if err = t.f.step(ctx, "GetClientForShare"); err != nil {
		return
	}
	return t.inner.GetClientForShare(ctx, id)
}

// GetClientForUpdate implements store.Tx.
func (t *Tx) GetClientForUpdate(ctx context.Context, id string) (_ store.Client, err error) {
	if err = t.f.step(ctx, "GetClientForUpdate"); err != nil {
		return
	}
	return t.inner.GetClientForUpdate(ctx, id)
}

// ops counts and forwards every method of store.Ops. It is written out
// method by method: embedding the interface would let unlisted methods
// bypass the counter.
type ops struct {
	f *Store
	o store.Ops
}

// CreateClient implements store.Ops.
func (o ops) CreateClient(ctx context.Context, c store.Client) error {
	if err := o.f.step(ctx, "CreateClient"); err != nil {
		return err
	}
	return o.o.CreateClient(ctx, c)
}

// GetClient implements store.Ops.
func (o ops) GetClient(ctx context.Context, id string) (_ store.Client, err error) {
	if err = o.f.step(ctx, "GetClient"); err != nil {
		return
	}
	return o.o.GetClient(ctx, id)
}

// UpdateClient implements store.Ops.
func (o ops) UpdateClient(ctx context.Context, c store.Client) error {
	if err := o.f.step(ctx, "UpdateClient"); err != nil {
		return err
	}
	return o.o.UpdateClient(ctx, c)
}

// DeleteClient implements store.Ops.
func (o ops) DeleteClient(ctx context.Context, id string, at time.Time) error {
	if err := o.f.step(ctx, "DeleteClient"); err != nil {
		return err
	}
	return o.o.DeleteClient(ctx, id, at)
}

// CreateGrant implements store.Ops.
func (o ops) CreateGrant(ctx context.Context, g store.Grant) error {
	if err := o.f.step(ctx, "CreateGrant"); err != nil {
		return err
	}
	return o.o.CreateGrant(ctx, g)
}

// GetGrant implements store.Ops.
func (o ops) GetGrant(ctx context.Context, id string) (_ store.Grant, err error) {
	if err = o.f.step(ctx, "GetGrant"); err != nil {
		return
	}
	return o.o.GetGrant(ctx, id)
}

// FindActiveGrant implements store.Ops.
func (o ops) FindActiveGrant(ctx context.Context, b store.Binding) (_ store.Grant, err error) {
	if err = o.f.step(ctx, "FindActiveGrant"); err != nil {
		return
	}
	return o.o.FindActiveGrant(ctx, b)
}

// ActivateGrant implements store.Ops.
func (o ops) ActivateGrant(ctx context.Context, id string, at time.Time) (_ bool, err error) {
	if err = o.f.step(ctx, "ActivateGrant"); err != nil {
		return
	}
	return o.o.ActivateGrant(ctx, id, at)
}

// SelectGrants implements store.Ops.
func (o ops) SelectGrants(ctx context.Context, sel store.Selector) (_ []string, err error) {
	if err = o.f.step(ctx, "SelectGrants"); err != nil {
		return
	}
	return o.o.SelectGrants(ctx, sel)
}

// RevokeGrants implements store.Ops.
func (o ops) RevokeGrants(ctx context.Context, ids []string, reason string, at time.Time) (_ []store.Grant, err error) {
	if err = o.f.step(ctx, "RevokeGrants"); err != nil {
		return
	}
	return o.o.RevokeGrants(ctx, ids, reason, at)
}

// ListActiveGrants implements store.Ops.
func (o ops) ListActiveGrants(ctx context.Context, f store.GrantFilter, p store.Page) (_ store.GrantPage, err error) {
	if err = o.f.step(ctx, "ListActiveGrants"); err != nil {
		return
	}
	return o.o.ListActiveGrants(ctx, f, p)
}

// TouchGrants implements store.Ops.
func (o ops) TouchGrants(ctx context.Context, ids []string, at time.Time, window time.Duration) (_ int64, err error) {
	if err = o.f.step(ctx, "TouchGrants"); err != nil {
		return
	}
	return o.o.TouchGrants(ctx, ids, at, window)
}

// CreateAuthRequest implements store.Ops.
func (o ops) CreateAuthRequest(ctx context.Context, r store.AuthRequest) error {
	if err := o.f.step(ctx, "CreateAuthRequest"); err != nil {
		return err
	}
	return o.o.CreateAuthRequest(ctx, r)
}

// GetAuthRequest implements store.Ops.
func (o ops) GetAuthRequest(ctx context.Context, id string) (_ store.AuthRequest, err error) {
	if err = o.f.step(ctx, "GetAuthRequest"); err != nil {
		return
	}
	return o.o.GetAuthRequest(ctx, id)
}

// ConsumeAuthRequest implements store.Ops.
func (o ops) ConsumeAuthRequest(ctx context.Context, id string, at time.Time) (_ bool, err error) {
	if err = o.f.step(ctx, "ConsumeAuthRequest"); err != nil {
		return
	}
	return o.o.ConsumeAuthRequest(ctx, id, at)
}

// RevokeAuthRequests implements store.Ops.
func (o ops) RevokeAuthRequests(ctx context.Context, grantIDs []string, at time.Time) (_ int64, err error) {
	if err = o.f.step(ctx, "RevokeAuthRequests"); err != nil {
		return
	}
	return o.o.RevokeAuthRequests(ctx, grantIDs, at)
}

// CreateAuthCode implements store.Ops.
func (o ops) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	if err := o.f.step(ctx, "CreateAuthCode"); err != nil {
		return err
	}
	return o.o.CreateAuthCode(ctx, c)
}

// GetAuthCode implements store.Ops.
func (o ops) GetAuthCode(ctx context.Context, hash []byte) (_ store.AuthCode, err error) {
	if err = o.f.step(ctx, "GetAuthCode"); err != nil {
		return
	}
	return o.o.GetAuthCode(ctx, hash)
}

// RedeemAuthCode implements store.Ops.
func (o ops) RedeemAuthCode(ctx context.Context, id string, at time.Time) (_ bool, err error) {
	if err = o.f.step(ctx, "RedeemAuthCode"); err != nil {
		return
	}
	return o.o.RedeemAuthCode(ctx, id, at)
}

// RevokeAuthCodes implements store.Ops.
func (o ops) RevokeAuthCodes(ctx context.Context, grantIDs []string, at time.Time) (_ int64, err error) {
	if err = o.f.step(ctx, "RevokeAuthCodes"); err != nil {
		return
	}
	return o.o.RevokeAuthCodes(ctx, grantIDs, at)
}

// MarkAuthCodeReuseReported implements store.Ops.
func (o ops) MarkAuthCodeReuseReported(ctx context.Context, id string, at time.Time) (_ bool, err error) {
	if err = o.f.step(ctx, "MarkAuthCodeReuseReported"); err != nil {
		return
	}
	return o.o.MarkAuthCodeReuseReported(ctx, id, at)
}

// CreateRefreshToken implements store.Ops.
func (o ops) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if err := o.f.step(ctx, "CreateRefreshToken"); err != nil {
		return err
	}
	return o.o.CreateRefreshToken(ctx, t)
}

// GetRefreshToken implements store.Ops.
func (o ops) GetRefreshToken(ctx context.Context, hash []byte) (_ store.RefreshToken, err error) {
	if err = o.f.step(ctx, "GetRefreshToken"); err != nil {
		return
	}
	return o.o.GetRefreshToken(ctx, hash)
}

// GetRefreshFamilyHead implements store.Ops.
func (o ops) GetRefreshFamilyHead(ctx context.Context, familyID string) (_ store.RefreshToken, err error) {
	if err = o.f.step(ctx, "GetRefreshFamilyHead"); err != nil {
		return
	}
	return o.o.GetRefreshFamilyHead(ctx, familyID)
}

// RotateRefreshToken implements store.Ops.
func (o ops) RotateRefreshToken(ctx context.Context, oldID, reason string, next store.RefreshToken) (_ bool, err error) {
	if err = o.f.step(ctx, "RotateRefreshToken"); err != nil {
		return
	}
	return o.o.RotateRefreshToken(ctx, oldID, reason, next)
}

// RevokeRefreshFamily implements store.Ops.
func (o ops) RevokeRefreshFamily(ctx context.Context, familyID, reason string, at time.Time) (_ int64, err error) {
	if err = o.f.step(ctx, "RevokeRefreshFamily"); err != nil {
		return
	}
	return o.o.RevokeRefreshFamily(ctx, familyID, reason, at)
}

// RevokeRefreshTokens implements store.Ops.
func (o ops) RevokeRefreshTokens(ctx context.Context, grantIDs []string, reason string, at time.Time) (_ int64, err error) {
	if err = o.f.step(ctx, "RevokeRefreshTokens"); err != nil {
		return
	}
	return o.o.RevokeRefreshTokens(ctx, grantIDs, reason, at)
}

// MarkRefreshTokenReuseReported implements store.Ops.
func (o ops) MarkRefreshTokenReuseReported(ctx context.Context, id string, at time.Time) (_ bool, err error) {
	if err = o.f.step(ctx, "MarkRefreshTokenReuseReported"); err != nil {
		return
	}
	return o.o.MarkRefreshTokenReuseReported(ctx, id, at)
}

// AppendAuditEvents implements store.Ops.
func (o ops) AppendAuditEvents(ctx context.Context, events []store.AuditEvent) error {
	if err := o.f.step(ctx, "AppendAuditEvents"); err != nil {
		return err
	}
	return o.o.AppendAuditEvents(ctx, events)
}

// ListAuditEvents implements store.Ops.
func (o ops) ListAuditEvents(ctx context.Context, f store.AuditFilter, p store.Page) (_ store.AuditPage, err error) {
	if err = o.f.step(ctx, "ListAuditEvents"); err != nil {
		return
	}
	return o.o.ListAuditEvents(ctx, f, p)
}

// DeleteExpiredAuthRequests implements store.Ops.
func (o ops) DeleteExpiredAuthRequests(ctx context.Context, before time.Time, limit int) (_ int64, err error) {
	if err = o.f.step(ctx, "DeleteExpiredAuthRequests"); err != nil {
		return
	}
	return o.o.DeleteExpiredAuthRequests(ctx, before, limit)
}

// DeleteAbandonedGrants implements store.Ops.
func (o ops) DeleteAbandonedGrants(ctx context.Context, before time.Time, limit int) (_ int64, err error) {
	if err = o.f.step(ctx, "DeleteAbandonedGrants"); err != nil {
		return
	}
	return o.o.DeleteAbandonedGrants(ctx, before, limit)
}

// DeleteExpiredAuthCodes implements store.Ops.
func (o ops) DeleteExpiredAuthCodes(ctx context.Context, before time.Time, limit int) (_ int64, err error) {
	if err = o.f.step(ctx, "DeleteExpiredAuthCodes"); err != nil {
		return
	}
	return o.o.DeleteExpiredAuthCodes(ctx, before, limit)
}

// DeleteRefreshTokens implements store.Ops.
func (o ops) DeleteRefreshTokens(ctx context.Context, revokedBefore, expiredBefore time.Time, limit int) (_ int64, err error) {
	if err = o.f.step(ctx, "DeleteRefreshTokens"); err != nil {
		return
	}
	return o.o.DeleteRefreshTokens(ctx, revokedBefore, expiredBefore, limit)
}

// DeleteRevokedGrants implements store.Ops.
func (o ops) DeleteRevokedGrants(ctx context.Context, before time.Time, limit int) (_ int64, err error) {
	if err = o.f.step(ctx, "DeleteRevokedGrants"); err != nil {
		return
	}
	return o.o.DeleteRevokedGrants(ctx, before, limit)
}

// DeleteOrphanClients implements store.Ops.
func (o ops) DeleteOrphanClients(ctx context.Context, registeredBefore time.Time, limit int) (_ int64, err error) {
	if err = o.f.step(ctx, "DeleteOrphanClients"); err != nil {
		return
	}
	return o.o.DeleteOrphanClients(ctx, registeredBefore, limit)
}

// DeleteAuditEvents implements store.Ops.
func (o ops) DeleteAuditEvents(ctx context.Context, before time.Time, limit int) (_ int64, err error) {
	if err = o.f.step(ctx, "DeleteAuditEvents"); err != nil {
		return
	}
	return o.o.DeleteAuditEvents(ctx, before, limit)
}
