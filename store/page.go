package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"
)

// Page limits.
const (
	// DefaultPageLimit is the page size used when Page.Limit is zero.
	DefaultPageLimit = 25
	// MaxPageLimit is the largest page size a listing accepts.
	MaxPageLimit = 100
)

// Page asks for one page of a keyset-paginated listing ordered by
// (time DESC, id DESC). Cursor is "" for the first page and otherwise the
// Next value of the previous page.
type Page struct {
	Limit  int
	Cursor string
}

// Normalize returns the page with its limit defaulted and checked.
func (p Page) Normalize() (Page, error) {
	switch {
	case p.Limit == 0:
		p.Limit = DefaultPageLimit
	case p.Limit < 0 || p.Limit > MaxPageLimit:
		return p, fmt.Errorf("%w: page limit %d outside 1..%d", ErrInvalidArgument, p.Limit, MaxPageLimit)
	}
	return p, nil
}

// GrantPage is one page of a session listing. Next is "" on the last page.
type GrantPage struct {
	Items []GrantListing
	Next  string
}

// AuditPage is one page of audit events. Next is "" on the last page.
type AuditPage struct {
	Items []AuditEvent
	Next  string
}

// Cursor is a decoded keyset position: the (time, id) of the last row of the
// previous page.
type Cursor struct {
	Time time.Time
	ID   string
}

// cursor layout: version(1) | check(8) | unix micros(8) | id(16). check is a
// digest of the scope and the position, so a cursor altered in any byte, or
// presented to a listing with another scope, is refused.
const cursorLen = 1 + 8 + 8 + 16

// Cursor times outside years 1..9999 are refused: no row has one, and
// PostgreSQL would fail on some of them instead of matching nothing.
var (
	minCursorMicros = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	maxCursorMicros = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() - 1
)

// EncodeCursor returns the opaque cursor for the keyset position c within the
// listing identified by scope (a string naming the filter, e.g. the subject
// and tenant). A cursor presented to a listing with another scope is refused
// by DecodeCursor, so a cursor cannot be replayed against another listing.
// c.ID must be a UUID.
func EncodeCursor(scope string, c Cursor) (string, error) {
	id, err := parseUUID(c.ID)
	if err != nil {
		return "", err
	}
	b := make([]byte, 9, cursorLen)
	b[0] = 1
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixMicro()))
	b = append(b, id[:]...)
	copy(b[1:9], cursorCheck(scope, b[9:]))
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// DecodeCursor parses a cursor issued by EncodeCursor for the same scope. It
// returns ErrInvalidCursor for anything else; a cursor never reaches SQL as
// text.
func DecodeCursor(scope, s string) (Cursor, error) {
	// Strict and of the exact length: one position has one cursor text
	// (no line breaks, which base64 decoding skips, no trailing bits).
	if len(s) != base64.RawURLEncoding.EncodedLen(cursorLen) {
		return Cursor{}, fmt.Errorf("%w: malformed", ErrInvalidCursor)
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != 1 {
		return Cursor{}, fmt.Errorf("%w: malformed", ErrInvalidCursor)
	}
	if string(b[1:9]) != string(cursorCheck(scope, b[9:])) {
		return Cursor{}, fmt.Errorf("%w: altered or issued for another listing", ErrInvalidCursor)
	}
	micros := int64(binary.BigEndian.Uint64(b[9:17]))
	if micros < minCursorMicros || micros > maxCursorMicros {
		return Cursor{}, fmt.Errorf("%w: time out of range", ErrInvalidCursor)
	}
	return Cursor{Time: time.UnixMicro(micros).UTC(), ID: formatUUID(b[17:])}, nil
}

// cursorCheck digests a listing scope and a keyset position.
func cursorCheck(scope string, position []byte) []byte {
	h := sha256.New()
	h.Write([]byte("grantkit cursor\x00" + scope + "\x00"))
	h.Write(position)
	return h.Sum(nil)[:8]
}

func parseUUID(s string) ([16]byte, error) {
	var id [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("%w: cursor id %q is not a UUID", ErrInvalidArgument, s)
	}
	hex := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	for i := 0; i < 16; i++ {
		hi, ok1 := unhex(hex[2*i])
		lo, ok2 := unhex(hex[2*i+1])
		if !ok1 || !ok2 {
			return id, fmt.Errorf("%w: cursor id %q is not a UUID", ErrInvalidArgument, s)
		}
		id[i] = hi<<4 | lo
	}
	return id, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func formatUUID(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, digits[c>>4], digits[c&0xf])
	}
	return string(out)
}
