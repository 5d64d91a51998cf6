package grant_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

const (
	cb  = "https://app.example/cb"
	alt = "https://app.example/alt"
)

var (
	codeOnly     = []string{grant.GrantTypeAuthorizationCode}
	codeRefresh  = []string{grant.GrantTypeAuthorizationCode, grant.GrantTypeRefreshToken}
	readWrite    = []string{"read", "write"}
	responseCode = []string{grant.ResponseTypeCode}
)

// materialCases are client updates with the outcome SPEC §3 prescribes.
// before is the stored registration (written straight to the store, so it
// may hold values grantkit would not register today); update is what
// UpdateClient receives.
var materialCases = []struct {
	name   string
	before store.Client
	update grant.ClientMetadata
	want   grant.ClientChange
	revoke bool
}{
	{
		name:   "no change",
		update: grant.ClientMetadata{RedirectURIs: []string{cb, alt}, Scopes: readWrite, GrantTypes: codeRefresh},
	},
	{
		name:   "name change only",
		update: grant.ClientMetadata{Name: "Renamed", RedirectURIs: []string{cb, alt}, Scopes: readWrite},
	},
	{
		name:   "lists reordered",
		update: grant.ClientMetadata{RedirectURIs: []string{alt, cb}, Scopes: []string{"write", "read"}, GrantTypes: []string{grant.GrantTypeRefreshToken, grant.GrantTypeAuthorizationCode}},
	},
	{
		name:   "redirect URI removed",
		update: grant.ClientMetadata{RedirectURIs: []string{cb}, Scopes: readWrite},
		want:   grant.ClientChange{RemovedRedirectURIs: []string{alt}},
		revoke: true,
	},
	{
		name:   "trailing slash added: /cb → /cb/ removes /cb",
		update: grant.ClientMetadata{RedirectURIs: []string{cb + "/", alt}, Scopes: readWrite},
		want:   grant.ClientChange{RemovedRedirectURIs: []string{cb}},
		revoke: true,
	},
	{
		name:   "host case changed: exact string compare",
		update: grant.ClientMetadata{RedirectURIs: []string{"https://App.example/cb", alt}, Scopes: readWrite},
		want:   grant.ClientChange{RemovedRedirectURIs: []string{cb}},
		revoke: true,
	},
	{
		name:   "redirect URI added only",
		update: grant.ClientMetadata{RedirectURIs: []string{cb, alt, "https://app.example/new"}, Scopes: readWrite},
	},
	{
		name:   "scope removed",
		update: grant.ClientMetadata{RedirectURIs: []string{cb, alt}, Scopes: []string{"read"}},
		want:   grant.ClientChange{RemovedScopes: []string{"write"}},
		revoke: true,
	},
	{
		name:   "scope added",
		update: grant.ClientMetadata{RedirectURIs: []string{cb, alt}, Scopes: []string{"read", "write", "admin"}},
	},
	{
		name:   "refresh_token grant type added",
		before: store.Client{GrantTypes: codeOnly},
		update: grant.ClientMetadata{RedirectURIs: []string{cb, alt}, Scopes: readWrite, GrantTypes: codeRefresh},
		want:   grant.ClientChange{RefreshToggled: true},
		revoke: true,
	},
	{
		name:   "refresh_token grant type removed",
		update: grant.ClientMetadata{RedirectURIs: []string{cb, alt}, Scopes: readWrite, GrantTypes: codeOnly},
		want:   grant.ClientChange{RemovedGrantTypes: []string{grant.GrantTypeRefreshToken}, RefreshToggled: true},
		revoke: true,
	},
	{
		name: "other grant type removed",
		before: store.Client{GrantTypes: []string{grant.GrantTypeAuthorizationCode, grant.GrantTypeRefreshToken,
			"urn:ietf:params:oauth:grant-type:device_code"}},
		update: grant.ClientMetadata{RedirectURIs: []string{cb, alt}, Scopes: readWrite},
		want:   grant.ClientChange{RemovedGrantTypes: []string{"urn:ietf:params:oauth:grant-type:device_code"}},
		revoke: true,
	},
	{
		name:   "response type removed",
		before: store.Client{ResponseTypes: []string{grant.ResponseTypeCode, "none"}},
		update: grant.ClientMetadata{RedirectURIs: []string{cb, alt}, Scopes: readWrite, ResponseTypes: responseCode},
		want:   grant.ClientChange{RemovedResponseTypes: []string{"none"}},
		revoke: true,
	},
	{
		name:   "everything removed at once",
		update: grant.ClientMetadata{RedirectURIs: []string{alt}, Scopes: []string{"write"}, GrantTypes: codeOnly},
		want: grant.ClientChange{RemovedRedirectURIs: []string{cb}, RemovedScopes: []string{"read"},
			RemovedGrantTypes: []string{grant.GrantTypeRefreshToken}, RefreshToggled: true},
		revoke: true,
	},
}

// withDefaults fills the zero fields of a case's stored registration.
func withDefaults(c store.Client) store.Client {
	if c.RedirectURIs == nil {
		c.RedirectURIs = []string{cb, alt}
	}
	if c.Scopes == nil {
		c.Scopes = readWrite
	}
	if c.GrantTypes == nil {
		c.GrantTypes = codeRefresh
	}
	if c.ResponseTypes == nil {
		c.ResponseTypes = responseCode
	}
	return c
}

// TestMaterialChange runs every case through the pure rule and through
// UpdateClient on a client holding an active grant (and a pending one):
// a material change revokes both with reason client_changed, anything else
// keeps them; a client.changed audit event records the change either way.
func TestMaterialChange(t *testing.T) {
	t.Parallel()
	if len(materialCases) < 10 {
		t.Fatalf("only %d cases", len(materialCases))
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range materialCases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, db)
				before := withDefaults(tt.before)
				before.ID, before.Name, before.CreatedAt, before.UpdatedAt = "client-1", "Before", t0, t0
				if err := e.s.CreateClient(ctx, before); err != nil {
					t.Fatal(err)
				}
				activeGrant := e.activeGrant(request(before.ID, "alice")).Grant
				pendingGrant := e.start(request(before.ID, "bob")).Grant
				e.clk.Advance(time.Minute)

				updated, revoked, err := e.m.UpdateClient(ctx, before.ID, tt.update, "admin")
				if err != nil {
					t.Fatalf("UpdateClient: %v", err)
				}
				change := grant.MaterialChange(before, updated)
				if diff := cmp.Diff(tt.want, change, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("MaterialChange (-want +got):\n%s", diff)
				}
				if change.Material() != tt.revoke {
					t.Errorf("Material() = %v, want %v", change.Material(), tt.revoke)
				}

				stored, err := e.s.GetClient(ctx, before.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(updated, stored); diff != "" {
					t.Errorf("stored client differs from the returned one (-returned +stored):\n%s", diff)
				}

				wantStatus, wantReason, wantRevoked := store.GrantActive, "", 0
				if tt.revoke {
					wantStatus, wantReason, wantRevoked = store.GrantRevoked, grant.ReasonClientChanged, 2
				}
				if len(revoked) != wantRevoked {
					t.Errorf("UpdateClient revoked %d grants, want %d", len(revoked), wantRevoked)
				}
				for _, g := range []store.Grant{activeGrant, pendingGrant} {
					got := e.grant(g.ID)
					if tt.revoke {
						if got.Status != store.GrantRevoked || got.RevokeReason != wantReason {
							t.Errorf("grant %s: status %s reason %q, want %s %q", g.Subject, got.Status, got.RevokeReason, wantStatus, wantReason)
						}
					} else if got.Status != g.Status {
						t.Errorf("grant %s: status %s, want it kept %s", g.Subject, got.Status, g.Status)
					}
				}

				events := rowsOfType(e.snapshot(), grant.EventClientChanged)
				if len(events) != 1 {
					t.Fatalf("%d client.changed events, want 1", len(events))
				}
				if events[0]["client_id"] != before.ID || events[0]["actor"] != "admin" {
					t.Errorf("client.changed event = %v", events[0])
				}
				var details struct {
					Change  grant.ClientChange `json:"change"`
					Revoked int                `json:"revoked_grants"`
				}
				if err := json.Unmarshal(detailsJSON(t, events[0]["details"]), &details); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, details.Change, cmpopts.EquateEmpty()); diff != "" || details.Revoked != wantRevoked {
					t.Errorf("client.changed details: revoked %d, change (-want +got):\n%s", details.Revoked, diff)
				}
			})
		}
	})
}

// detailsJSON returns a snapshot's details value as JSON: text on SQLite,
// decoded JSON on PostgreSQL.
func detailsJSON(t *testing.T, v any) []byte {
	t.Helper()
	if s, ok := v.(string); ok {
		return []byte(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
