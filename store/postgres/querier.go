package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/grantkit/grantkit/internal/sqlstore"
	"github.com/grantkit/grantkit/store"
)

// db is what a pool, a connection and a transaction have in common.
type db interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// querier adapts pgx to sqlstore.Querier: it counts statements and
// translates driver errors at the adapter's edge.
type querier struct {
	db      db
	counter *store.Counter
	closed  *atomic.Bool // the Store's: set by Close
}

func (s *Store) querier(d db) *querier { return &querier{db: d, counter: s.counter, closed: &s.closed} }

func (q *querier) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if q.closed.Load() {
		return 0, errClosed
	}
	q.counter.Add(1)
	tag, err := q.db.Exec(ctx, sql, args...)
	if err != nil {
		return 0, translate(err)
	}
	return tag.RowsAffected(), nil
}

func (q *querier) Query(ctx context.Context, sql string, args ...any) (sqlstore.Rows, error) {
	if q.closed.Load() {
		return nil, errClosed
	}
	q.counter.Add(1)
	rows, err := q.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, translate(err)
	}
	return pgRows{rows}, nil
}

func (q *querier) QueryRow(ctx context.Context, sql string, args ...any) sqlstore.Row {
	if q.closed.Load() {
		return sqlstore.ErrRow{Err: errClosed}
	}
	q.counter.Add(1)
	return pgRow{q.db.QueryRow(ctx, sql, args...)}
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Scan(dest ...any) error { return translate(r.Rows.Scan(dest...)) }
func (r pgRows) Err() error             { return translate(r.Rows.Err()) }

type pgRow struct{ row pgx.Row }

func (r pgRow) Scan(dest ...any) error { return translate(r.row.Scan(dest...)) }

// translate maps pgx errors to store sentinels, keeping the original error
// in the chain. Messages carry no parameter values.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%w: referenced row missing: %w", store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("postgres: %w", err)
}
