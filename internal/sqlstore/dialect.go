package sqlstore

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/grantkit/grantkit/store"
)

// Querier is the part of a driver connection, pool or transaction the
// operations need. Adapters implement it over pgx and database/sql and
// translate driver errors into store sentinels (no rows → store.ErrNotFound,
// unique violation → store.ErrConflict) before returning them.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows iterates a result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result; Scan returns store.ErrNotFound for no row.
type Row interface {
	Scan(dest ...any) error
}

// ErrRow is a Row whose Scan fails with Err, for a querier that refuses a
// query before sending it (a closed store).
type ErrRow struct{ Err error }

// Scan returns r.Err.
func (r ErrRow) Scan(...any) error { return r.Err }

// Dialect describes one database's SQL differences.
type Dialect struct {
	// Prefix is prepended to every table name: `"grantkit".` on
	// PostgreSQL, `grantkit_` on SQLite.
	Prefix string
	// QuestionPlaceholders rewrites $N placeholders to ?N (SQLite).
	QuestionPlaceholders bool
	// InSet renders "column is in the id set bound at param", e.g.
	// "= ANY($1)" or "IN (SELECT value FROM json_each($1))".
	InSet func(param string) string
	// Set encodes an id set as the parameter InSet expects.
	Set func(ids []string) any
	// Time encodes a non-zero time as a parameter (already UTC and truncated
	// to microseconds).
	Time func(t time.Time) any
	// LockKey takes a transaction-scoped lock on the int64 key bound at
	// $1 ("" where write transactions are already exclusive).
	LockKey string
	// ForUpdate is appended to row-locking reads (" FOR UPDATE" or "").
	ForUpdate string
	// SkipLocked is appended to a sweep's choice of rows that others may
	// be locking (" FOR UPDATE SKIP LOCKED" or "").
	SkipLocked string
	// ForShare is appended to reads that take a shared row lock
	// (" FOR SHARE" or "").
	ForShare string
	// AuditRows renders the FROM source that expands the JSON array bound at
	// $1 into audit event rows with columns in auditCols order.
	AuditRows string
	// SingleStatementRotate, when true, rotates a refresh token with one
	// data-modifying CTE instead of UPDATE + INSERT in a transaction.
	SingleStatementRotate bool
	// RowRef names a row's physical address ("ctid", "rowid"). The sweep
	// picks a batch by address and deletes it by address, which reaches
	// each row without a primary-key probe.
	RowRef string
	// RowRefIn renders "the row address is among those sub returns"; on
	// PostgreSQL "= ANY(ARRAY(sub))", which plans as a TID scan.
	RowRefIn func(sub string) string
	// SerializeWrites makes every write outside a transaction run in one, so
	// the adapter can serialise writers (SQLite).
	SerializeWrites bool

	rendered sync.Map // query template → rendered SQL
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

// SQL renders a query written with {t} table prefixes and $N placeholders.
// Renderings are cached: the set of templates is fixed by the code.
func (d *Dialect) SQL(q string) string {
	if r, ok := d.rendered.Load(q); ok {
		return r.(string)
	}
	r := strings.ReplaceAll(q, "{t}", d.Prefix)
	if d.QuestionPlaceholders {
		r = placeholder.ReplaceAllString(r, "?$1")
	}
	d.rendered.Store(q, r)
	return r
}

func (d *Dialect) time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.Time(t.UTC().Truncate(time.Microsecond))
}

func (d *Dialect) set(ids []string) any { return d.Set(validIDs(ids)) }

// validIDs drops strings that are not UUIDs, which cannot name a row (and
// which PostgreSQL would refuse instead of matching nothing), and
// canonicalises the others.
func validIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if canon(&id) {
			out = append(out, id)
		}
	}
	return out
}

// canon checks that every *id is a UUID and rewrites it in canonical lower
// case, the form PostgreSQL's uuid type returns, so ids match alike on both
// databases whatever case a caller used. It reports false if one is not a
// UUID.
func canon(ids ...*string) bool {
	for _, id := range ids {
		if !isUUID(*id) {
			return false
		}
		*id = strings.ToLower(*id)
	}
	return true
}

// isUUID reports whether s is a UUID in its canonical 36-character form,
// the only form ids are stored in.
func isUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }

func list(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v) // a []string always marshals
	return string(b)
}

func rawJSON(v json.RawMessage) any {
	if len(v) == 0 {
		return nil
	}
	return string(v)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// checkLimit refuses batch and page sizes the operations cannot honour.
func checkLimit(limit int) error {
	if limit <= 0 {
		return &limitError{limit}
	}
	return nil
}

type limitError struct{ n int }

func (e *limitError) Error() string { return "store: invalid argument: limit must be positive" }
func (e *limitError) Unwrap() error { return store.ErrInvalidArgument }
