package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/internal/migration"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/store/storetest"
)

func TestConformance(t *testing.T) { storetest.Run(t, testdb.SQLite()) }

// conns takes n connections from s's pool at once, so each is a distinct
// SQLite connection, and returns them when t ends.
func conns(t *testing.T, s *sqlite.Store, n int) []*sql.Conn {
	t.Helper()
	out := make([]*sql.Conn, n)
	for i := range out {
		c, err := s.DB().Conn(t.Context())
		if err != nil {
			t.Fatalf("Conn %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		out[i] = c
	}
	return out
}

func queryInt(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := q.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestInMemorySharedAcrossConnections proves that every pooled connection of
// an in-memory store opens the same database: a plain ":memory:" would give
// each connection its own, empty one.
func TestInMemorySharedAcrossConnections(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := open(t, sqlite.Config{}, true)
	cs := conns(t, s, 4)

	// A host table created on one connection is visible on the others.
	if _, err := cs[0].ExecContext(ctx, `CREATE TABLE host_notes (conn INTEGER PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i, c := range cs {
		if _, err := c.ExecContext(ctx, `INSERT INTO host_notes (conn, body) VALUES (?, ?)`, i, fmt.Sprint("from ", i)); err != nil {
			t.Fatalf("insert through conn %d: %v", i, err)
		}
	}
	for i, c := range cs {
		if n := queryInt(t, c, `SELECT count(*) FROM host_notes`); n != int64(len(cs)) {
			t.Errorf("conn %d sees %d rows of host_notes, want %d", i, n, len(cs))
		}
		var body string
		other := (i + 1) % len(cs)
		if err := c.QueryRowContext(ctx, `SELECT body FROM host_notes WHERE conn = ?`, other).Scan(&body); err != nil {
			t.Errorf("conn %d reading the row of conn %d: %v", i, other, err)
		} else if want := fmt.Sprint("from ", other); body != want {
			t.Errorf("conn %d read %q, want %q", i, body, want)
		}
	}

	// A write through the Store (its own connection) is visible on each.
	cl := newClient(t, s)
	for i, c := range cs {
		if n := queryInt(t, c, `SELECT count(*) FROM grantkit_clients WHERE id = ?`, cl.ID); n != 1 {
			t.Errorf("conn %d sees %d copies of the client written through the Store, want 1", i, n)
		}
	}
	// And a write on a held connection is visible through the Store.
	g := grant(cl.ID, "alice")
	if _, err := cs[3].ExecContext(ctx, `INSERT INTO grantkit_grants (id, client_id, subject, redirect_uri, scopes, status, created_at)
		VALUES (?, ?, 'alice', 'https://app.example/cb', '[]', 'active', ?)`, g.ID, cl.ID, now.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetGrant(ctx, g.ID); err != nil || got.ID != g.ID {
		t.Errorf("GetGrant of a row inserted on a held connection = %v, %v", got.ID, err)
	}
}

// TestInMemoryIsolated proves that each in-memory store is a database of its
// own.
func TestInMemoryIsolated(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := open(t, sqlite.Config{}, true)
	c := newClient(t, a)

	b := open(t, sqlite.Config{}, false)
	if n := queryInt(t, b.DB(), `SELECT count(*) FROM sqlite_master`); n != 0 {
		t.Fatalf("a second in-memory store holds %d schema objects, want an empty database", n)
	}
	if err := b.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetClient(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second store: GetClient of the first store's client = %v, want ErrNotFound", err)
	}
	if _, err := a.GetClient(ctx, c.ID); err != nil {
		t.Errorf("first store lost its client: %v", err)
	}
}

// Writer and reader load of the concurrency tests; writesPerWriter (a
// multiple of 4) depends on the race detector.
const (
	writers = 8
	readers = 4
)

// TestNoBusyUnderConcurrentWriters runs writers and readers at once and
// requires every call to succeed: no SQLITE_BUSY ("database is locked"), no
// error of any kind. It runs alone, not in parallel with other tests: it
// brings its own load.
func TestNoBusyUnderConcurrentWriters(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		hammer(t, open(t, sqlite.Config{}, true))
	})
	t.Run("file", func(t *testing.T) {
		hammer(t, open(t, sqlite.Config{Path: filePath(t)}, true))
	})
	t.Run("two-stores-one-file", func(t *testing.T) {
		// Two Stores on one file behave like two processes: their writes
		// are not serialised in Go, so the busy timeout has to absorb the
		// contention.
		path := filePath(t)
		hammer(t, open(t, sqlite.Config{Path: path}, true), open(t, sqlite.Config{Path: path}, false))
	})
}

// hammer runs the writers and readers, spread over stores (which share one
// database), and then checks that every write landed.
func hammer(t *testing.T, stores ...*sqlite.Store) {
	ctx := t.Context()
	cl := newClient(t, stores[0])
	seed := grant(cl.ID, "seed")
	if err := stores[0].CreateGrant(ctx, seed); err != nil {
		t.Fatal(err)
	}

	var (
		wg      sync.WaitGroup
		rwg     sync.WaitGroup
		start   = make(chan struct{})
		done    = make(chan struct{})
		reads   atomic.Int64
		readErr atomic.Int64
	)
	for r := range readers {
		s := stores[r%len(stores)]
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			<-start
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := s.GetGrant(ctx, seed.ID)
				if err == nil && got.Status != store.GrantActive {
					err = fmt.Errorf("seed grant is %s", got.Status)
				}
				if err == nil {
					_, err = s.ListActiveGrants(ctx, store.GrantFilter{AllSubjects: true}, store.Page{Limit: 10})
				}
				if err != nil {
					readErr.Add(1)
					t.Errorf("reader %d: %v", r, err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	for w := range writers {
		s := stores[w%len(stores)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var created, inTx string
			for i := range writesPerWriter {
				var err error
				switch i % 4 {
				case 0:
					g := grant(cl.ID, fmt.Sprintf("w%d-%d", w, i))
					created = g.ID
					err = s.CreateGrant(ctx, g)
				case 1:
					var gs []store.Grant
					gs, err = s.RevokeGrants(ctx, []string{created}, "test", now)
					if err == nil && len(gs) != 1 {
						err = fmt.Errorf("RevokeGrants revoked %d grants, want 1", len(gs))
					}
				case 2:
					g := grant(cl.ID, fmt.Sprintf("w%d-%d", w, i))
					inTx = g.ID
					err = s.InTx(ctx, func(tx store.Tx) error {
						if err := tx.CreateGrant(ctx, g); err != nil {
							return err
						}
						if _, err := tx.GetGrantForUpdate(ctx, g.ID); err != nil {
							return err
						}
						if err := tx.CreateRefreshToken(ctx, refresh(g.ID, newID(), "")); err != nil {
							return err
						}
						_, err := tx.TouchGrants(ctx, []string{g.ID}, now, time.Minute)
						return err
					})
				case 3:
					var n int64
					n, err = s.RevokeRefreshTokens(ctx, []string{inTx}, "test", now)
					if err == nil && n != 1 {
						err = fmt.Errorf("RevokeRefreshTokens revoked %d tokens, want 1", n)
					}
				}
				if err != nil {
					t.Errorf("writer %d, write %d: %v", w, i, err)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(done)
	rwg.Wait()
	if t.Failed() {
		return
	}
	if reads.Load() == 0 {
		t.Error("no read completed while the writers ran")
	}

	// Every write landed: per writer, half of the grants created were
	// revoked and each InTx grant has one revoked refresh token.
	db := stores[len(stores)-1].DB()
	rounds := int64(writers * writesPerWriter / 4)
	for _, c := range []struct {
		query string
		want  int64
	}{
		{`SELECT count(*) FROM grantkit_grants WHERE status = 'active'`, rounds + 1},
		{`SELECT count(*) FROM grantkit_grants WHERE status = 'revoked'`, rounds},
		{`SELECT count(*) FROM grantkit_grants WHERE status = 'active' AND last_used_at IS NOT NULL`, rounds},
		{`SELECT count(*) FROM grantkit_refresh_tokens WHERE revoked_at IS NOT NULL`, rounds},
	} {
		if got := queryInt(t, db, c.query); got != c.want {
			t.Errorf("%s = %d, want %d", c.query, got, c.want)
		}
	}
}

// TestPragmas checks the connection settings on several connections at
// once, since each pooled connection applies them itself.
func TestPragmas(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		path    bool
		journal string // "" when not checked
	}{
		{name: "memory"},
		{name: "file", path: true, journal: "wal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := sqlite.Config{BusyTimeout: 1234 * time.Millisecond}
			if tc.path {
				cfg.Path = filePath(t)
			}
			s := open(t, cfg, true)
			for i, c := range conns(t, s, 3) {
				if got := queryInt(t, c, `PRAGMA foreign_keys`); got != 1 {
					t.Errorf("conn %d: foreign_keys = %d, want 1", i, got)
				}
				if got := queryInt(t, c, `PRAGMA busy_timeout`); got != 1234 {
					t.Errorf("conn %d: busy_timeout = %d, want 1234", i, got)
				}
				if tc.journal != "" {
					var mode string
					if err := c.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
						t.Fatal(err)
					}
					if mode != tc.journal {
						t.Errorf("conn %d: journal_mode = %q, want %q", i, mode, tc.journal)
					}
				}
			}
			// Foreign keys are enforced, not just reported.
			err := s.CreateGrant(t.Context(), grant("client-"+newID(), "alice"))
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("CreateGrant of an unknown client = %v, want ErrNotFound (foreign key)", err)
			}
		})
	}
}

func TestDefaultBusyTimeout(t *testing.T) {
	t.Parallel()
	s := open(t, sqlite.Config{}, false)
	if got := queryInt(t, s.DB(), `PRAGMA busy_timeout`); got != 5000 {
		t.Errorf("default busy_timeout = %d, want 5000", got)
	}
}

// schemaObjects lists the tables and indexes of db (SQLite's own excluded).
func schemaObjects(t *testing.T, db *sql.DB) (tables, indexes []string) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT type, name FROM sqlite_master
		WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ, name string
		if err := rows.Scan(&typ, &name); err != nil {
			t.Fatal(err)
		}
		if typ == "table" {
			tables = append(tables, name)
		} else {
			indexes = append(indexes, name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return tables, indexes
}

func prefixed(prefix string, names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	slices.Sort(out)
	return out
}

var tableNames = []string{"audit_events", "auth_codes", "auth_requests", "clients", "grants", "refresh_tokens", "schema_migrations"}

// TestPrefix checks that a custom prefix names every table and index, and
// that two prefixes share one file without colliding.
func TestPrefix(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filePath(t)
	host := open(t, sqlite.Config{Path: path, Prefix: "host_gk_"}, true)

	tables, indexes := schemaObjects(t, host.DB())
	if diff := cmp.Diff(prefixed("host_gk_", tableNames...), tables); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	if len(indexes) == 0 {
		t.Error("no index created")
	}
	for _, name := range indexes {
		if !strings.HasPrefix(name, "host_gk_") {
			t.Errorf("index %q is outside the prefix", name)
		}
	}

	c := newClient(t, host)
	if _, err := host.GetClient(ctx, c.ID); err != nil {
		t.Fatalf("GetClient under a custom prefix: %v", err)
	}

	// The default prefix in the same file is a separate set of tables.
	def := open(t, sqlite.Config{Path: path}, true)
	tables, _ = schemaObjects(t, def.DB())
	want := append(prefixed("grantkit_", tableNames...), prefixed("host_gk_", tableNames...)...)
	slices.Sort(want)
	if diff := cmp.Diff(want, tables); diff != "" {
		t.Errorf("tables with two prefixes (-want +got):\n%s", diff)
	}
	if _, err := def.GetClient(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("default prefix sees the host_gk_ client: %v, want ErrNotFound", err)
	}
}

func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  sqlite.Config
	}{
		{"dash", sqlite.Config{Prefix: "bad-prefix"}},
		{"semicolon", sqlite.Config{Prefix: "x;drop"}},
		{"injection", sqlite.Config{Prefix: "x; DROP TABLE users; --"}},
		{"leading digit", sqlite.Config{Prefix: "1abc_"}},
		{"space", sqlite.Config{Prefix: "a b"}},
		{"schema qualified", sqlite.Config{Prefix: "main.gk_"}},
		{"quoted", sqlite.Config{Prefix: `"gk"`}},
		{"too long", sqlite.Config{Prefix: strings.Repeat("a", 32)}},
		{"negative busy timeout", sqlite.Config{BusyTimeout: -time.Second}},
		{"negative max open conns", sqlite.Config{MaxOpenConns: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := sqlite.Open(t.Context(), tc.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%+v) succeeded, want an error", tc.cfg)
			}
		})
	}
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(sqlite.Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "001_init.sql") {
		t.Errorf("Migrations() lists %q, want 001_init.sql among them", names)
	}
	ms, err := migration.Load(sqlite.Migrations())
	if err != nil {
		t.Fatalf("the embedded migrations do not load: %v", err)
	}
	if len(ms) != len(names) || ms[0].Version != 1 {
		t.Errorf("Load returned %d migrations starting at %d, want %d starting at 1", len(ms), ms[0].Version, len(names))
	}
}

// appliedVersions reads the schema_migrations table.
func appliedVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT version FROM grantkit_schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

func embeddedVersions(t *testing.T) []int {
	t.Helper()
	ms, err := migration.Load(sqlite.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	var vs []int
	for _, m := range ms {
		vs = append(vs, m.Version)
	}
	return vs
}

func TestMigrateTwiceIsNoOp(t *testing.T) {
	t.Parallel()
	var n store.Counter
	s := open(t, sqlite.Config{Path: filePath(t), Counter: &n}, true)
	tables, indexes := schemaObjects(t, s.DB())

	before := n.Load()
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	// BEGIN, CREATE TABLE IF NOT EXISTS, SELECT version, COMMIT: nothing applied.
	if got := n.Load() - before; got != 4 {
		t.Errorf("second Migrate sent %d statements, want 4 (no migration applied)", got)
	}
	tables2, indexes2 := schemaObjects(t, s.DB())
	if diff := cmp.Diff(tables, tables2); diff != "" {
		t.Errorf("tables changed (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(indexes, indexes2); diff != "" {
		t.Errorf("indexes changed (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(embeddedVersions(t), appliedVersions(t, s.DB())); diff != "" {
		t.Errorf("schema_migrations (-want +got):\n%s", diff)
	}
}

// TestConcurrentMigrate migrates one fresh file from 4 goroutines over two
// Stores (two "processes").
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	path := filePath(t)
	stores := []*sqlite.Store{open(t, sqlite.Config{Path: path}, false), open(t, sqlite.Config{Path: path}, false)}
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := stores[i%2].Migrate(t.Context()); err != nil {
				t.Errorf("Migrate %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if diff := cmp.Diff(embeddedVersions(t), appliedVersions(t, stores[0].DB())); diff != "" {
		t.Errorf("schema_migrations (-want +got):\n%s", diff)
	}
	tables, _ := schemaObjects(t, stores[1].DB())
	if diff := cmp.Diff(prefixed("grantkit_", tableNames...), tables); diff != "" {
		t.Errorf("tables (-want +got):\n%s", diff)
	}
	// Both stores work on the migrated file.
	c := newClient(t, stores[0])
	if _, err := stores[1].GetClient(t.Context(), c.ID); err != nil {
		t.Errorf("the other store cannot read the client: %v", err)
	}
}

// TestCounter checks the statement counts: every write outside a
// transaction runs in its own BEGIN IMMEDIATE … COMMIT (so writers are
// serialised), and a rotation is an UPDATE and an INSERT.
func TestCounter(t *testing.T) {
	t.Parallel()
	storetest.TestCounter(t, testdb.SQLite(), storetest.StatementCounts{Write: 3, Rotate: 4, RotateLost: 3})
}

// TestSmallPool checks that MaxOpenConns counts the connections the store
// can use: the connection pinning an in-memory database open must not
// take the only one.
func TestSmallPool(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		path bool
	}{{"memory", false}, {"file", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := sqlite.Config{MaxOpenConns: 1}
			if tc.path {
				cfg.Path = filePath(t)
			}
			s := open(t, cfg, false)
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			if err := s.Migrate(ctx); err != nil {
				t.Fatalf("Migrate with MaxOpenConns 1: %v", err)
			}
			c := newClient(t, s)
			if _, err := s.GetClient(ctx, c.ID); err != nil {
				t.Fatalf("GetClient with MaxOpenConns 1: %v", err)
			}
			// Statements are prepared in the background on first use;
			// inside a transaction holding the only connection that must
			// neither wait for a second one nor fail, the first time or
			// once the statements are cached.
			for round := range 3 {
				err := s.InTx(ctx, func(tx store.Tx) error {
					if _, err := tx.GetClient(ctx, c.ID); err != nil {
						return err
					}
					if _, err := tx.GetGrantForUpdate(ctx, testdb.NewID()); !errors.Is(err, store.ErrNotFound) {
						return fmt.Errorf("GetGrantForUpdate(unknown) = %v, want ErrNotFound", err)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("round %d: InTx with MaxOpenConns 1: %v", round, err)
				}
				time.Sleep(10 * time.Millisecond) // let the background prepares finish
			}
		})
	}
}

// TestCloseClosesTheDB checks the ownership Close documents: the Store
// owns the database Open opened, and Close closes it.
func TestCloseClosesTheDB(t *testing.T) {
	t.Parallel()
	s := open(t, sqlite.Config{Path: filePath(t)}, true)
	db := s.DB()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := db.PingContext(t.Context()); err == nil {
		t.Error("the database is still open after Close")
	}
}
