package grant

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/grantkit/grantkit/store"
)

// Audit event types (SPEC §2.6).
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

// Event is a security event handed to an Observer (SPEC §10): reuse
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

// events collects what a transaction will report once it commits.
type events []Event

func (ev *events) add(e Event) { *ev = append(*ev, e) }

// notify logs the events of a committed transaction and hands them to the
// observer.
func (m *Manager) notify(ctx context.Context, ev events) {
	for _, e := range ev {
		m.log.LogAttrs(ctx, slog.LevelInfo, "grantkit: "+e.Type, slog.String("reason", e.Reason),
			slog.Int("count", e.Count), slog.String("client_id", e.ClientID), slog.String("grant_id", e.GrantID))
		if m.observer != nil {
			m.observer.Observe(ctx, e)
		}
	}
}

// NewAuditEvent builds an audit record (SPEC §2.6) about grant g (the zero
// Grant for events that concern no grant), for packages that write their
// own events in a lifecycle transaction. details must hold no token, code,
// secret, state or PKCE material.
func NewAuditEvent(typ string, g store.Grant, reason, actor string, at time.Time, details json.RawMessage) store.AuditEvent {
	return auditEvent(typ, g, reason, actor, at, details)
}

// Report logs e and hands it to the observer. Call it only after the
// transaction that caused e committed.
func (m *Manager) Report(ctx context.Context, e Event) { m.notify(ctx, events{e}) }

// auditEvent builds an audit record about grant g (the zero Grant for
// events that concern no grant). details must hold no secret material.
func auditEvent(typ string, g store.Grant, reason, actor string, at time.Time, details json.RawMessage) store.AuditEvent {
	return store.AuditEvent{ID: newID(), GrantID: g.ID, ClientID: g.ClientID, Subject: g.Subject, Type: typ,
		Reason: reason, Actor: actor, OccurredAt: at, Details: details}
}
