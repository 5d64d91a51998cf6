// Package migration reads and applies the embedded, versioned SQL
// migrations both adapters ship: files named NNN_name.sql, applied in
// version order and recorded in a migrations table, each exactly once.
//
// [Load] reads the files; [Apply] is the loop both adapters run inside one
// transaction of their own. What makes concurrent runs safe differs per
// database and stays in the adapter: PostgreSQL takes an advisory lock
// before calling Apply, SQLite runs it in a BEGIN IMMEDIATE transaction,
// which excludes every other writer of the file.
package migration

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migration is one versioned SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load returns the migrations in fsys's root, sorted by version. Versions
// must be unique and the file names must read NNN_name.sql.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration: %q is not named NNN_name.sql", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migration: %q and %q share version %d", other, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Tx is the transaction Apply runs in, over the adapter's driver.
type Tx interface {
	// Exec runs one statement; without args it may hold several separated
	// by semicolons (a migration file).
	Exec(ctx context.Context, query string, args ...any) error
	// Versions runs query and returns its single integer column.
	Versions(ctx context.Context, query string) ([]int, error)
}

// Target says where an adapter records its migrations and how it adapts
// their SQL.
type Target struct {
	// CreateTable creates the migrations table if it does not exist, with
	// at least the columns version (integer primary key) and name.
	CreateTable string
	// SelectVersions returns the recorded versions.
	SelectVersions string
	// Record inserts one row, binding the version and the name as its
	// first and second parameters.
	Record string
	// Rewrite turns a migration's SQL, written with the default table
	// names, into the SQL for the configured ones; nil keeps it.
	Rewrite func(sql string) string
}

// Apply creates the migrations table if needed and applies, in order, the
// migrations of ms not recorded in it, recording each one in the same
// transaction. The caller commits tx, and must make sure no other Apply on
// the same target runs until tx ends (concurrent runs would otherwise
// apply a migration twice or fail on the record's primary key).
func Apply(ctx context.Context, tx Tx, t Target, ms []Migration) error {
	if err := tx.Exec(ctx, t.CreateTable); err != nil {
		return fmt.Errorf("migration: creating the migrations table: %w", err)
	}
	versions, err := tx.Versions(ctx, t.SelectVersions)
	if err != nil {
		return fmt.Errorf("migration: reading the applied versions: %w", err)
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[v] = true
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		sql := m.SQL
		if t.Rewrite != nil {
			sql = t.Rewrite(sql)
		}
		if err := tx.Exec(ctx, sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if err := tx.Exec(ctx, t.Record, m.Version, m.Name); err != nil {
			return fmt.Errorf("migration %s: recording it: %w", m.Name, err)
		}
	}
	return nil
}
