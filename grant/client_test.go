package grant_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
)

// TestRegisterClientRefuses checks that RegisterClient refuses metadata a
// client cannot have (RFC 7591 §2, §3.2.2) with the matching error and
// writes nothing: every table is unchanged.
func TestRegisterClientRefuses(t *testing.T) {
	t.Parallel()
	valid := func() grant.ClientMetadata {
		return grant.ClientMetadata{Name: "App", RedirectURIs: []string{redirectURI}, Scopes: []string{"read"}}
	}
	tests := []struct {
		name string
		mut  func(*grant.ClientMetadata)
		want error
	}{
		{"implicit grant type", func(md *grant.ClientMetadata) { md.GrantTypes = []string{"implicit"} },
			grant.ErrInvalidClientMetadata},
		{"token response type", func(md *grant.ClientMetadata) { md.ResponseTypes = []string{"token"} },
			grant.ErrInvalidClientMetadata},
		{"no redirect URI", func(md *grant.ClientMetadata) { md.RedirectURIs = nil }, grant.ErrInvalidRedirectURI},
		{"scope with a space", func(md *grant.ClientMetadata) { md.Scopes = []string{"read write"} },
			grant.ErrInvalidClientMetadata},
		{"NUL in the name", func(md *grant.ClientMetadata) { md.Name = "App\x00" }, grant.ErrInvalidClientMetadata},
		{"name not UTF-8", func(md *grant.ClientMetadata) { md.Name = "\xff\xfe" }, grant.ErrInvalidClientMetadata},
		{"NUL in the id", func(md *grant.ClientMetadata) { md.ID = "app\x00" }, grant.ErrInvalidClientMetadata},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		before := e.snapshot()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				md := valid()
				tc.mut(&md)
				c, secret, err := e.m.RegisterClient(context.Background(), md)
				if !errors.Is(err, tc.want) {
					t.Errorf("RegisterClient = %v, want %v", err, tc.want)
				}
				if c.ID != "" || secret != "" {
					t.Errorf("RegisterClient returned client %q and a secret with its error", c.ID)
				}
			})
		}
		if d := cmp.Diff(before, e.snapshot()); d != "" {
			t.Errorf("refused registrations changed the store (-before +after):\n%s", d)
		}
	})
}
