package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/grantkit/grantkit/internal/sqlstore"
	"github.com/grantkit/grantkit/store"
)

// db is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type db interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// querier adapts database/sql to sqlstore.Querier: it counts statements and
// translates driver errors at the adapter's edge. With stmts set, it runs
// cached prepared statements on the store's own database or transactions.
type querier struct {
	db      db
	stmts   *stmts
	counter *store.Counter
	closed  *atomic.Bool // the Store's: set by Close
}

func (s *Store) querier(d db) *querier { return &querier{db: d, counter: s.counter, closed: &s.closed} }

// cachedQuerier is a querier over the store's own *sql.DB or a transaction
// begun on it (a host's transaction may come from another *sql.DB, where
// the cached statements cannot run).
func (s *Store) cachedQuerier(d db) *querier {
	return &querier{db: d, stmts: s.stmts, counter: s.counter, closed: &s.closed}
}

// stmt returns the cached statement for query bound to q's database or
// transaction, or nil to run query directly.
func (q *querier) stmt(ctx context.Context, query string) *sql.Stmt {
	if q.stmts == nil {
		return nil
	}
	st := q.stmts.get(query)
	if st == nil {
		return nil
	}
	if tx, ok := q.db.(*sql.Tx); ok {
		return tx.StmtContext(ctx, st) // closed when the transaction ends
	}
	return st
}

func (q *querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if q.closed.Load() {
		return 0, errClosed
	}
	q.counter.Add(1)
	var (
		res sql.Result
		err error
	)
	if st := q.stmt(ctx, query); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = q.db.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, translate(err)
	}
	n, err := res.RowsAffected()
	return n, translate(err)
}

func (q *querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	if q.closed.Load() {
		return nil, errClosed
	}
	q.counter.Add(1)
	var (
		rows *sql.Rows
		err  error
	)
	if st := q.stmt(ctx, query); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = q.db.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, translate(err)
	}
	return sqlRows{rows}, nil
}

func (q *querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	if q.closed.Load() {
		return sqlstore.ErrRow{Err: errClosed}
	}
	q.counter.Add(1)
	if st := q.stmt(ctx, query); st != nil {
		return sqlRow{st.QueryRowContext(ctx, args...)}
	}
	return sqlRow{q.db.QueryRowContext(ctx, query, args...)}
}

type sqlRows struct{ rows *sql.Rows }

func (r sqlRows) Next() bool             { return r.rows.Next() }
func (r sqlRows) Scan(dest ...any) error { return translate(r.rows.Scan(dest...)) }
func (r sqlRows) Err() error             { return translate(r.rows.Err()) }
func (r sqlRows) Close()                 { _ = r.rows.Close() }

type sqlRow struct{ row *sql.Row }

func (r sqlRow) Scan(dest ...any) error { return translate(r.row.Scan(dest...)) }

// jsonSet encodes an id set for json_each.
func jsonSet(ids []string) any {
	b, _ := json.Marshal(ids) // a []string always marshals
	return string(b)
}

// translate maps driver errors to store sentinels.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", store.ErrConflict, se.Error())
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: referenced row missing", store.ErrNotFound)
		}
	}
	return fmt.Errorf("sqlite: %w", err)
}
