// Package form parses application/x-www-form-urlencoded bodies and query
// strings the strict way OAuth 2.0 asks (RFC 6749 §3.1, §3.2): no parameter
// twice, empty values treated as omitted, and no text PostgreSQL would
// refuse (a NUL byte, invalid UTF-8). It is its own package so that its
// fuzz target runs in a small binary.
package form

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Errors of Parse.
var (
	// ErrMalformed reports text that does not parse (a bad percent-escape,
	// a ';' separator) or holds a NUL byte or invalid UTF-8.
	ErrMalformed = errors.New("form: malformed")
	// ErrDuplicate reports a parameter given more than once.
	ErrDuplicate = errors.New("form: parameter given more than once")
)

// Parse parses s strictly: url.ParseQuery's result, refused with
// ErrDuplicate when a name repeats (even with an empty second value) and
// with ErrMalformed when ParseQuery refuses s or a name or value is not
// Clean; empty values are dropped.
func Parse(s string) (url.Values, error) {
	v, err := url.ParseQuery(s)
	if err != nil {
		return nil, ErrMalformed
	}
	for k, vals := range v {
		if len(vals) > 1 {
			return nil, ErrDuplicate
		}
		if !Clean(k) || !Clean(vals[0]) {
			return nil, ErrMalformed
		}
		if vals[0] == "" {
			delete(v, k)
		}
	}
	return v, nil
}

// Clean reports whether s is valid UTF-8 without a NUL byte: PostgreSQL
// text columns refuse both, which would turn bad input into a 500.
func Clean(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
