package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/grantkit/grantkit/store"
)

// auditCols is the column order of audit_events and of Dialect.AuditRows.
const auditCols = `id, grant_id, client_id, subject, type, reason, actor, occurred_at, details`

func scanAudit(r Row) (store.AuditEvent, error) {
	var e store.AuditEvent
	err := r.Scan(textCol{&e.ID}, textCol{&e.GrantID}, &e.ClientID, &e.Subject, &e.Type, &e.Reason, &e.Actor,
		timeCol{&e.OccurredAt}, jsonCol{&e.Details})
	return e, err
}

// auditRow is the JSON shape Dialect.AuditRows expands.
type auditRow struct {
	ID         string          `json:"id"`
	GrantID    *string         `json:"grant_id"`
	ClientID   string          `json:"client_id"`
	Subject    string          `json:"subject"`
	Type       string          `json:"type"`
	Reason     string          `json:"reason"`
	Actor      string          `json:"actor"`
	OccurredAt any             `json:"occurred_at"`
	Details    json.RawMessage `json:"details,omitempty"`
}

// AppendAuditEvents implements store.Ops: all events in one statement.
func (o *Ops) AppendAuditEvents(ctx context.Context, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]auditRow, len(events))
	for i, e := range events {
		if !canon(&e.ID) || (e.GrantID != "" && !canon(&e.GrantID)) || e.Type == "" || e.OccurredAt.IsZero() {
			return fmt.Errorf("%w: an audit event needs UUID ids, a type and a time", store.ErrInvalidArgument)
		}
		if len(e.Details) > 0 && !json.Valid(e.Details) {
			return fmt.Errorf("%w: audit details are not valid JSON", store.ErrInvalidArgument)
		}
		details := e.Details
		if string(bytes.TrimSpace(details)) == "null" {
			// JSON null is no details: stored as SQL NULL and read back as
			// nil on every adapter (PostgreSQL's jsonb_to_recordset already
			// maps it so; SQLite's json_each would keep the text "null").
			details = nil
		}
		rows[i] = auditRow{ID: e.ID, ClientID: e.ClientID, Subject: e.Subject, Type: e.Type, Reason: e.Reason,
			Actor: e.Actor, OccurredAt: o.now(e.OccurredAt), Details: details}
		if e.GrantID != "" {
			rows[i].GrantID = &e.GrantID
		}
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("sqlstore: encoding audit events: %w", err)
	}
	_, err = o.exec(ctx, o.d.SQL(`INSERT INTO {t}audit_events (`+auditCols+`) SELECT * FROM `+o.d.AuditRows), string(payload))
	return err
}

// ListAuditEvents implements store.Ops.
func (o *Ops) ListAuditEvents(ctx context.Context, f store.AuditFilter, p store.Page) (store.AuditPage, error) {
	p, err := p.Normalize()
	if err != nil {
		return store.AuditPage{}, err
	}
	var col, val, scope string
	switch {
	case f.GrantID != "" && f.Subject == "":
		col, val, scope = "grant_id", f.GrantID, "audit\x00grant\x00"+f.GrantID
		if !canon(&val) {
			return store.AuditPage{}, nil
		}
	case f.Subject != "" && f.GrantID == "":
		col, val, scope = "subject", f.Subject, "audit\x00subject\x00"+f.Subject
	default:
		return store.AuditPage{}, fmt.Errorf("%w: an audit filter needs exactly one of GrantID and Subject", store.ErrInvalidArgument)
	}
	q := `SELECT ` + auditCols + ` FROM {t}audit_events WHERE ` + col + ` = $1`
	args := []any{val}
	if p.Cursor != "" {
		c, err := store.DecodeCursor(scope, p.Cursor)
		if err != nil {
			return store.AuditPage{}, err
		}
		q += ` AND (occurred_at, id) < ($2, $3)`
		args = append(args, o.d.time(c.Time), c.ID)
	}
	q += ` ORDER BY occurred_at DESC, id DESC LIMIT $` + strconv.Itoa(len(args)+1)
	args = append(args, p.Limit+1)
	rows, err := o.q.Query(ctx, o.d.SQL(q), args...)
	if err != nil {
		return store.AuditPage{}, err
	}
	items, err := collect(rows, scanAudit)
	if err != nil {
		return store.AuditPage{}, err
	}
	page := store.AuditPage{Items: items}
	if len(items) > p.Limit {
		page.Items = items[:p.Limit]
		last := page.Items[p.Limit-1]
		page.Next, err = store.EncodeCursor(scope, store.Cursor{Time: last.OccurredAt, ID: last.ID})
	}
	return page, err
}
