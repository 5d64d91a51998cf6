package store

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzCursor decodes arbitrary cursors under arbitrary listing scopes.
// DecodeCursor never panics; it refuses with ErrInvalidCursor and nothing
// else, returning no position; a cursor it accepts re-encodes to the same
// position and to the same text. Since a forged digest is out of the fuzzer's reach, each input of
// the right length is also re-sealed with the digest of its scope, so the
// checks after the digest (version, time range) are fuzzed too.
func FuzzCursor(f *testing.F) {
	t0 := time.Date(2026, 3, 14, 15, 9, 26, 123456000, time.UTC)
	const id = "0195b3c4-0000-7000-8000-00000000000a"
	for _, scope := range []string{"", "subject alice\x00tenant acme"} {
		for _, at := range []time.Time{t0, time.Unix(0, 0), time.UnixMicro(minCursorMicros), time.UnixMicro(maxCursorMicros)} {
			s, err := EncodeCursor(scope, Cursor{Time: at, ID: id})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(scope, s)
		}
	}
	f.Add("", "")
	f.Add("s", "not a cursor")
	f.Fuzz(func(t *testing.T, scope, s string) {
		fuzzDecode(t, scope, s)

		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) != cursorLen {
			return
		}
		copy(b[1:9], cursorCheck(scope, b[9:]))
		sealed := base64.RawURLEncoding.EncodeToString(b)
		c, ok := fuzzDecode(t, scope, sealed)
		micros := int64(binary.BigEndian.Uint64(b[9:17]))
		if want := b[0] == 1 && minCursorMicros <= micros && micros <= maxCursorMicros; ok != want {
			t.Fatalf("DecodeCursor(%q, %q) accepted = %v, want %v", scope, sealed, ok, want)
		}
		if !ok {
			return
		}
		if c.Time.UnixMicro() != micros || c.ID != formatUUID(b[17:]) {
			t.Fatalf("DecodeCursor(%q, %q) = %+v, not the position it holds", scope, sealed, c)
		}
		if _, err := DecodeCursor(scope+"\x00", sealed); !errors.Is(err, ErrInvalidCursor) {
			t.Fatalf("cursor %q of scope %q decoded under another scope: %v", sealed, scope, err)
		}
	})
}

// fuzzDecode decodes s under scope and checks FuzzCursor's invariants.
func fuzzDecode(t *testing.T, scope, s string) (Cursor, bool) {
	t.Helper()
	c, err := DecodeCursor(scope, s)
	if err != nil {
		if !errors.Is(err, ErrInvalidCursor) {
			t.Fatalf("DecodeCursor(%q, %q) = %v, not ErrInvalidCursor", scope, s, err)
		}
		if c != (Cursor{}) {
			t.Fatalf("DecodeCursor(%q, %q) refused it (%v) but returned %+v", scope, s, err, c)
		}
		return Cursor{}, false
	}
	again, err := EncodeCursor(scope, c)
	if err != nil {
		t.Fatalf("EncodeCursor(%q, %+v) of a decoded cursor: %v", scope, c, err)
	}
	if again != s {
		t.Fatalf("cursor %q decoded to %+v, which re-encodes to %q", s, c, again)
	}
	back, err := DecodeCursor(scope, again)
	if err != nil || back != c {
		t.Fatalf("re-encoded cursor %q decodes to %+v, %v; want %+v", again, back, err, c)
	}
	return c, true
}

// TestFuzzCursorCorpus checks FuzzCursor's committed seeds: those named
// valid* decode, every other one is refused with ErrInvalidCursor.
func TestFuzzCursorCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzCursor", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no committed FuzzCursor seeds (%v)", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 3 || lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a corpus file of two strings", file)
		}
		var args [2]string
		for i, l := range lines[1:] {
			if args[i], err = strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(l, "string("), ")")); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
		}
		_, err = DecodeCursor(args[0], args[1])
		if valid := strings.HasPrefix(filepath.Base(file), "valid"); valid != (err == nil) {
			t.Errorf("%s: DecodeCursor = %v", file, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("%s: DecodeCursor = %v, not ErrInvalidCursor", file, err)
		}
	}
}
