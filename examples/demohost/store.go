package demohost

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/store/sqlite"
)

// OpenStore opens and migrates the database -db names: "" an in-memory
// SQLite database, sqlite:PATH a SQLite file, a postgres:// or
// postgresql:// DSN a PostgreSQL database whose tables live in schema.
// The returned close function closes the store, then the pool it owns.
func OpenStore(ctx context.Context, db, schema string) (store.Store, func() error, error) {
	switch {
	case db == "":
		return openSQLite(ctx, "")
	case strings.HasPrefix(db, "sqlite:"):
		path := strings.TrimPrefix(db, "sqlite:")
		if path == "" {
			return nil, nil, errors.New("-db sqlite: needs a file path (sqlite:PATH)")
		}
		return openSQLite(ctx, path)
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return openPostgres(ctx, db, schema)
	default:
		return nil, nil, fmt.Errorf("-db %q: want \"\", sqlite:PATH or a postgres:// DSN", db)
	}
}

// openSQLite opens the SQLite database at path ("" in memory) and
// migrates it.
func openSQLite(ctx context.Context, path string) (store.Store, func() error, error) {
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		return nil, nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		return nil, nil, errors.Join(err, s.Close())
	}
	return s, s.Close, nil
}

// openPostgres connects a pool to dsn and migrates grantkit's tables in
// schema.
func openPostgres(ctx context.Context, dsn, schema string) (store.Store, func() error, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("postgres: %w", err)
	}
	s, err := postgres.New(pool, postgres.Config{Schema: schema})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		err = errors.Join(err, s.Close())
		pool.Close()
		return nil, nil, err
	}
	return s, func() error {
		err := s.Close()
		pool.Close()
		return err
	}, nil
}
