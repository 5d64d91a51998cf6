package form

import (
	"encoding/base64"
	"errors"
	"net/url"
	"testing"
)

// FuzzParse checks Parse against url.ParseQuery: it refuses what
// ParseQuery refuses, it refuses only with ErrMalformed or
// ErrDuplicate, and what it accepts is ParseQuery's result with
// one clean (UTF-8, NUL-free) non-empty value per name and empty values
// dropped.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"grant_type=authorization_code&code=gk_ac_x&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_verifier=abc",
		"grant_type=refresh_token&refresh_token=gk_rt_x&scope=read+write",
		"a=1&a=2", "a=1&a=", "a=&b=2", "a", "=", "&&", "a=%zz", "a=%00", "a%00=1", "a=%ff", "a=1;b=2",
		"token=x&token_type_hint=refresh_token", "", "%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Parse(s)
		ref, refErr := url.ParseQuery(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrDuplicate) {
				t.Fatalf("Parse(%q) = %v: not a refusal of bad input", s, err)
			}
			return
		}
		if refErr != nil {
			t.Fatalf("Parse(%q) accepted what url.ParseQuery refuses: %v", s, refErr)
		}
		for k, vals := range ref {
			if len(vals) != 1 {
				t.Fatalf("Parse(%q) accepted %q given %d times", s, k, len(vals))
			}
			if vals[0] == "" {
				if got.Has(k) {
					t.Fatalf("Parse(%q) kept the empty %q", s, k)
				}
				continue
			}
			if !Clean(k) || !Clean(vals[0]) {
				t.Fatalf("Parse(%q) accepted an unclean %q=%q", s, k, vals[0])
			}
			if g := got[k]; len(g) != 1 || g[0] != vals[0] {
				t.Fatalf("Parse(%q)[%q] = %q, want %q", s, k, g, vals[0])
			}
		}
		if len(got) > len(ref) {
			t.Fatalf("Parse(%q) invented parameters: %v", s, got)
		}
	})
}

// FuzzParseBasic checks ParseBasic against an independent encoder: what
// it accepts re-encodes (form-urlencoded, base64) to a header it parses to
// the same id and secret, and it never accepts an empty or unclean id.
func FuzzParseBasic(f *testing.F) {
	for _, s := range []string{
		"Basic " + base64.StdEncoding.EncodeToString([]byte("client:secret")),
		"basic " + base64.StdEncoding.EncodeToString([]byte("a%3Ab:c%25d")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte(":nosecret")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("id:%zz")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("id%00:x")),
		"Basic %%%", "Bearer abc", "Basic", "Basic  Og==",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		id, secret, ok := ParseBasic(h)
		if !ok {
			if id != "" || secret != "" {
				t.Fatalf("ParseBasic(%q) refused but returned %q, %q", h, id, secret)
			}
			return
		}
		if id == "" || !Clean(id) || !Clean(secret) {
			t.Fatalf("ParseBasic(%q) accepted id %q, secret %q", h, id, secret)
		}
		again := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
		id2, secret2, ok2 := ParseBasic(again)
		if !ok2 || id2 != id || secret2 != secret {
			t.Fatalf("round trip of %q, %q through %q gave %q, %q, %v", id, secret, again, id2, secret2, ok2)
		}
	})
}
