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
	ms, err := migration.Load(Migrations())
	if err != nil {
		return err
	}
	table := s.prefix + "schema_migrations"
	return s.inTx(ctx, func(stx *sql.Tx, _ *sqlstore.TxOps) error {
		exec := func(query string, args ...any) error {
			s.counter.Add(1)
			_, err := stx.ExecContext(ctx, query, args...)
			return err
		}
		if err := exec(`CREATE TABLE IF NOT EXISTS ` + table + ` (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (datetime('now'))) STRICT`); err != nil {
			return fmt.Errorf("sqlite: migrations table: %w", err)
		}
		applied := map[int]bool{}
		s.counter.Add(1)
		rows, err := stx.QueryContext(ctx, `SELECT version FROM `+table)
		if err != nil {
			return fmt.Errorf("sqlite: read migrations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				return fmt.Errorf("sqlite: read migrations: %w", err)
			}
			applied[v] = true
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: read migrations: %w", err)
		}
		for _, m := range ms {
			if applied[m.Version] {
				continue
			}
			if err := exec(strings.ReplaceAll(m.SQL, "grantkit_", s.prefix)); err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
			}
			if err := exec(`INSERT INTO `+table+` (version, name) VALUES (?, ?)`, m.Version, m.Name); err != nil {
				return fmt.Errorf("sqlite: record migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}
