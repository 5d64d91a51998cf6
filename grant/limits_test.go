package grant_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

// scopes returns n distinct scope values of the given length (at least 4).
func scopes(n, length int) []string {
	out := make([]string, n)
	for i := range out {
		s := fmt.Sprintf("s%03d", i)
		out[i] = s + strings.Repeat("x", length-len(s))
	}
	return out
}

// redirectURIs returns n distinct https redirect URIs.
func redirectURIs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("https://app.example/cb%d", i)
	}
	return out
}

// TestClientLimits checks the length limits of RegisterClient and
// UpdateClient (RFC 7591 §2): at the limit accepted, one past it refused
// with ErrInvalidClientMetadata (ErrInvalidRedirectURI for a redirect URI's
// length, RFC 7591 §3.2.2) and a message naming the limit, without
// changing any table.
func TestClientLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mut  func(*grant.ClientMetadata)
		want error
		msg  string
	}{
		{"name at the limit", func(md *grant.ClientMetadata) {
			md.Name = strings.Repeat("n", grant.MaxClientNameLength)
		}, nil, ""},
		{"name too long", func(md *grant.ClientMetadata) {
			md.Name = strings.Repeat("n", grant.MaxClientNameLength+1)
		}, grant.ErrInvalidClientMetadata, "client name is 201 bytes"},
		{"multi-byte name too long", func(md *grant.ClientMetadata) {
			md.Name = strings.Repeat("\u00e9", grant.MaxClientNameLength/2+1)
		}, grant.ErrInvalidClientMetadata, "client name"},
		{"redirect URIs at the limit", func(md *grant.ClientMetadata) {
			md.RedirectURIs = redirectURIs(grant.MaxRedirectURIs)
		}, nil, ""},
		{"too many redirect URIs", func(md *grant.ClientMetadata) {
			md.RedirectURIs = redirectURIs(grant.MaxRedirectURIs + 1)
		}, grant.ErrInvalidClientMetadata, "21 redirect URIs, more than 20"},
		{"too many redirect URIs, duplicates", func(md *grant.ClientMetadata) {
			md.RedirectURIs = make([]string, grant.MaxRedirectURIs+1)
			for i := range md.RedirectURIs {
				md.RedirectURIs[i] = redirectURI
			}
		}, grant.ErrInvalidClientMetadata, "redirect URIs, more than"},
		{"redirect URI too long", func(md *grant.ClientMetadata) {
			md.RedirectURIs = []string{"https://app.example/" + strings.Repeat("a", grant.MaxRedirectURILength-19)}
		}, grant.ErrInvalidRedirectURI, "longer than 1024 bytes"},
		{"scopes at the limit", func(md *grant.ClientMetadata) {
			md.Scopes = scopes(grant.MaxScopes, grant.MaxScopeLength)
		}, nil, ""},
		{"too many scopes", func(md *grant.ClientMetadata) {
			md.Scopes = scopes(grant.MaxScopes+1, 8)
		}, grant.ErrInvalidClientMetadata, "101 scopes, more than 100"},
		{"scope too long", func(md *grant.ClientMetadata) {
			md.Scopes = []string{"read", strings.Repeat("s", grant.MaxScopeLength+1)}
		}, grant.ErrInvalidClientMetadata, "scope is 257 bytes, longer than 256"},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		updated := e.client()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				md := grant.ClientMetadata{Name: "App", RedirectURIs: []string{redirectURI}, Scopes: []string{"read"}}
				tc.mut(&md)
				check := func(op string, err error, before map[string][]map[string]any) {
					t.Helper()
					if !is(err, tc.want) || (err != nil && !strings.Contains(err.Error(), tc.msg)) {
						t.Errorf("%s = %v, want %v naming %q", op, err, tc.want, tc.msg)
					}
					if tc.want != nil {
						if d := cmp.Diff(before, e.snapshot()); d != "" {
							t.Errorf("refused %s changed the store (-before +after):\n%s", op, d)
						}
					}
				}
				before := e.snapshot()
				_, _, err := e.m.RegisterClient(ctx, md)
				check("RegisterClient", err, before)
				before = e.snapshot()
				_, _, err = e.m.UpdateClient(ctx, updated.ID, md, "admin")
				check("UpdateClient", err, before)
			})
		}
	})
}

// TestRequestLimits checks the length limits of an authorization request
// (RFC 6749 §4.1.1) at Start and CheckRequest: at the limit accepted, one
// past it refused — ErrInvalidScope for the scope values (RFC 6749
// §4.1.2.1 invalid_scope), ErrInvalidRequest for state and context — with
// a message naming the limit, and no grant or request row written.
func TestRequestLimits(t *testing.T) {
	t.Parallel()
	registered := scopes(grant.MaxScopes, 16)
	tests := []struct {
		name string
		mut  func(*grant.AuthorizationRequest)
		want error
		msg  string
	}{
		{"scopes at the limit", func(r *grant.AuthorizationRequest) { r.Scopes = registered }, nil, ""},
		{"too many scope values, one repeated", func(r *grant.AuthorizationRequest) {
			r.Scopes = append(append([]string{}, registered...), registered[0])
		}, grant.ErrInvalidScope, "101 scope values, more than 100"},
		{"many repeats of one scope", func(r *grant.AuthorizationRequest) {
			r.Scopes = make([]string, 10000)
			for i := range r.Scopes {
				r.Scopes[i] = registered[0]
			}
		}, grant.ErrInvalidScope, "10000 scope values"},
		{"scope value too long", func(r *grant.AuthorizationRequest) {
			r.Scopes = []string{strings.Repeat("s", grant.MaxScopeLength+1)}
		}, grant.ErrInvalidScope, "scope value is 257 bytes, longer than 256"},
		{"state at the limit", func(r *grant.AuthorizationRequest) {
			r.State = strings.Repeat("s", grant.MaxStateLength)
		}, nil, ""},
		{"state too long", func(r *grant.AuthorizationRequest) {
			r.State = strings.Repeat("s", grant.MaxStateLength+1)
		}, grant.ErrInvalidRequest, "state is 2049 bytes, longer than 2048"},
		{"context at the limit", func(r *grant.AuthorizationRequest) {
			r.Context = jsonOfSize(grant.MaxContextBytes)
		}, nil, ""},
		{"context too long", func(r *grant.AuthorizationRequest) {
			r.Context = jsonOfSize(grant.MaxContextBytes + 1)
		}, grant.ErrInvalidRequest, "context is 16385 bytes of JSON, more than 16384"},
		{"subject too long", func(r *grant.AuthorizationRequest) {
			r.Subject = strings.Repeat("s", grant.MaxIdentifierLength+1)
		}, grant.ErrInvalidRequest, "subject is 257 bytes, longer than 256"},
		{"subject kind too long", func(r *grant.AuthorizationRequest) {
			r.SubjectKind = strings.Repeat("k", grant.MaxIdentifierLength+1)
		}, grant.ErrInvalidRequest, "subject kind is 257 bytes"},
		{"tenant too long", func(r *grant.AuthorizationRequest) {
			r.Tenant = strings.Repeat("t", grant.MaxIdentifierLength+1)
		}, grant.ErrInvalidRequest, "tenant is 257 bytes"},
		{"resource too long", func(r *grant.AuthorizationRequest) {
			r.Resource = "https://api.example/" + strings.Repeat("r", grant.MaxResourceLength-19)
		}, grant.ErrInvalidRequest, "resource is 513 bytes, longer than 512"},
		{"context too long before compaction", func(r *grant.AuthorizationRequest) {
			r.Context = json.RawMessage(`{"k": "v"}` + strings.Repeat(" ", grant.MaxContextBytes))
		}, grant.ErrInvalidRequest, "more than 16384"},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client(func(md *grant.ClientMetadata) { md.Scopes = registered })
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req := request(c.ID, fmt.Sprintf("user-%d", i))
				req.Scopes = registered[:1]
				tc.mut(&req)
				if err := grant.CheckRequest(c, req); !is(err, tc.want) {
					t.Errorf("CheckRequest = %v, want %v", err, tc.want)
				}
				before := e.snapshot()
				a, err := e.m.Start(ctx, req)
				if !is(err, tc.want) || (err != nil && !strings.Contains(err.Error(), tc.msg)) {
					t.Errorf("Start = %v, want %v naming %q", err, tc.want, tc.msg)
				}
				if tc.want != nil {
					if d := cmp.Diff(before, e.snapshot()); d != "" {
						t.Errorf("refused Start changed the store (-before +after):\n%s", d)
					}
					return
				}
				if err == nil && a.Request.State != req.State {
					t.Errorf("stored state of %d bytes, want %d", len(a.Request.State), len(req.State))
				}
			})
		}
	})
}

// TestBindingAtItsLimits: a grant whose binding has every field at its
// length limit — a client id, subject, subject kind and tenant of
// MaxIdentifierLength, a resource of MaxResourceLength, a redirect URI of
// MaxRedirectURILength — is started and activated on both databases: the
// limits keep it within PostgreSQL's unique index, so no accepted input
// ends as a server error.
func TestBindingAtItsLimits(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		// Random text: PostgreSQL compresses index entries, so repeated
		// characters would fit whatever the limits.
		uri := "https://app.example/" + noise(grant.MaxRedirectURILength-20)
		c := e.client(func(md *grant.ClientMetadata) {
			md.ID = noise(grant.MaxIdentifierLength)
			md.RedirectURIs = []string{uri}
		})
		req := request(c.ID, noise(grant.MaxIdentifierLength))
		req.SubjectKind = noise(grant.MaxIdentifierLength)
		req.Tenant = noise(grant.MaxIdentifierLength)
		req.Resource = "https://api.example/" + noise(grant.MaxResourceLength-20)
		req.RedirectURI = uri
		if g := e.activeGrant(req).Grant; g.Status != store.GrantActive {
			t.Fatalf("grant at the limits is %s, want active", g.Status)
		}
	})
}

// noise returns n bytes of random base32 text, which does not compress.
func noise(n int) string {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(rand.Text())
	}
	return b.String()[:n]
}

// jsonOfSize returns a compact JSON object of exactly n bytes (n >= 9).
func jsonOfSize(n int) json.RawMessage {
	return json.RawMessage(`{"k":"` + strings.Repeat("v", n-8) + `"}`)
}

// TestJSONOfSize checks the helper the context limit cases rely on.
func TestJSONOfSize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{9, grant.MaxContextBytes} {
		if b := jsonOfSize(n); len(b) != n || !json.Valid(b) {
			t.Errorf("jsonOfSize(%d) is %d bytes, valid %v", n, len(b), json.Valid(b))
		}
	}
}
