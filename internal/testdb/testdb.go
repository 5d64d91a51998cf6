// Package testdb opens the databases grantkit's tests run against: SQLite
// (in memory) always, and PostgreSQL when GRANTKIT_TEST_POSTGRES holds a
// DSN. Each store it opens is isolated (its own in-memory database, or its
// own PostgreSQL schema dropped at cleanup), so tests may run in parallel.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/store/storetest"
)

// EnvDSN names the environment variable holding the PostgreSQL test DSN.
const EnvDSN = "GRANTKIT_TEST_POSTGRES"

// EnvRequire, when set to a non-empty value, turns a missing DSN into a test
// failure instead of a skip (CI sets it).
const EnvRequire = "GRANTKIT_REQUIRE_POSTGRES"

// DB is one database kind the tests run on.
type DB struct {
	Name    string
	Harness storetest.Harness
}

// Each runs fn as a subtest once per database: "sqlite", then "postgres"
// (skipped with a message when no DSN is configured).
func Each(t *testing.T, fn func(t *testing.T, db DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, DB{"sqlite", SQLite()}) })
	t.Run("postgres", func(t *testing.T) { fn(t, DB{"postgres", Postgres(t)}) })
}

// SQLite returns the harness of the SQLite adapter.
func SQLite() storetest.Harness {
	return storetest.Harness{
		Open: func(t *testing.T, c *store.Counter) store.Store {
			t.Helper()
			s, err := sqlite.Open(context.Background(), sqlite.Config{Counter: c})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			if err := s.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			return s
		},
		HostTx: func(t *testing.T, s store.Store) (store.JoinedTx, func() error, func() error) {
			t.Helper()
			ls := s.(*sqlite.Store)
			stx, err := ls.DB().BeginTx(t.Context(), &sql.TxOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return ls.WithTx(stx), stx.Commit, stx.Rollback
		},
	}
}

// Postgres returns the harness of the PostgreSQL adapter; it skips t (or
// fails it, when EnvRequire is set) if no DSN is configured.
func Postgres(t *testing.T) storetest.Harness {
	t.Helper()
	pool := Pool(t)
	return storetest.Harness{
		Open: func(t *testing.T, c *store.Counter) store.Store {
			t.Helper()
			s := OpenPostgres(t, pool, c)
			return s
		},
		HostTx: func(t *testing.T, s store.Store) (store.JoinedTx, func() error, func() error) {
			t.Helper()
			ps := s.(*postgres.Store)
			ptx, err := ps.Pool().Begin(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			return ps.WithTx(ptx), func() error { return ptx.Commit(ctx) }, func() error { return ptx.Rollback(ctx) }
		},
	}
}

// OpenPostgres returns a migrated store in a fresh schema of pool's
// database, dropped when t ends.
func OpenPostgres(t testing.TB, pool *pgxpool.Pool, c *store.Counter) *postgres.Store {
	t.Helper()
	schema := NewSchema(t, pool)
	s, err := postgres.New(pool, postgres.Config{Schema: schema, Counter: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// NewSchema names a fresh schema and drops it when t ends.
func NewSchema(t testing.TB, pool *pgxpool.Pool) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "gk_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`); err != nil {
			t.Errorf("dropping %s: %v", schema, err)
		}
	})
	return schema
}

var (
	poolOnce sync.Once
	pool     *pgxpool.Pool
	poolErr  error
)

// Pool returns the shared PostgreSQL pool of this test binary, skipping t
// (or failing it under EnvRequire) when no DSN is configured.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("%s is empty but %s is set: the PostgreSQL tests must run", EnvDSN, EnvRequire)
		}
		t.Skipf("PostgreSQL tests skipped: set %s to a DSN, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable", EnvDSN)
	}
	poolOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			poolErr = err
			return
		}
		cfg.MaxConns = 24
		pool, poolErr = pgxpool.NewWithConfig(context.Background(), cfg)
		if poolErr == nil {
			poolErr = pool.Ping(context.Background())
		}
	})
	if poolErr != nil {
		t.Fatalf("PostgreSQL at %s: %v", EnvDSN, poolErr)
	}
	return pool
}
