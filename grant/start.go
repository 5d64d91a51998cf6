package grant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/grantkit/grantkit/store"
)

// Authorization is a started authorization: the pending (or reused active)
// grant and the authorization request the host approves or denies.
type Authorization struct {
	Grant   store.Grant
	Request store.AuthRequest
	// Reused is true when an active grant with identical scopes, context
	// and config_version already existed on the binding.
	Reused bool
}

// Start begins an authorization (RFC 6749 §4.1.1): it checks the request
// against the client's registration, then either reuses the active grant
// on the binding (when its scopes, context and config_version are
// identical) or creates a pending grant, and records the authorization
// request, in one transaction. Errors: ErrInvalidClient (unknown or
// deleted client), ErrUnauthorizedClient, ErrInvalidRedirectURI,
// ErrInvalidScope, ErrInvalidRequest; any other error is a store failure.
func (m *Manager) Start(ctx context.Context, req AuthorizationRequest) (Authorization, error) {
	req, err := prepare(req)
	if err != nil {
		return Authorization{}, err
	}
	// A cheap refusal first, without a write transaction: invalid requests
	// come from anyone on the internet. The check is repeated under the
	// client's lock inside the transaction.
	if _, err := checkAgainst(ctx, m.store.GetClient, req); err != nil {
		return Authorization{}, err
	}
	var a Authorization
	err = m.inTx(ctx, func(tx store.Tx) error {
		var err error
		a, err = m.start(ctx, tx, req)
		return err
	})
	if err != nil {
		return Authorization{}, err
	}
	return a, nil
}

// StartTx is Start inside the caller's transaction tx.
func (m *Manager) StartTx(ctx context.Context, tx store.Tx, req AuthorizationRequest) (Authorization, error) {
	req, err := prepare(req)
	if err != nil {
		return Authorization{}, err
	}
	return m.start(ctx, tx, req)
}

// start runs Start's transaction on tx for a prepared request.
func (m *Manager) start(ctx context.Context, tx store.Tx, req AuthorizationRequest) (Authorization, error) {
	var a Authorization
	err := func() error {
		// The registration is read under a shared lock held to the end:
		// UpdateClient and DeleteClient wait for this transaction, and
		// then revoke what it created if their change is material, so no
		// grant outlives a change its request was not checked against.
		c, err := checkAgainst(ctx, tx.GetClientForShare, req)
		if err != nil {
			return err
		}
		// The grant is bound to the registered redirect URI the request
		// matched: a loopback client back on another port is the same
		// binding. The request keeps the URI it used.
		bound, _ := registeredRedirect(c.RedirectURIs, req.RedirectURI)
		now := m.clock()
		b := store.Binding{ClientID: req.ClientID, Subject: req.Subject, SubjectKind: req.SubjectKind,
			Tenant: req.Tenant, Resource: req.Resource, RedirectURI: bound}
		active, err := tx.FindActiveGrant(ctx, b)
		if err == nil && reusable(active, req) {
			// Lock the grant to reuse it, so that a revocation either
			// commits first (and the grant is not reused) or waits for
			// this request and revokes it with the grant.
			active, err = tx.GetGrantForUpdate(ctx, active.ID)
		}
		switch {
		case err == nil && active.Status == store.GrantActive && reusable(active, req):
			a.Grant, a.Reused = active, true
		case err == nil || errors.Is(err, store.ErrNotFound):
			a.Grant = store.Grant{ID: newID(), ClientID: req.ClientID, Subject: req.Subject,
				SubjectKind: req.SubjectKind, Tenant: req.Tenant, Resource: req.Resource,
				RedirectURI: bound, Scopes: req.Scopes, Context: req.Context,
				ConfigVersion: req.ConfigVersion, Status: store.GrantPending, CreatedAt: now}
			if err := tx.CreateGrant(ctx, a.Grant); err != nil {
				return fmt.Errorf("grant: creating grant: %w", err)
			}
			if err := tx.AppendAuditEvents(ctx, []store.AuditEvent{
				auditEvent(EventGrantCreated, a.Grant, "", req.Subject, now, nil)}); err != nil {
				return fmt.Errorf("grant: writing audit event: %w", err)
			}
		default:
			return fmt.Errorf("grant: finding active grant: %w", err)
		}
		a.Request = store.AuthRequest{ID: newID(), GrantID: a.Grant.ID, ClientID: req.ClientID,
			RedirectURI: req.RedirectURI, Scopes: req.Scopes, State: req.State, CodeChallenge: req.CodeChallenge,
			CodeChallengeMethod: CodeChallengeS256, Resource: req.Resource, CreatedAt: now,
			ExpiresAt: now.Add(m.reqTTL)}
		if err := tx.CreateAuthRequest(ctx, a.Request); err != nil {
			return fmt.Errorf("grant: recording authorization request: %w", err)
		}
		return nil
	}()
	if err != nil {
		return Authorization{}, err
	}
	return a, nil
}

// reusable reports whether active may serve req unchanged: same scopes, context, config_version and subject kind.
func reusable(active store.Grant, req AuthorizationRequest) bool {
	return sameSet(active.Scopes, req.Scopes) && sameJSON(active.Context, req.Context) &&
		active.ConfigVersion == req.ConfigVersion && active.SubjectKind == req.SubjectKind
}

// sameJSON reports whether a and b hold the same JSON value whatever their
// formatting: PostgreSQL's jsonb hands a stored document back re-serialised
// (spaces added, keys reordered), so bytes cannot be compared.
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
