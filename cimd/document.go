package cimd

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/grantkit/grantkit/grant"
)

// Token endpoint authentication methods a document may name (RFC 7591
// §2): only none is supported, as grantkit has no JWT client
// authentication, and the shared-secret methods are forbidden by the
// draft.
const (
	authMethodNone          = "none"
	authMethodPrivateKeyJWT = "private_key_jwt"
)

// parseDocument validates a client metadata document fetched from id
// (draft-ietf-oauth-client-id-metadata-document, "Client Metadata
// Document") and returns the metadata grantkit registers: a JSON object
// whose members are matched by their exact names (unknown ones ignored,
// RFC 7591 §2); client_id a string equal to id (simple string
// comparison, RFC 3986 §6.2.1); client_name a non-empty string;
// redirect_uris a non-empty array of strings; grant_types and
// response_types arrays of strings (grantkit's registration checks them,
// as RFC 7591 registration); scope a string of space-separated
// scope-tokens within supported when supported is set, all of supported
// when absent; token_endpoint_auth_method absent or none; no client_secret
// or client_secret_expires_at member (the draft forbids them). Refusals
// wrap ErrInvalidDocument.
func parseDocument(body []byte, id string, supported []string) (grant.ClientMetadata, error) {
	refuse := func(format string, args ...any) (grant.ClientMetadata, error) {
		return grant.ClientMetadata{}, fmt.Errorf("%w: %s", ErrInvalidDocument, fmt.Sprintf(format, args...))
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return refuse("not a JSON object")
	}
	for _, name := range []string{"client_secret", "client_secret_expires_at"} {
		if _, ok := members[name]; ok {
			return refuse("a client metadata document must not hold %s", name)
		}
	}
	var (
		clientID, name, scope, method string
		redirects, grants, responses  []string
		hasScope, hasMethod           bool
	)
	fields := []struct {
		name string
		dst  any
		has  *bool
	}{
		{"client_id", &clientID, nil}, {"client_name", &name, nil}, {"redirect_uris", &redirects, nil},
		{"grant_types", &grants, nil}, {"response_types", &responses, nil},
		{"scope", &scope, &hasScope}, {"token_endpoint_auth_method", &method, &hasMethod},
	}
	for _, f := range fields {
		raw, ok := members[f.name]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return refuse("%s has the wrong type", f.name)
		}
		if f.has != nil {
			*f.has = true
		}
	}
	switch {
	case clientID != id:
		return refuse("client_id %q is not the URL it was fetched from", clip(clientID))
	case name == "":
		return refuse("client_name is required")
	case len(redirects) == 0:
		return refuse("redirect_uris is required")
	case hasMethod && method == authMethodPrivateKeyJWT:
		return refuse("token_endpoint_auth_method private_key_jwt is not supported")
	case hasMethod && method != authMethodNone:
		return refuse("token_endpoint_auth_method %q is not allowed (only none)", clip(method))
	}
	md := grant.ClientMetadata{ID: id, Name: name, RedirectURIs: redirects, GrantTypes: grants,
		ResponseTypes: responses, Dynamic: true}
	switch {
	case !hasScope:
		md.Scopes = slices.Clone(supported)
	case scope != "":
		md.Scopes = strings.Split(scope, " ")
		for _, sc := range md.Scopes {
			if len(supported) > 0 && !slices.Contains(supported, sc) {
				return refuse("scope %q is not supported", clip(sc))
			}
		}
	}
	return md, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// sameClient reports whether registering md would leave stored's
// metadata as it is: the same name and, once grantkit's defaults are
// applied and duplicates dropped, the same redirect URIs, grant types,
// response types and scopes.
func sameClient(storedName string, stored [4][]string, md grant.ClientMetadata) bool {
	grants, responses := md.GrantTypes, md.ResponseTypes
	if len(grants) == 0 {
		grants = []string{grant.GrantTypeAuthorizationCode, grant.GrantTypeRefreshToken}
	}
	if len(responses) == 0 {
		responses = []string{grant.ResponseTypeCode}
	}
	want := [4][]string{dedupe(md.RedirectURIs), dedupe(grants), dedupe(responses), dedupe(md.Scopes)}
	if storedName != md.Name {
		return false
	}
	for i := range want {
		if !slices.Equal(want[i], stored[i]) && !(len(want[i]) == 0 && len(stored[i]) == 0) {
			return false
		}
	}
	return true
}

func dedupe(v []string) []string {
	out := make([]string, 0, len(v))
	for _, s := range v {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
