package sqlstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Scanners that read a column the same way from pgx and database/sql.
// Each is a single pointer, so passing one as an interface does not allocate.

// timeCol reads timestamptz (PostgreSQL) or integer Unix microseconds
// (SQLite); NULL reads as the zero time.
type timeCol struct{ dst *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.dst = time.Time{}
	case time.Time:
		*c.dst = v.UTC()
	case int64:
		*c.dst = time.UnixMicro(v).UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}

// textCol reads text or uuid; NULL reads as "".
type textCol struct{ dst *string }

func (c textCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.dst = ""
	case string:
		*c.dst = v
	case []byte:
		*c.dst = string(v)
	case [16]byte: // uuid in binary form
		*c.dst = uuid.UUID(v).String()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a string", src)
	}
	return nil
}

// bytesCol reads a blob into a fresh slice; NULL reads as nil.
type bytesCol struct{ dst *[]byte }

func (c bytesCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.dst = nil
	case []byte:
		*c.dst = append([]byte(nil), v...)
	case string:
		*c.dst = []byte(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into bytes", src)
	}
	return nil
}

// boolCol reads boolean (PostgreSQL) or integer (SQLite).
type boolCol struct{ dst *bool }

func (c boolCol) Scan(src any) error {
	switch v := src.(type) {
	case bool:
		*c.dst = v
	case int64:
		*c.dst = v != 0
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a bool", src)
	}
	return nil
}

// listCol reads a JSON array of strings.
type listCol struct{ dst *[]string }

func (c listCol) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*c.dst = nil
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a list", src)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("sqlstore: list column: %w", err)
	}
	if len(out) == 0 {
		out = nil
	}
	*c.dst = out
	return nil
}

// jsonCol reads a JSON document; NULL reads as nil.
type jsonCol struct{ dst *json.RawMessage }

func (c jsonCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.dst = nil
	case []byte:
		*c.dst = append(json.RawMessage(nil), v...)
	case string:
		*c.dst = json.RawMessage(v)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into JSON", src)
	}
	return nil
}
