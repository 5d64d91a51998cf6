package grant_test

import (
	"testing"

	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

// TestBindingIncludesSubjectKind: a user "42" and an API key "42" are
// different principals. Approving the API key's authorization on the same
// client, tenant, resource and redirect URI leaves the user's grant
// active instead of superseding it, and the active-binding index lets both
// be active.
func TestBindingIncludesSubjectKind(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		c := e.client()
		asUser := request(c.ID, "42")
		asKey := request(c.ID, "42")
		asKey.SubjectKind = "api_key"
		userGrant := e.activeGrant(asUser).Grant
		keyGrant := e.activeGrant(asKey).Grant
		if userGrant.ID == keyGrant.ID {
			t.Fatalf("the API key's authorization reused the user's grant")
		}
		for _, id := range []string{userGrant.ID, keyGrant.ID} {
			if g := e.grant(id); g.Status != store.GrantActive {
				t.Errorf("grant %s (%s %s) is %s (%s), want active", id, g.SubjectKind, g.Subject, g.Status, g.RevokeReason)
			}
		}
		// Within one kind the binding still supersedes.
		again := asUser
		again.Scopes = []string{"read", "write"}
		e.activeGrant(again)
		if g := e.grant(userGrant.ID); g.Status != store.GrantRevoked {
			t.Errorf("the user's old grant is %s after a new approval on its binding, want revoked", g.Status)
		}
		if g := e.grant(keyGrant.ID); g.Status != store.GrantActive {
			t.Errorf("the API key's grant is %s after the user's new approval, want active", g.Status)
		}
	})
}
