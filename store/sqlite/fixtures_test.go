package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store/sqlite"
)

// The fixtures live in internal/testdb, shared with the other adapter.
var (
	now       = testdb.Now
	newID     = testdb.NewID
	hash      = testdb.Hash
	newClient = testdb.NewClient
	grant     = testdb.Grant
	refresh   = testdb.Refresh
)

// open opens a store with cfg, closes it when tb ends and, if migrate is
// set, migrates it.
func open(tb testing.TB, cfg sqlite.Config, migrate bool) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Open(%+v): %v", cfg, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if migrate {
		if err := s.Migrate(context.Background()); err != nil {
			tb.Fatalf("Migrate: %v", err)
		}
	}
	return s
}

// filePath names a database file in a fresh temporary directory.
func filePath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "grantkit.db")
}
