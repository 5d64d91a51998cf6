package migration_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/internal/migration"
)

func file(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }

func TestLoad(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		fsys    fstest.MapFS
		want    []migration.Migration
		wantErr string // substring of the error; "" for success
	}{
		{
			name: "empty",
			fsys: fstest.MapFS{},
		},
		{
			name: "ordered by version, not by name",
			fsys: fstest.MapFS{
				"10_ten.sql":    file("TEN"),
				"002_two.sql":   file("TWO"),
				"1_one.sql":     file("ONE"),
				"003_three.sql": file("THREE"),
			},
			want: []migration.Migration{
				{Version: 1, Name: "1_one", SQL: "ONE"},
				{Version: 2, Name: "002_two", SQL: "TWO"},
				{Version: 3, Name: "003_three", SQL: "THREE"},
				{Version: 10, Name: "10_ten", SQL: "TEN"},
			},
		},
		{
			name: "other files and directories ignored",
			fsys: fstest.MapFS{
				"001_init.sql":          file("INIT"),
				"README.md":             file("docs"),
				"002_skip.sql.orig":     file("no"),
				"sub/003_nested.sql":    file("NESTED"),
				"004_dir.sql/005_x.sql": file("X"),
			},
			want: []migration.Migration{{Version: 1, Name: "001_init", SQL: "INIT"}},
		},
		{
			name: "duplicate version",
			fsys: fstest.MapFS{
				"001_init.sql":  file("A"),
				"1_again.sql":   file("B"),
				"002_other.sql": file("C"),
			},
			wantErr: "share version 1",
		},
		{name: "no underscore", fsys: fstest.MapFS{"001.sql": file("A")}, wantErr: "not named NNN_name.sql"},
		{name: "not a number", fsys: fstest.MapFS{"abc_init.sql": file("A")}, wantErr: "not named NNN_name.sql"},
		{name: "zero version", fsys: fstest.MapFS{"000_init.sql": file("A")}, wantErr: "not named NNN_name.sql"},
		{name: "negative version", fsys: fstest.MapFS{"-1_init.sql": file("A")}, wantErr: "not named NNN_name.sql"},
		{name: "empty version", fsys: fstest.MapFS{"_init.sql": file("A")}, wantErr: "not named NNN_name.sql"},
		{
			name:    "one bad name among good ones",
			fsys:    fstest.MapFS{"001_init.sql": file("A"), "2x_bad.sql": file("B")},
			wantErr: `"2x_bad.sql" is not named`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := migration.Load(tc.fsys)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load = %v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadUnreadable checks that a read error is returned, not skipped.
func TestLoadUnreadable(t *testing.T) {
	t.Parallel()
	_, err := migration.Load(brokenFS{fstest.MapFS{"001_init.sql": file("A")}})
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Load of an unreadable file = %v, want fs.ErrPermission", err)
	}
}

// brokenFS lists its files but refuses to read them.
type brokenFS struct{ fstest.MapFS }

func (b brokenFS) Open(name string) (fs.File, error) {
	if name == "." {
		return b.MapFS.Open(name)
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
}

func (b brokenFS) ReadFile(name string) ([]byte, error) {
	return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrPermission}
}

// fakeTx records the statements Apply sends and fails the one naming fail.
type fakeTx struct {
	applied []int
	fail    string
	sent    []string
}

func (f *fakeTx) Exec(_ context.Context, query string, args ...any) error {
	s := query
	if len(args) > 0 {
		s += fmt.Sprintf("%v", []any{args[0], args[1]})
	}
	f.sent = append(f.sent, s)
	if f.fail != "" && strings.Contains(s, f.fail) {
		return errBoom
	}
	return nil
}

func (f *fakeTx) Versions(_ context.Context, query string) ([]int, error) {
	f.sent = append(f.sent, query)
	if f.fail == query {
		return nil, errBoom
	}
	return f.applied, nil
}

var errBoom = errors.New("boom")

var target = migration.Target{
	CreateTable:    "CREATE",
	SelectVersions: "SELECT",
	Record:         "RECORD",
	Rewrite:        func(sql string) string { return strings.ReplaceAll(sql, "gk_", "host_") },
}

func TestApply(t *testing.T) {
	t.Parallel()
	ms := []migration.Migration{
		{Version: 1, Name: "001_init", SQL: "CREATE gk_a"},
		{Version: 2, Name: "002_index", SQL: "INDEX gk_a"},
		{Version: 3, Name: "003_column", SQL: "ALTER gk_a"},
	}
	for _, tc := range []struct {
		name    string
		tx      fakeTx
		want    []string
		wantErr string // substring; "" for success
	}{
		{
			name: "fresh",
			want: []string{"CREATE", "SELECT", "CREATE host_a", "RECORD[1 001_init]", "INDEX host_a", "RECORD[2 002_index]",
				"ALTER host_a", "RECORD[3 003_column]"},
		},
		{
			name: "only the missing ones, in order",
			tx:   fakeTx{applied: []int{2, 1}},
			want: []string{"CREATE", "SELECT", "ALTER host_a", "RECORD[3 003_column]"},
		},
		{
			name: "up to date",
			tx:   fakeTx{applied: []int{1, 2, 3}},
			want: []string{"CREATE", "SELECT"},
		},
		{
			name: "a version this binary does not know is left alone",
			tx:   fakeTx{applied: []int{1, 2, 3, 4}},
			want: []string{"CREATE", "SELECT"},
		},
		{
			name:    "failed migration stops the run",
			tx:      fakeTx{fail: "INDEX"},
			want:    []string{"CREATE", "SELECT", "CREATE host_a", "RECORD[1 001_init]", "INDEX host_a"},
			wantErr: "migration 002_index: boom",
		},
		{
			name:    "failed record stops the run",
			tx:      fakeTx{fail: "RECORD[1"},
			want:    []string{"CREATE", "SELECT", "CREATE host_a", "RECORD[1 001_init]"},
			wantErr: "migration 001_init: recording it: boom",
		},
		{
			name:    "failed table creation",
			tx:      fakeTx{fail: "CREATE"},
			want:    []string{"CREATE"},
			wantErr: "migrations table: boom",
		},
		{
			name:    "failed version read",
			tx:      fakeTx{fail: "SELECT"},
			want:    []string{"CREATE", "SELECT"},
			wantErr: "applied versions: boom",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tx := tc.tx
			err := migration.Apply(t.Context(), &tx, target, ms)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Apply: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, errBoom)):
				t.Fatalf("Apply = %v, want an error wrapping boom containing %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, tx.sent); diff != "" {
				t.Errorf("statements (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApplyWithoutRewrite(t *testing.T) {
	t.Parallel()
	var tx fakeTx
	tg := target
	tg.Rewrite = nil
	if err := migration.Apply(t.Context(), &tx, tg, []migration.Migration{{Version: 1, Name: "001_init", SQL: "CREATE gk_a"}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"CREATE", "SELECT", "CREATE gk_a", "RECORD[1 001_init]"}, tx.sent); diff != "" {
		t.Errorf("statements (-want +got):\n%s", diff)
	}
}
