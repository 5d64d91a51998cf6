// Package sqlite is the SQLite adapter of grantkit's store contract,
// built on modernc.org/sqlite (pure Go, no cgo) through database/sql.
//
// Writes run in BEGIN IMMEDIATE transactions, serialised inside the process
// so writers queue in Go instead of polling SQLite's busy handler; a busy
// timeout covers other processes sharing a file. Foreign keys are on, files
// use WAL. The in-memory mode uses SQLite's memdb VFS, so every pooled
// connection sees the same database (a plain ":memory:" would give each
// connection its own).
//
// Ownership: [Open] opens the database and the [Store] owns it. The host
// calls [Store.Close] when done, which closes the database (an in-memory
// database is gone afterwards); it does not close [Store.DB] itself, which
// it may use for its own tables and for transactions joined with
// [Store.WithTx] until then.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/grantkit/grantkit/internal/sqlstore"
	"github.com/grantkit/grantkit/store"
)

// DefaultPrefix is prepended to grantkit's table names unless configured.
const DefaultPrefix = "grantkit_"

// Config configures a Store. The zero value opens a private in-memory
// database.
type Config struct {
	// Path is the database file; "" opens an in-memory database that lives
	// as long as the Store.
	Path string
	// Prefix is prepended to table and index names so grantkit's tables
	// never collide with the host's. Default DefaultPrefix.
	Prefix string
	// BusyTimeout bounds how long a statement waits for another process's
	// lock. Default 5s.
	BusyTimeout time.Duration
	// MaxOpenConns caps the connections the operations use. Default 8.
	// The Store holds one more, idle, to keep the database open.
	MaxOpenConns int
	// Counter, when set, counts every statement the store sends, BEGIN and
	// COMMIT included (tests and benchmarks).
	Counter *store.Counter
}

// Store is grantkit's store on SQLite. It implements [store.Store]: the
// operations of [store.Ops] (documented there), InTx, Migrate and
// Exclusive. Beyond the contract it has:
//
//   - [Store.WithTx], which joins a host transaction begun on [Store.DB],
//     and [SQLTx], which returns the *sql.Tx behind a store.Tx;
//   - [Store.DB] and [Store.Prefix], for hosts that keep their own tables
//     beside grantkit's;
//   - [Store.Close], which closes the database the Store owns.
//
// It is safe for concurrent use.
type Store struct {
	*ops
	closed atomic.Bool

	db      *sql.DB
	keep    *sql.Conn // pins an in-memory database open
	stmts   *stmts
	d       *sqlstore.Dialect
	counter *store.Counter
	// writer serialises this process's write transactions (capacity 1).
	writer chan struct{}
	prefix string

	exclusiveMu sync.Mutex
	exclusive   map[string]bool
}

// ops is sqlstore.Ops under an unexported name: embedded as *ops, it
// gives Store the methods of store.Ops without putting an internal type in
// Store's documented surface.
type ops = sqlstore.Ops

var _ store.Store = (*Store)(nil)

var prefixPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,30}$`)

// Open opens (creating if needed) the database cfg describes and returns
// the Store that owns it. Call Migrate before first use and Close when
// done.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !prefixPattern.MatchString(cfg.Prefix) {
		return nil, fmt.Errorf("sqlite: prefix %q is not a plain identifier", cfg.Prefix)
	}
	if cfg.BusyTimeout == 0 {
		cfg.BusyTimeout = 5 * time.Second
	}
	if cfg.BusyTimeout < 0 || cfg.MaxOpenConns < 0 {
		return nil, errors.New("sqlite: negative BusyTimeout or MaxOpenConns")
	}
	if cfg.MaxOpenConns == 0 {
		cfg.MaxOpenConns = 8
	}
	params := url.Values{}
	params.Set("_txlock", "immediate")
	params.Set("_busy_timeout", strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10))
	params.Set("_foreign_keys", "1")
	var dsn string
	if cfg.Path == "" {
		var name [12]byte
		if _, err := rand.Read(name[:]); err != nil {
			return nil, fmt.Errorf("sqlite: naming the in-memory database: %w", err)
		}
		params.Set("vfs", "memdb")
		dsn = "file:/grantkit-" + hex.EncodeToString(name[:]) + "?" + params.Encode()
	} else {
		abs, err := filepath.Abs(cfg.Path)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		params.Set("_journal_mode", "WAL")
		params.Set("_synchronous", "NORMAL")
		dsn = (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: params.Encode()}).String()
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// One more than configured: keep holds one connection for the Store's
	// lifetime, which must not starve the operations (MaxOpenConns 1 would
	// otherwise block every call).
	db.SetMaxOpenConns(cfg.MaxOpenConns + 1)
	db.SetMaxIdleConns(cfg.MaxOpenConns + 1)
	keep, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", translate(err))
	}
	s := &Store{db: db, keep: keep, stmts: newStmts(db), counter: cfg.Counter, prefix: cfg.Prefix, writer: make(chan struct{}, 1),
		exclusive: map[string]bool{}, d: &sqlstore.Dialect{
			Prefix:               cfg.Prefix,
			QuestionPlaceholders: true,
			InSet:                func(p string) string { return "IN (SELECT value FROM json_each(" + p + "))" },
			Set:                  jsonSet,
			Time:                 func(t time.Time) any { return t.UnixMicro() },
			SerializeWrites:      true,
			RowRef:               "rowid",
			RowRefIn:             func(sub string) string { return "IN (" + sub + ")" },
			AuditRows: `(SELECT value ->> '$.id', value ->> '$.grant_id', value ->> '$.client_id',
				value ->> '$.subject', value ->> '$.type', value ->> '$.reason', value ->> '$.actor',
				value ->> '$.occurred_at', value -> '$.details' FROM json_each($1))`,
		}}
	s.ops = sqlstore.New(s.cachedQuerier(db), s.d, func(ctx context.Context, fn func(*sqlstore.Ops) error) error {
		return s.inTx(ctx, func(_ *sql.Tx, t *sqlstore.TxOps) error { return fn(t.Base()) })
	})
	return s, nil
}

// DB returns the underlying database, for hosts that keep their own tables
// beside grantkit's and join transactions with WithTx. Its transactions
// begin IMMEDIATE. The Store owns it: close the Store, not the database.
func (s *Store) DB() *sql.DB { return s.db }

// Prefix returns the prefix of grantkit's table names.
func (s *Store) Prefix() string { return s.prefix }

// Close closes the database the Store owns; an in-memory database is gone
// afterwards. Calls made after Close fail with an error wrapping
// store.ErrClosed. Close may be called more than once: later calls do
// nothing and return nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stmts.close()
	return errors.Join(s.keep.Close(), s.db.Close())
}

// errClosed is the error of a call made after Close.
var errClosed = fmt.Errorf("sqlite: %w", store.ErrClosed)

// InTx implements store.Store with a BEGIN IMMEDIATE transaction. Inside fn,
// use the Tx: a write through the Store itself would wait for fn's own
// transaction.
func (s *Store) InTx(ctx context.Context, fn func(store.Tx) error) error {
	var t *tx
	err := s.inTx(ctx, func(stx *sql.Tx, to *sqlstore.TxOps) error {
		t = &tx{TxOps: to, stx: stx}
		return fn(t)
	})
	if err == nil {
		t.Committed(ctx)
	}
	return err
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx, *sqlstore.TxOps) error) error {
	if s.closed.Load() {
		return errClosed
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.writer }()
	s.counter.Add(1)
	stx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	done := false
	defer func() {
		if !done { // fn failed or panicked
			s.counter.Add(1)
			_ = stx.Rollback()
		}
	}()
	if err := fn(stx, sqlstore.NewTx(s.cachedQuerier(stx), s.d)); err != nil {
		return err
	}
	done = true
	s.counter.Add(1)
	return translate(stx.Commit())
}

// WithTx returns a store.JoinedTx that runs grantkit operations inside the
// host's transaction stx, begun on DB(). grantkit neither commits nor rolls
// it back: the host does, and after a successful commit calls Committed on
// the returned value so the operations' observer events are delivered.
func (s *Store) WithTx(stx *sql.Tx) store.JoinedTx {
	return &tx{TxOps: sqlstore.NewTx(s.querier(stx), s.d), stx: stx}
}

// SQLTx returns the *sql.Tx behind a store.Tx of this adapter, so cascade
// hooks can run their own SQL in the same commit.
func SQLTx(t store.Tx) (*sql.Tx, bool) {
	if t, ok := t.(*tx); ok {
		return t.stx, true
	}
	return nil, false
}

type tx struct {
	*sqlstore.TxOps
	stx *sql.Tx
}

// Exclusive implements store.Store. SQLite has no advisory locks; the
// exclusion holds among the callers of this Store (one process). Instances
// in several processes sharing one file may each run fn; their writes are
// still serialised by SQLite.
func (s *Store) Exclusive(ctx context.Context, name string, fn func(ctx context.Context) error) (bool, error) {
	if s.closed.Load() {
		return false, errClosed
	}
	s.exclusiveMu.Lock()
	if s.exclusive[name] {
		s.exclusiveMu.Unlock()
		return false, nil
	}
	s.exclusive[name] = true
	s.exclusiveMu.Unlock()
	defer func() {
		s.exclusiveMu.Lock()
		delete(s.exclusive, name)
		s.exclusiveMu.Unlock()
	}()
	return true, fn(ctx)
}
