package migration_test

import (
	"errors"
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
