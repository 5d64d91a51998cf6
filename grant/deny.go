package grant

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grantkit/grantkit/store"
)

// Deny records that the user or the host refused authorization request id
// (RFC 6749 §4.1.2.1 access_denied): it closes the request so it can no
// longer be approved and writes an authorization.denied audit event with
// reason (trimmed to a short printable string). It creates no other state:
// the pending grant is left for the sweep. Errors as for Approve.
func (m *Manager) Deny(ctx context.Context, id, reason, actor string) error {
	return m.inTx(ctx, func(tx store.Tx) error { return m.DenyTx(ctx, tx, id, reason, actor) })
}

// DenyTx is Deny inside the caller's transaction tx; the event is
// reported after its commit, as for RevokeTx.
func (m *Manager) DenyTx(ctx context.Context, tx store.Tx, id, reason, actor string) error {
	now := m.clock()
	req, err := m.openRequest(ctx, tx, id, now)
	if err != nil {
		return err
	}
	g, err := tx.GetGrant(ctx, req.GrantID)
	if err != nil {
		return fmt.Errorf("grant: reading grant: %w", err)
	}
	reason = sanitize(reason)
	details, err := json.Marshal(struct {
		Resource string   `json:"resource,omitempty"`
		Scopes   []string `json:"scopes,omitempty"`
	}{req.Resource, req.Scopes})
	if err != nil {
		return err
	}
	if err := tx.AppendAuditEvents(ctx, []store.AuditEvent{
		auditEvent(EventAuthorizationDenied, g, reason, actor, now, details)}); err != nil {
		return fmt.Errorf("grant: writing audit event: %w", err)
	}
	m.report(tx, Event{Type: EventAuthorizationDenied, Reason: reason, Count: 1, ClientID: g.ClientID,
		Subject: g.Subject, GrantID: g.ID})
	return nil
}

// sanitize keeps a host-supplied reason short and printable, so it cannot
// smuggle request material or control characters into the audit trail.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "")
	}
	return s
}
