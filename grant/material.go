package grant

import (
	"slices"

	"github.com/grantkit/grantkit/store"
)

// ClientChange lists what a client update removed or toggled, the inputs of
// the material-change rule (see MaterialChange).
type ClientChange struct {
	RemovedRedirectURIs  []string `json:"removed_redirect_uris,omitempty"`
	RemovedScopes        []string `json:"removed_scopes,omitempty"`
	RemovedGrantTypes    []string `json:"removed_grant_types,omitempty"`
	RemovedResponseTypes []string `json:"removed_response_types,omitempty"`
	// RefreshToggled is set when the refresh_token grant type was added or
	// removed: tokens issued under the old registration would otherwise
	// keep (or lack) refresh rights the client no longer has (or now has).
	RefreshToggled bool `json:"refresh_toggled,omitempty"`
}

// Material reports whether the change must revoke the client's grants.
func (c ClientChange) Material() bool {
	return len(c.RemovedRedirectURIs)+len(c.RemovedScopes)+len(c.RemovedGrantTypes)+len(c.RemovedResponseTypes) > 0 ||
		c.RefreshToggled
}

// MaterialChange compares a client's metadata before and after an update
// Removing a redirect URI (compared as exact strings, so
// "/callback" → "/callback/" is a removal), a scope, a grant type or a
// response type is material, and so is adding or removing the
// refresh_token grant type. A purely additive change is not.
func MaterialChange(before, after store.Client) ClientChange {
	return ClientChange{
		RemovedRedirectURIs:  removed(before.RedirectURIs, after.RedirectURIs),
		RemovedScopes:        removed(before.Scopes, after.Scopes),
		RemovedGrantTypes:    removed(before.GrantTypes, after.GrantTypes),
		RemovedResponseTypes: removed(before.ResponseTypes, after.ResponseTypes),
		RefreshToggled: slices.Contains(before.GrantTypes, GrantTypeRefreshToken) !=
			slices.Contains(after.GrantTypes, GrantTypeRefreshToken),
	}
}

// removed returns the elements of before missing from after.
func removed(before, after []string) []string {
	var out []string
	for _, s := range before {
		if !slices.Contains(after, s) {
			out = append(out, s)
		}
	}
	return out
}
