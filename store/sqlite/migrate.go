package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"strings"

	"github.com/grantkit/grantkit/internal/migration"
	"github.com/grantkit/grantkit/internal/sqlstore"
	"github.com/grantkit/grantkit/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded migrations (NNN_name.sql, written with the
// default prefix "grantkit_") for hosts that run them with their own tool.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// Migrate implements store.Store. Migrations not yet recorded in
// <prefix>schema_migrations are applied in one BEGIN IMMEDIATE transaction,
// which excludes every other writer of the file, so concurrent calls apply
// each migration exactly once.
func (s *Store) Migrate(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	ms, err := migration.Load(Migrations())
	if err != nil {
		return err
	}
	table := s.prefix + "schema_migrations"
	return s.inTx(ctx, func(stx *sql.Tx, _ *sqlstore.TxOps) error {
		err := migration.Apply(ctx, migrationTx{stx: stx, counter: s.counter}, migration.Target{
			CreateTable: `CREATE TABLE IF NOT EXISTS ` + table + ` (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (datetime('now'))) STRICT`,
			SelectVersions: `SELECT version FROM ` + table,
			Record:         `INSERT INTO ` + table + ` (version, name) VALUES (?1, ?2)`,
			Rewrite:        func(q string) string { return strings.ReplaceAll(q, "grantkit_", s.prefix) },
		}, ms)
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		return nil
	})
}

// migrationTx runs migration.Apply's statements on stx, counting them.
type migrationTx struct {
	stx     *sql.Tx
	counter *store.Counter
}

func (t migrationTx) Exec(ctx context.Context, query string, args ...any) error {
	t.counter.Add(1)
	_, err := t.stx.ExecContext(ctx, query, args...)
	return err
}

func (t migrationTx) Versions(ctx context.Context, query string) ([]int, error) {
	t.counter.Add(1)
	rows, err := t.stx.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
