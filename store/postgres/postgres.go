// Package postgres is the PostgreSQL adapter of grantkit's store contract,
// built on pgx/v5. It takes the host's *pgxpool.Pool, keeps its tables in
// their own schema (default "grantkit"), and can join a host's pgx.Tx so
// grantkit changes commit together with the host's own.
//
// Row locks use SELECT … FOR UPDATE, id sets travel as one array parameter
// (= ANY($1)), and leadership uses transaction-scoped advisory locks.
//
// Ownership: the host owns the pool. [New] borrows it, and [Store.Close]
// does not close it: Close only ends the Store's use of it (later calls on
// the Store fail with store.ErrClosed). Close the Store first, then, when
// nothing else uses it, the pool.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantkit/grantkit/internal/sqlstore"
	"github.com/grantkit/grantkit/store"
)

// DefaultSchema is the schema grantkit's tables live in unless configured.
const DefaultSchema = "grantkit"

// Config configures a Store. The zero value is usable.
type Config struct {
	// Schema holds grantkit's tables; Migrate creates it. It must be a plain
	// lower-case identifier. Default DefaultSchema.
	Schema string
	// Counter, when set, counts every statement the store sends, BEGIN and
	// COMMIT included (tests and benchmarks).
	Counter *store.Counter
}

// Store is grantkit's store on PostgreSQL. It implements [store.Store]:
// the operations of [store.Ops] (documented there), InTx, Migrate and
// Exclusive. Beyond the contract it has:
//
//   - [Store.WithTx], which joins a host's pgx.Tx, and [PgxTx], which
//     returns the pgx.Tx behind a store.Tx;
//   - [Store.Pool] and [Store.Schema], for hosts that keep their own tables
//     beside grantkit's;
//   - [Store.Close], which ends the Store's use of the pool without
//     closing it.
//
// It is safe for concurrent use.
type Store struct {
	*ops
	closed atomic.Bool

	pool    *pgxpool.Pool
	schema  string
	d       *sqlstore.Dialect
	counter *store.Counter
}

// ops is sqlstore.Ops under an unexported name: embedded as *ops, it
// gives Store the methods of store.Ops without putting an internal type in
// Store's documented surface.
type ops = sqlstore.Ops

var _ store.Store = (*Store)(nil)

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// New returns a Store over pool, which it borrows: the host keeps owning
// the pool and closes it, after closing the Store, when nothing else uses
// it. New does not touch the database; call Migrate before first use.
func New(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("postgres: nil pool")
	}
	if cfg.Schema == "" {
		cfg.Schema = DefaultSchema
	}
	if !identifier.MatchString(cfg.Schema) {
		return nil, fmt.Errorf("postgres: schema %q is not a plain lower-case identifier", cfg.Schema)
	}
	s := &Store{pool: pool, schema: cfg.Schema, counter: cfg.Counter, d: &sqlstore.Dialect{
		Prefix:                `"` + cfg.Schema + `".`,
		InSet:                 func(p string) string { return "= ANY(" + p + ")" },
		Set:                   func(ids []string) any { return ids },
		Time:                  func(t time.Time) any { return t },
		ForUpdate:             " FOR UPDATE",
		ForShare:              " FOR SHARE",
		SkipLocked:            " FOR UPDATE SKIP LOCKED",
		LockKey:               "SELECT pg_advisory_xact_lock($1)",
		SingleStatementRotate: true,
		RowRef:                "ctid",
		RowRefIn:              func(sub string) string { return "= ANY(ARRAY(" + sub + "))" },
		AuditRows: `jsonb_to_recordset($1::jsonb) AS x(id uuid, grant_id uuid, client_id text, subject text,
			type text, reason text, actor text, occurred_at timestamptz, details jsonb)`,
	}}
	s.ops = sqlstore.New(s.querier(pool), s.d, func(ctx context.Context, fn func(*sqlstore.Ops) error) error {
		return s.inTx(ctx, func(_ pgx.Tx, t *sqlstore.TxOps) error { return fn(t.Base()) })
	})
	return s, nil
}

// Pool returns the pool the store uses (the host's, borrowed by New).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close ends the Store's use of the pool; it does not close the pool, which
// the host owns. Calls made after Close fail with an error wrapping
// store.ErrClosed. Close may be called more than once
// and always returns nil; it returns an error for symmetry with the SQLite
// adapter, whose Close closes the database it owns.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// errClosed is the error of a call made after Close.
var errClosed = fmt.Errorf("postgres: %w", store.ErrClosed)

// Schema returns the schema holding grantkit's tables.
func (s *Store) Schema() string { return s.schema }

// InTx implements store.Store. The transaction uses the pool's default
// isolation (read committed); correctness rests on row locks and
// compare-and-set updates, not on serializable isolation.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	var t *tx
	err := s.inTx(ctx, func(ptx pgx.Tx, to *sqlstore.TxOps) error {
		t = &tx{TxOps: to, ptx: ptx}
		return fn(t)
	})
	if err == nil {
		t.Committed(ctx)
	}
	return err
}

func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx, *sqlstore.TxOps) error) error {
	if s.closed.Load() {
		return errClosed
	}
	s.counter.Add(1)
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return translate(err)
	}
	done := false
	defer func() {
		if !done { // fn failed or panicked
			s.counter.Add(1)
			_ = ptx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err := fn(ptx, sqlstore.NewTx(s.querier(ptx), s.d)); err != nil {
		return err
	}
	done = true
	s.counter.Add(1)
	if err := ptx.Commit(ctx); err != nil {
		return translate(err)
	}
	return nil
}

// WithTx returns a store.JoinedTx that runs grantkit operations inside the
// host's transaction ptx, which must belong to a connection of the same
// database. grantkit neither commits nor rolls it back: the host does, and
// after a successful commit calls Committed on the returned value so the
// operations' observer events are delivered.
func (s *Store) WithTx(ptx pgx.Tx) store.JoinedTx {
	return &tx{TxOps: sqlstore.NewTx(s.querier(ptx), s.d), ptx: ptx}
}

// PgxTx returns the host transaction behind a store.Tx made by WithTx, or
// the store's own transaction inside InTx, so cascade hooks can run their
// own SQL in the same commit.
func PgxTx(t store.Tx) (pgx.Tx, bool) {
	if t, ok := t.(*tx); ok {
		return t.ptx, true
	}
	return nil, false
}

type tx struct {
	*sqlstore.TxOps
	ptx pgx.Tx
}

// Exclusive implements store.Store with a transaction-scoped advisory lock
// (pg_try_advisory_xact_lock): among every process sharing the database and
// schema, one caller at a time runs fn; the others return false at once.
// The lock is held on one pooled connection for as long as fn runs and is
// released when that transaction ends, even if the process dies.
func (s *Store) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	if s.closed.Load() {
		return false, errClosed
	}
	s.counter.Add(1)
	ptx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, translate(err)
	}
	defer func() {
		s.counter.Add(1)
		_ = ptx.Rollback(context.WithoutCancel(ctx))
	}()
	var got bool
	s.counter.Add(1)
	// The simple protocol leaves no portal behind: an extended-protocol
	// portal lives until the transaction ends and pins its snapshot, so the
	// idle transaction would hold back the xmin horizon for as long as fn
	// runs (for a sweep, minutes of unprunable dead rows database-wide).
	if err := ptx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, pgx.QueryExecModeSimpleProtocol,
		lockKey(s.schema, "exclusive\x00"+name)).Scan(&got); err != nil {
		return false, translate(err)
	}
	if !got {
		return false, nil
	}
	return true, fn(ctx)
}

// lockKey derives a 64-bit advisory lock key from the schema and a name.
func lockKey(schema, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("grantkit\x00" + schema + "\x00" + name))
	return int64(h.Sum64())
}
