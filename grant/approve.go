package grant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/store"
)

// Approval is the outcome of approving an authorization: the code to send
// to the client's redirect URI with the request's state (RFC 6749 §4.1.2).
type Approval struct {
	Code        string
	RedirectURI string
	State       string
	Grant       store.Grant
}

// ApproveFunc is host work that must commit together with an approval,
// such as finishing an upstream provider step. It runs in the approval's
// transaction after the grant is active and the code exists; an error
// rolls everything back (no active grant, no code).
type ApproveFunc func(ctx context.Context, tx store.Tx, g store.Grant) error

// Approve completes the authorization request id after the host's login
// and consent (RFC 6749 §4.1.2): in one transaction it locks the request's
// grant, closes the request, activates the grant if pending — under the
// binding's lock, revoking through the cascade any other active grant on
// the same binding, reason ReasonSuperseded — issues the single-use
// authorization code (stored as a hash), and runs fn if not nil. Errors:
// store.ErrNotFound (unknown request), ErrRequestExpired, ErrRequestClosed
// (already approved or denied), ErrInvalidTransition (the grant was
// revoked meanwhile, the request with it), fn's error; any
// other error is a store failure. On error nothing changed.
func (m *Manager) Approve(ctx context.Context, id string, fn ApproveFunc) (Approval, error) {
	var a Approval
	err := m.inTx(ctx, func(tx store.Tx) error {
		var err error
		a, err = m.ApproveTx(ctx, tx, id, fn)
		return err
	})
	if err != nil {
		return Approval{}, err
	}
	return a, nil
}

// ApproveTx is Approve inside the caller's transaction tx (fn, if not nil,
// runs on the same tx); events are reported after its commit, as for
// RevokeTx. The code it returns must not be sent before tx commits.
func (m *Manager) ApproveTx(ctx context.Context, tx store.Tx, id string, fn ApproveFunc) (Approval, error) {
	now := m.clock()
	req, err := tx.GetAuthRequest(ctx, id)
	if err != nil {
		return Approval{}, fmt.Errorf("grant: reading authorization request: %w", err)
	}
	g, prev, err := lockForApproval(ctx, tx, req.GrantID)
	if err != nil {
		return Approval{}, err
	}
	if err := closeRequest(ctx, tx, req, now); err != nil {
		return Approval{}, err
	}
	if g.Status == store.GrantPending {
		if err := m.activate(ctx, tx, &g, prev, now); err != nil {
			return Approval{}, err
		}
	} else if g.Status != store.GrantActive {
		return Approval{}, Transition(g.Status, store.GrantActive)
	}
	code, hash := secret.New(secret.CodePrefix)
	if err := tx.CreateAuthCode(ctx, store.AuthCode{ID: newID(), Hash: hash, GrantID: g.ID, ClientID: req.ClientID,
		RedirectURI: req.RedirectURI, Scopes: req.Scopes, CodeChallenge: req.CodeChallenge,
		CodeChallengeMethod: req.CodeChallengeMethod, CreatedAt: now, ExpiresAt: now.Add(m.codeTTL)}); err != nil {
		return Approval{}, fmt.Errorf("grant: issuing code: %w", err)
	}
	if fn != nil {
		if err := fn(ctx, tx, g); err != nil {
			return Approval{}, err
		}
	}
	return Approval{Code: code, RedirectURI: req.RedirectURI, State: req.State, Grant: g}, nil
}

// lockForApproval locks the grant id an approval closes a request of and,
// when that grant is pending, the binding and the grant active on it (which
// activation supersedes), returned as prev ("" ID when there is none).
// Locks are taken before any row is changed, binding first and then grant
// rows in id order — the order RevokeGrants locks a set in — so an approval
// racing a revocation of several grants queues instead of deadlocking; the
// cascade locks grants before their requests, codes and tokens, and so does
// the approval.
func lockForApproval(ctx context.Context, tx store.Tx, id string) (g, prev store.Grant, err error) {
	g, err = tx.GetGrant(ctx, id) // unlocked: a grant's binding never changes
	if err != nil {
		return g, prev, fmt.Errorf("grant: reading grant: %w", err)
	}
	ids := []string{g.ID}
	if g.Status == store.GrantPending {
		if err := tx.LockBinding(ctx, g.Binding()); err != nil {
			return g, prev, fmt.Errorf("grant: locking binding: %w", err)
		}
		prev, err = tx.FindActiveGrant(ctx, g.Binding())
		switch {
		case err == nil:
			ids = append(ids, prev.ID)
			slices.Sort(ids)
		case !errors.Is(err, store.ErrNotFound):
			return g, prev, fmt.Errorf("grant: finding active grant: %w", err)
		}
	}
	for _, lid := range ids {
		locked, err := tx.GetGrantForUpdate(ctx, lid)
		if err != nil {
			return g, prev, fmt.Errorf("grant: locking grant: %w", err)
		}
		if lid == g.ID {
			g = locked
		}
	}
	return g, prev, nil
}

// activate moves the locked pending grant g to active, superseding prev,
// the grant active on its binding when the binding was locked, if any.
func (m *Manager) activate(ctx context.Context, tx store.Tx, g *store.Grant, prev store.Grant, now time.Time) error {
	if prev.ID != "" {
		if _, err := m.cascade(ctx, tx, []string{prev.ID}, ReasonSuperseded, g.Subject); err != nil {
			return err
		}
	}
	ok, err := tx.ActivateGrant(ctx, g.ID, now)
	if err != nil {
		return fmt.Errorf("grant: activating grant: %w", err)
	}
	if !ok { // unreachable while the row is locked; fail closed all the same
		return Transition(g.Status, store.GrantActive)
	}
	g.Status, g.ActivatedAt = store.GrantActive, now
	if err := tx.AppendAuditEvents(ctx, []store.AuditEvent{
		auditEvent(EventGrantActivated, *g, "", g.Subject, now, nil)}); err != nil {
		return fmt.Errorf("grant: writing audit event: %w", err)
	}
	return nil
}

// openRequest reads request id and closes it, so it can be approved or
// denied once.
func (m *Manager) openRequest(ctx context.Context, tx store.Tx, id string, now time.Time) (store.AuthRequest, error) {
	req, err := tx.GetAuthRequest(ctx, id)
	if err != nil {
		return store.AuthRequest{}, fmt.Errorf("grant: reading authorization request: %w", err)
	}
	if err := closeRequest(ctx, tx, req, now); err != nil {
		return store.AuthRequest{}, err
	}
	return req, nil
}

// closeRequest closes an unexpired, open request (compare-and-set). A
// request already decided is ErrRequestClosed; one the cascade closed
// with its grant — revoked while the user was deciding — is
// ErrInvalidTransition, the grant's revocation, which the client is told
// (access_denied) rather than the user shown a closed request.
func closeRequest(ctx context.Context, tx store.Tx, req store.AuthRequest, now time.Time) error {
	if !now.Before(req.ExpiresAt) {
		return ErrRequestExpired
	}
	ok, err := tx.ConsumeAuthRequest(ctx, req.ID, now)
	if err != nil {
		return fmt.Errorf("grant: closing authorization request: %w", err)
	}
	if ok {
		return nil
	}
	cur, err := tx.GetAuthRequest(ctx, req.ID)
	if err != nil {
		return fmt.Errorf("grant: reading authorization request: %w", err)
	}
	if cur.ConsumedAt.IsZero() && !cur.RevokedAt.IsZero() {
		return fmt.Errorf("%w: the grant was revoked while the request was being decided", ErrInvalidTransition)
	}
	return ErrRequestClosed
}
