package testdb

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/store/sqlite"
)

// Tables are grantkit's tables, without the adapter's prefix or schema, in
// the order Snapshot reads them.
var Tables = []string{"clients", "grants", "auth_requests", "auth_codes", "refresh_tokens", "audit_events"}

// Snapshot reads every row of every grantkit table of s (a *sqlite.Store, a
// *postgres.Store, or a wrapper with an Unwrap() store.Store method around
// one), keyed by table name without prefix, rows ordered by id, each row a
// map from column name to value. Values are normalised so that two
// snapshots of an unchanged database compare equal with cmp.Diff, and so
// that both databases show the same shapes: bytes as lower-case hex,
// times (timestamptz, or SQLite's integer microseconds in *_at columns) as
// UTC RFC 3339 with nanoseconds, UUIDs as strings. JSON columns are
// decoded on PostgreSQL and left as text on SQLite.
//
// Take snapshots outside transactions: Snapshot reads through the pool.
func Snapshot(t testing.TB, s store.Store) map[string][]map[string]any {
	t.Helper()
	for {
		u, ok := s.(interface{ Unwrap() store.Store })
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	switch s := s.(type) {
	case *sqlite.Store:
		return snapshotSQLite(t, s)
	case *postgres.Store:
		return snapshotPostgres(t, s)
	default:
		t.Fatalf("testdb.Snapshot: unsupported store %T", s)
		return nil
	}
}

func snapshotSQLite(t testing.TB, s *sqlite.Store) map[string][]map[string]any {
	t.Helper()
	ctx := context.Background()
	out := make(map[string][]map[string]any, len(Tables))
	for _, table := range Tables {
		rows, err := s.DB().QueryContext(ctx, `SELECT * FROM "`+s.Prefix()+table+`" ORDER BY id`)
		if err != nil {
			t.Fatalf("snapshot of %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatalf("snapshot of %s: %v", table, err)
		}
		list := []map[string]any{}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("snapshot of %s: %v", table, err)
			}
			row := make(map[string]any, len(cols))
			for i, c := range cols {
				v := vals[i]
				if n, ok := v.(int64); ok && strings.HasSuffix(c, "_at") {
					v = time.UnixMicro(n)
				}
				row[c] = normalize(v)
			}
			list = append(list, row)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("snapshot of %s: %v", table, err)
		}
		rows.Close()
		out[table] = list
	}
	return out
}

func snapshotPostgres(t testing.TB, s *postgres.Store) map[string][]map[string]any {
	t.Helper()
	ctx := context.Background()
	out := make(map[string][]map[string]any, len(Tables))
	for _, table := range Tables {
		rows, err := s.Pool().Query(ctx, `SELECT * FROM "`+s.Schema()+`".`+table+` ORDER BY id`)
		if err != nil {
			t.Fatalf("snapshot of %s: %v", table, err)
		}
		list := []map[string]any{}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				t.Fatalf("snapshot of %s: %v", table, err)
			}
			row := make(map[string]any, len(vals))
			for i, fd := range rows.FieldDescriptions() {
				row[fd.Name] = normalize(vals[i])
			}
			list = append(list, row)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("snapshot of %s: %v", table, err)
		}
		out[table] = list
	}
	return out
}

// normalize maps a driver value to a comparable, printable one.
func normalize(v any) any {
	switch v := v.(type) {
	case []byte:
		return hex.EncodeToString(v)
	case [16]byte: // pgx decodes uuid columns to [16]byte
		return uuid.UUID(v).String()
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	default:
		return v
	}
}
