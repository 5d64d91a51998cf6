package secret

import (
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, h := New(RefreshPrefix)
		if !strings.HasPrefix(s, RefreshPrefix) {
			t.Fatalf("%q lacks prefix %q", s, RefreshPrefix)
		}
		if got := len(s) - len(RefreshPrefix); got != 43 { // 32 bytes in unpadded base64url
			t.Fatalf("secret body has %d characters, want 43 (256 bits)", got)
		}
		if seen[s] {
			t.Fatalf("duplicate secret %q", s)
		}
		seen[s] = true
		if !Equal(h, s) {
			t.Fatalf("Equal(Hash(s), s) = false")
		}
	}
}

func TestEqual(t *testing.T) {
	s, h := New(CodePrefix)
	tests := []struct {
		name   string
		hash   []byte
		secret string
		want   bool
	}{
		{"match", h, s, true},
		{"other secret", h, s + "x", false},
		{"truncated hash", h[:16], s, false},
		{"nil hash", nil, s, false},
		{"empty secret", Hash(""), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Equal(tc.hash, tc.secret); got != tc.want {
				t.Errorf("Equal = %v, want %v", got, tc.want)
			}
		})
	}
}
