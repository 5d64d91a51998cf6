package postgres_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantkit/grantkit/internal/migration"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/store/storetest"
)

func TestConformance(t *testing.T) { storetest.Run(t, testdb.Postgres(t)) }

func newStore(t *testing.T, pool *pgxpool.Pool, cfg postgres.Config) *postgres.Store {
	t.Helper()
	s, err := postgres.New(pool, cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return s
}

func queryInt(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestConcurrentMigrate migrates one fresh schema from 4 Stores at once (4
// "processes"): each must succeed and each version be applied once.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	schema := testdb.NewSchema(t, pool)
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for i := range 4 {
		s := newStore(t, pool, postgres.Config{Schema: schema})
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := s.Migrate(t.Context()); err != nil {
				t.Errorf("Migrate %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()

	ms, err := migration.Load(postgres.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]int{}
	for _, m := range ms {
		want[m.Version] = 1
	}
	rows, err := pool.Query(t.Context(), `SELECT version, count(*)::int FROM "`+schema+`".schema_migrations GROUP BY version`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]int{}
	for rows.Next() {
		var v, n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		got[v] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema_migrations version → rows (-want +got):\n%s", diff)
	}
	for _, table := range []string{"clients", "grants", "auth_requests", "auth_codes", "refresh_tokens", "audit_events"} {
		if n := queryInt(t, pool, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2`, schema, table); n != 1 {
			t.Errorf("table %s.%s missing", schema, table)
		}
	}

	// A later Migrate is a no-op: BEGIN, lock, CREATE SCHEMA IF NOT EXISTS,
	// CREATE TABLE IF NOT EXISTS, SELECT version, COMMIT.
	var n store.Counter
	if err := newStore(t, pool, postgres.Config{Schema: schema, Counter: &n}).Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if n.Load() != 6 {
		t.Errorf("Migrate of a migrated schema sent %d statements, want 6 (nothing applied)", n.Load())
	}
}

// TestExclusive checks the advisory-lock leadership between two Stores
// sharing a schema (two processes).
func TestExclusive(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	schema := testdb.NewSchema(t, pool)
	a := newStore(t, pool, postgres.Config{Schema: schema})
	b := newStore(t, pool, postgres.Config{Schema: schema})
	ctx := t.Context()

	t.Run("same name excludes", func(t *testing.T) {
		// 8 contenders over both stores start together; the first to run
		// fn holds the lock until every other has returned. Should the
		// exclusion fail, later runners return at once, so the test fails
		// instead of hanging.
		const contenders = 8
		var (
			wg       sync.WaitGroup
			start    = make(chan struct{})
			release  = make(chan struct{})
			ran      atomic.Int64
			returned atomic.Int64
			wins     atomic.Int64
		)
		for i := range contenders {
			s := []*postgres.Store{a, b}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				holder := false
				ok, err := s.Exclusive(ctx, "sweep", func(context.Context) error {
					if ran.Add(1) == 1 {
						holder = true
						<-release
					}
					return nil
				})
				if err != nil {
					t.Errorf("contender %d: %v", i, err)
				}
				if ok {
					wins.Add(1)
				}
				if !holder && returned.Add(1) == contenders-1 {
					close(release)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ran.Load() != 1 || wins.Load() != 1 {
			t.Errorf("fn ran %d times and %d callers reported true among %d contenders, want 1 and 1",
				ran.Load(), wins.Load(), contenders)
		}
	})

	t.Run("held lock", func(t *testing.T) {
		entered, release := make(chan struct{}), make(chan struct{})
		result := make(chan error, 1)
		go func() {
			ok, err := a.Exclusive(ctx, "sweep", func(context.Context) error {
				close(entered)
				<-release
				return nil
			})
			if err == nil && !ok {
				err = errors.New("the first caller did not run fn")
			}
			result <- err
		}()
		<-entered

		called := false
		fn := func(context.Context) error { called = true; return nil }
		for _, s := range []*postgres.Store{a, b} {
			if ok, err := s.Exclusive(ctx, "sweep", fn); ok || err != nil || called {
				t.Errorf("while held: Exclusive = %v, %v (fn called: %v), want false, nil", ok, err, called)
			}
		}
		// Another name, or the same name in another schema, is not excluded.
		other := newStore(t, pool, postgres.Config{Schema: testdb.NewSchema(t, pool)})
		for _, c := range []struct {
			s    *postgres.Store
			name string
		}{{b, "other"}, {other, "sweep"}} {
			called = false
			if ok, err := c.s.Exclusive(ctx, c.name, fn); !ok || err != nil || !called {
				t.Errorf("Exclusive(%s) in schema %s while sweep is held = %v, %v (fn called: %v), want true, nil",
					c.name, c.s.Schema(), ok, err, called)
			}
		}

		close(release)
		if err := <-result; err != nil {
			t.Fatal(err)
		}
		// Released: a new caller runs, and fn's error comes back.
		boom := errors.New("boom")
		if ok, err := b.Exclusive(ctx, "sweep", func(context.Context) error { return boom }); !ok || !errors.Is(err, boom) {
			t.Errorf("after release: Exclusive = %v, %v, want true, boom", ok, err)
		}
		called = false
		if ok, err := a.Exclusive(ctx, "sweep", fn); !ok || err != nil || !called {
			t.Errorf("after a failed fn: Exclusive = %v, %v (fn called: %v), want true, nil", ok, err, called)
		}
	})
}

// TestWithTx joins a host pgx.Tx: the host's own row and grantkit's commit
// or roll back together.
func TestWithTx(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	s := testdb.OpenPostgres(t, pool, nil)
	host := testdb.NewSchema(t, pool)
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `CREATE SCHEMA "`+host+`"; CREATE TABLE "`+host+`".users (id text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, s)

	hostRows := func(id string) int64 {
		return queryInt(t, pool, `SELECT count(*) FROM "`+host+`".users WHERE id = $1`, id)
	}
	for _, tc := range []struct {
		name   string
		commit bool
	}{{"rollback", false}, {"commit", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ptx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer ptx.Rollback(context.Background())
			user := "user-" + newID()
			if _, err := ptx.Exec(ctx, `INSERT INTO "`+host+`".users (id) VALUES ($1)`, user); err != nil {
				t.Fatal(err)
			}
			tx := s.WithTx(ptx)
			if got, ok := postgres.PgxTx(tx); !ok || got != ptx {
				t.Errorf("PgxTx(WithTx(ptx)) = %v, %v, want the host's tx", got, ok)
			}
			g := grant(cl.ID, user)
			if err := tx.CreateGrant(ctx, g); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.GetGrantForUpdate(ctx, g.ID); err != nil {
				t.Errorf("the grant is not visible inside the host tx: %v", err)
			}
			if _, err := s.GetGrant(ctx, g.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the uncommitted grant is visible outside the host tx: %v", err)
			}
			if tc.commit {
				err = ptx.Commit(ctx)
			} else {
				err = ptx.Rollback(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[bool]int64{false: 0, true: 1}[tc.commit]
			if n := hostRows(user); n != want {
				t.Errorf("host rows after %s = %d, want %d", tc.name, n, want)
			}
			_, err = s.GetGrant(ctx, g.ID)
			if tc.commit && err != nil {
				t.Errorf("grant after commit: %v", err)
			}
			if !tc.commit && !errors.Is(err, store.ErrNotFound) {
				t.Errorf("grant after rollback: %v, want ErrNotFound", err)
			}
		})
	}

	t.Run("InTx exposes its pgx.Tx", func(t *testing.T) {
		// A host row written through PgxTx inside InTx rolls back with
		// grantkit's when fn fails.
		user := "user-" + newID()
		g := grant(cl.ID, user)
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx store.Tx) error {
			ptx, ok := postgres.PgxTx(tx)
			if !ok || ptx == nil {
				return errors.New("PgxTx of an InTx tx reported no pgx.Tx")
			}
			if _, err := ptx.Exec(ctx, `INSERT INTO "`+host+`".users (id) VALUES ($1)`, user); err != nil {
				return err
			}
			if err := tx.CreateGrant(ctx, g); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		if n := hostRows(user); n != 0 {
			t.Errorf("host row survived the rollback")
		}
		if _, err := s.GetGrant(ctx, g.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("grant after rollback: %v, want ErrNotFound", err)
		}
	})

	t.Run("PgxTx of another Tx", func(t *testing.T) {
		if got, ok := postgres.PgxTx(nil); ok || got != nil {
			t.Errorf("PgxTx(nil) = %v, %v, want nil, false", got, ok)
		}
	})
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	for _, tc := range []struct {
		name   string
		schema string
	}{
		{"upper case", "Bad-Schema"},
		{"capital", "Grantkit"},
		{"semicolon", "x;drop"},
		{"injection", `x"; DROP SCHEMA public; --`},
		{"dot", "public.gk"},
		{"leading digit", "1gk"},
		{"space", "gk test"},
		{"too long", strings.Repeat("g", 64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := postgres.New(pool, postgres.Config{Schema: tc.schema}); err == nil {
				t.Errorf("New with schema %q succeeded, want an error", tc.schema)
			}
		})
	}
	t.Run("default", func(t *testing.T) {
		s, err := postgres.New(pool, postgres.Config{})
		if err != nil || s.Schema() != postgres.DefaultSchema || s.Pool() != pool {
			t.Errorf("New with the zero Config = schema %q, %v", s.Schema(), err)
		}
	})
	t.Run("longest", func(t *testing.T) {
		if _, err := postgres.New(pool, postgres.Config{Schema: strings.Repeat("g", 63)}); err != nil {
			t.Errorf("a 63-byte schema name is refused: %v", err)
		}
	})
	t.Run("nil pool", func(t *testing.T) {
		if _, err := postgres.New(nil, postgres.Config{}); err == nil {
			t.Error("New(nil) succeeded")
		}
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	names, err := fs.Glob(postgres.Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names, "001_init.sql") {
		t.Errorf("Migrations() lists %q, want 001_init.sql among them", names)
	}
	ms, err := migration.Load(postgres.Migrations())
	if err != nil {
		t.Fatalf("the embedded migrations do not load: %v", err)
	}
	if len(ms) != len(names) || ms[0].Version != 1 {
		t.Errorf("Load returned %d migrations starting at %d, want %d starting at 1", len(ms), ms[0].Version, len(names))
	}
}

// TestCounter checks the statement counts: a write outside a transaction is
// one statement (no BEGIN/COMMIT), and a rotation is one statement (a
// data-modifying CTE).
func TestCounter(t *testing.T) {
	t.Parallel()
	storetest.TestCounter(t, testdb.Postgres(t), storetest.StatementCounts{Write: 1, Rotate: 1, RotateLost: 1})
}

// TestExclusiveKeepsNoSnapshot checks that holding Exclusive does not hold
// back PostgreSQL's xmin horizon: the lock holder must not pin a snapshot
// while fn runs, or every row updated or deleted anywhere in the database
// during a long sweep stays unprunable until it ends (measured before the
// fix: the refresh rotation's partial index bloated and refresh latency
// under the sweep rose 2–4×).
func TestExclusiveKeepsNoSnapshot(t *testing.T) {
	t.Parallel()
	observer := testdb.Pool(t)
	cfg := observer.Config().Copy()
	app := "gk_exclusive_" + testdb.NewID()
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	holderPool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(holderPool.Close)
	s := newStore(t, holderPool, postgres.Config{Schema: testdb.NewSchema(t, observer)})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	type holder struct {
		State    string
		HasXmin  bool
		Advisory bool
	}
	var got []holder
	ok, err := s.Exclusive(t.Context(), "sweep", func(ctx context.Context) error {
		rows, err := observer.Query(ctx, `SELECT a.state, a.backend_xmin IS NOT NULL,
			EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted)
			FROM pg_stat_activity a WHERE a.application_name = $1 AND a.pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')`, app)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h holder
			if err := rows.Scan(&h.State, &h.HasXmin, &h.Advisory); err != nil {
				return err
			}
			got = append(got, h)
		}
		return rows.Err()
	})
	if !ok || err != nil {
		t.Fatalf("Exclusive = %v, %v", ok, err)
	}
	if len(got) != 1 || got[0].HasXmin || !got[0].Advisory {
		t.Errorf("sessions of the lock holder while fn runs = %+v, want one holding the advisory lock without an xmin", got)
	}
}

// TestCloseLeavesThePool checks the ownership Close documents: it does not
// close the host's pool, which other Stores (and the host) keep using.
func TestCloseLeavesThePool(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	s := testdb.OpenPostgres(t, pool, nil)
	other := newStore(t, pool, postgres.Config{Schema: s.Schema()})
	cl := newClient(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := pool.Ping(t.Context()); err != nil {
		t.Fatalf("the pool is unusable after the Store's Close: %v", err)
	}
	if _, err := other.GetClient(t.Context(), cl.ID); err != nil {
		t.Errorf("another Store on the same pool after Close: %v", err)
	}
	if _, err := s.GetClient(t.Context(), cl.ID); !errors.Is(err, store.ErrClosed) {
		t.Errorf("the closed Store: GetClient = %v, want ErrClosed", err)
	}
}

// TestGrantShareLocksCoexist checks what GetGrantForShare adds on a
// database with concurrent writers: while one transaction holds a grant's
// shared lock, another takes it too (a refresh of another token family of
// the grant does not queue), while GetGrantForUpdate waits.
func TestGrantShareLocksCoexist(t *testing.T) {
	t.Parallel()
	pool := testdb.Pool(t)
	s := newStore(t, pool, postgres.Config{Schema: testdb.NewSchema(t, pool)})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	c := store.Client{ID: "client-" + testdb.NewID(), Name: "Example", RedirectURIs: []string{"https://app.example/cb"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	g := store.Grant{ID: testdb.NewID(), ClientID: c.ID, Subject: "alice", SubjectKind: "user",
		Resource: "https://mcp.example/", RedirectURI: "https://app.example/cb", Status: store.GrantActive,
		CreatedAt: now, ActivatedAt: now}
	if err := s.CreateGrant(t.Context(), g); err != nil {
		t.Fatal(err)
	}

	held, release := make(chan struct{}), make(chan struct{})
	holder := make(chan error, 1)
	go func() {
		holder <- s.InTx(t.Context(), func(tx store.Tx) error {
			if _, err := tx.GetGrantForShare(t.Context(), g.ID); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-holder:
		t.Fatalf("holder ended early: %v", err)
	}
	lockWithin := func(d time.Duration, lock func(store.Tx, context.Context, string) (store.Grant, error)) error {
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		return s.InTx(ctx, func(tx store.Tx) error {
			_, err := lock(tx, ctx, g.ID)
			return err
		})
	}
	if err := lockWithin(10*time.Second, store.Tx.GetGrantForShare); err != nil {
		t.Errorf("GetGrantForShare while another transaction holds the shared lock: %v", err)
	}
	if err := lockWithin(300*time.Millisecond, store.Tx.GetGrantForUpdate); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetGrantForUpdate while the shared lock is held = %v, want it to wait (context.DeadlineExceeded)", err)
	}
	close(release)
	if err := <-holder; err != nil {
		t.Fatalf("holder: %v", err)
	}
	if err := lockWithin(10*time.Second, store.Tx.GetGrantForUpdate); err != nil {
		t.Errorf("GetGrantForUpdate once the shared lock is released: %v", err)
	}
}
