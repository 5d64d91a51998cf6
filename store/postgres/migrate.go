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
	ms, err := migration.Load(Migrations())
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(ptx pgx.Tx, _ *sqlstore.TxOps) error {
		exec := func(sql string, args ...any) error {
			s.counter.Add(1)
			_, err := ptx.Exec(ctx, sql, args...)
			return err
		}
		if err := exec(`SELECT pg_advisory_xact_lock($1)`, lockKey(s.schema, "migrate")); err != nil {
			return fmt.Errorf("postgres: migrate lock: %w", err)
		}
		if err := exec(`CREATE SCHEMA IF NOT EXISTS "` + s.schema + `"`); err != nil {
			return fmt.Errorf("postgres: create schema: %w", err)
		}
		if err := exec(`CREATE TABLE IF NOT EXISTS "` + s.schema + `".schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("postgres: migrations table: %w", err)
		}
		applied := map[int]bool{}
		s.counter.Add(1)
		rows, err := ptx.Query(ctx, `SELECT version FROM "`+s.schema+`".schema_migrations`)
		if err != nil {
			return fmt.Errorf("postgres: read migrations: %w", err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("postgres: read migrations: %w", err)
		}
		for _, v := range versions {
			applied[int(v)] = true
		}
		for _, m := range ms {
			if applied[m.Version] {
				continue
			}
			sql := strings.ReplaceAll(m.SQL, "grantkit.", `"`+s.schema+`".`)
			if err := exec(sql); err != nil {
				return fmt.Errorf("postgres: migration %s: %w", m.Name, err)
			}
			if err := exec(`INSERT INTO "`+s.schema+`".schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return fmt.Errorf("postgres: record migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}
