package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/grantkit/grantkit/internal/migration"
	"github.com/grantkit/grantkit/internal/sqlstore"
	"github.com/grantkit/grantkit/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations (NNN_name.sql, written for the
// default schema "grantkit") for hosts that run them with their own tool,
// such as goose or golang-migrate.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// Migrate implements store.Store. It creates the schema and applies the
// migrations not yet recorded in <schema>.schema_migrations, all in one
// transaction holding an advisory lock, so concurrent calls from several
// processes apply each migration exactly once.
func (s *Store) Migrate(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	ms, err := migration.Load(Migrations())
	if err != nil {
		return err
	}
	schema := `"` + s.schema + `"`
	table := schema + `.schema_migrations`
	return s.inTx(ctx, func(ptx pgx.Tx, _ *sqlstore.TxOps) error {
		mtx := migrationTx{ptx: ptx, counter: s.counter}
		if err := mtx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(s.schema, "migrate")); err != nil {
			return fmt.Errorf("postgres: migrate lock: %w", err)
		}
		if err := mtx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+schema); err != nil {
			return fmt.Errorf("postgres: create schema: %w", err)
		}
		err := migration.Apply(ctx, mtx, migration.Target{
			CreateTable: `CREATE TABLE IF NOT EXISTS ` + table + ` (
				version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
			SelectVersions: `SELECT version FROM ` + table,
			Record:         `INSERT INTO ` + table + ` (version, name) VALUES ($1, $2)`,
			Rewrite:        func(sql string) string { return strings.ReplaceAll(sql, "grantkit.", schema+".") },
		}, ms)
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		return nil
	})
}

// migrationTx runs migration.Apply's statements on ptx, counting them.
type migrationTx struct {
	ptx     pgx.Tx
	counter *store.Counter
}

func (t migrationTx) Exec(ctx context.Context, query string, args ...any) error {
	t.counter.Add(1)
	_, err := t.ptx.Exec(ctx, query, args...)
	return err
}

func (t migrationTx) Versions(ctx context.Context, query string) ([]int, error) {
	t.counter.Add(1)
	rows, err := t.ptx.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (int, error) {
		var v int32
		err := r.Scan(&v)
		return int(v), err
	})
}
