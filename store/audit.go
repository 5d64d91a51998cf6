package store

import (
	"encoding/json"
	"time"
)

// AuditEvent records one change to the grant lifecycle. It is
// written in the same transaction as the change it records and never carries
// token, code, secret, state or PKCE material.
type AuditEvent struct {
	ID         string // UUIDv7
	GrantID    string // "" when the event concerns no grant
	ClientID   string
	Subject    string
	Type       string
	Reason     string
	Actor      string
	OccurredAt time.Time
	Details    json.RawMessage // nil means none
}

// AuditFilter selects the events of one grant or of one subject. Exactly one
// field must be set.
type AuditFilter struct {
	GrantID string
	Subject string
}
