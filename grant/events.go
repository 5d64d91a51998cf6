package grant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/grantkit/grantkit/store"
)

// Audit event types, written in the transaction of the change they record.
const (
	EventGrantCreated        = "grant.created"
	EventGrantActivated      = "grant.activated"
	EventGrantRevoked        = "grant.revoked"
	EventAuthorizationDenied = "authorization.denied"
	EventCodeReused          = "code.reused"
	EventRefreshReused       = "refresh.reused"
	EventFamilyRevoked       = "family.revoked"
	EventSessionRevoked      = "session.revoked"
	EventClientChanged       = "client.changed"
	EventClientDeleted       = "client.deleted"
)

// Observer-only event types: reported to the Observer, not audited.
const (
	// EventLivenessRefused: the host's liveness check refused a code
	// exchange or a refresh (the subject is deleted or disabled).
	EventLivenessRefused = "liveness.refused"
	// EventSweepCompleted: a sweep run deleted rows; Count is how many.
	EventSweepCompleted = "sweep.completed"
)

// Event is a security event handed to an Observer: reuse
// detections, denials and revocations with their reason and count. It
// never carries token, code, secret, state or PKCE material.
type Event struct {
	// Type is one of the Event… audit types.
	Type string
	// Reason is the revocation or refusal reason, if any.
	Reason string
	// Count is how many grants the event concerns (1 for single-grant
	// events).
	Count    int
	ClientID string
	Subject  string
	// GrantID is set when the event concerns one grant.
	GrantID string
}

// Observer receives security events after the transaction that caused them
// commits, so a host can alert and count with whatever it already uses.
// Observe must not block for long; it is called on the request's goroutine.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, e Event)

// Observe calls f.
func (f ObserverFunc) Observe(ctx context.Context, e Event) { f(ctx, e) }

// notify logs e and hands it to the observer.
func (m *Manager) notify(ctx context.Context, e Event) {
	m.log.LogAttrs(ctx, slog.LevelInfo, "grantkit: "+e.Type, slog.String("reason", e.Reason),
		slog.Int("count", e.Count), slog.String("client_id", e.ClientID), slog.String("grant_id", e.GrantID))
	if m.observer != nil {
		m.observer.Observe(ctx, e)
	}
}

// report hands e to the observer once tx has committed.
func (m *Manager) report(tx store.Tx, e Event) {
	tx.AfterCommit(func(ctx context.Context) { m.notify(ctx, e) })
}

// RecordTx writes e as an audit event in tx — with actor, the manager's
// current time and details, which must hold no token, code, secret, state
// or PKCE material — and reports e to the observer once tx has committed.
// The token server records code.reused, refresh.reused and
// liveness.refused this way; a host can record its own security events in
// the same trail.
func (m *Manager) RecordTx(ctx context.Context, tx store.Tx, e Event, actor string, details json.RawMessage) error {
	if e.Type == "" {
		return errors.New("grant: an event needs a type")
	}
	if e.Count == 0 {
		e.Count = 1
	}
	g := store.Grant{ID: e.GrantID, ClientID: e.ClientID, Subject: e.Subject}
	if err := tx.AppendAuditEvents(ctx, []store.AuditEvent{
		auditEvent(e.Type, g, e.Reason, actor, m.clock(), details)}); err != nil {
		return fmt.Errorf("grant: writing audit event: %w", err)
	}
	m.report(tx, e)
	return nil
}

// auditEvent builds an audit record about grant g (the zero Grant for
// events that concern no grant). details must hold no secret material.
func auditEvent(typ string, g store.Grant, reason, actor string, at time.Time, details json.RawMessage) store.AuditEvent {
	return store.AuditEvent{ID: newID(), GrantID: g.ID, ClientID: g.ClientID, Subject: g.Subject, Type: typ,
		Reason: reason, Actor: actor, OccurredAt: at, Details: details}
}
