package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/grantkit/grantkit/grant"
)

// WellKnownMetadata is the well-known URI suffix of authorization server
// metadata (RFC 8414 §3).
const WellKnownMetadata = "/.well-known/oauth-authorization-server"

// Cache lifetimes of the public documents. Keys rotate without notice to
// the resource servers (token.KeySet.Rotate signs with the new key at
// once), so the JWKS is cached briefly; verifiers refetch on an unknown
// kid.
const (
	metadataMaxAge = "max-age=3600"
	jwksMaxAge     = "max-age=300"
)

// serverMetadata is the authorization server metadata document (RFC 8414
// §2, RFC 9207 §3).
type serverMetadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint,omitempty"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	RegistrationEndpoint                       string   `json:"registration_endpoint,omitempty"`
	ScopesSupported                            []string `json:"scopes_supported,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseISSParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	// ClientIDMetadataDocumentSupported is draft-ietf-oauth-client-id-
	// metadata-document's server metadata, sent only when true.
	ClientIDMetadataDocumentSupported bool `json:"client_id_metadata_document_supported,omitempty"`
}

// Client authentication methods (RFC 7591 §2 token_endpoint_auth_method).
const (
	AuthMethodNone  = "none"
	AuthMethodBasic = "client_secret_basic"
	AuthMethodPost  = "client_secret_post"
)

// MetadataPath is the path of the metadata document: the well-known suffix
// inserted before the issuer's path, whose terminating '/' is removed (RFC
// 8414 §3.1), e.g. /.well-known/oauth-authorization-server/tenant1 for
// issuer https://auth.example/tenant1. Mount serves it there; a host that
// mounts the other endpoints under the issuer's path must route this one
// from the host's root.
func (h *Handler) MetadataPath() string {
	u, err := url.Parse(h.cfg.Issuer)
	if err != nil { // New checked the issuer
		return WellKnownMetadata
	}
	return WellKnownMetadata + strings.TrimSuffix(u.EscapedPath(), "/")
}

// Metadata returns the authorization server metadata endpoint (RFC 8414
// §3): GET or HEAD, a JSON document naming the issuer exactly as configured
// and every endpoint (issuer + Paths), S256 as the only PKCE method (RFC
// 7636 §4.2), authorization_response_iss_parameter_supported (RFC 9207
// §3), and client_id_metadata_document_supported when
// Config.ClientIDMetadata is set. It is public and cacheable
// (Cache-Control: public).
func (h *Handler) Metadata() http.Handler {
	auth := []string{AuthMethodNone, AuthMethodBasic, AuthMethodPost}
	doc := serverMetadata{
		Issuer:                                 h.cfg.Issuer,
		AuthorizationEndpoint:                  h.issuer + h.paths.Authorize,
		TokenEndpoint:                          h.issuer + h.paths.Token,
		JWKSURI:                                h.issuer + h.paths.JWKS,
		RegistrationEndpoint:                   h.issuer + h.paths.Registration,
		ScopesSupported:                        h.cfg.ScopesSupported,
		ResponseTypesSupported:                 []string{grant.ResponseTypeCode},
		ResponseModesSupported:                 []string{"query"},
		GrantTypesSupported:                    []string{grant.GrantTypeAuthorizationCode, grant.GrantTypeRefreshToken},
		TokenEndpointAuthMethodsSupported:      auth,
		RevocationEndpoint:                     h.issuer + h.paths.Revocation,
		RevocationEndpointAuthMethodsSupported: auth,
		IntrospectionEndpoint:                  h.issuer + h.paths.Introspection,
		// RFC 7662 §2.1: introspection requires authorization; a public
		// client has none to offer.
		IntrospectionEndpointAuthMethodsSupported:  []string{AuthMethodBasic, AuthMethodPost},
		CodeChallengeMethodsSupported:              []string{grant.CodeChallengeS256},
		AuthorizationResponseISSParameterSupported: true,
		ClientIDMetadataDocumentSupported:          h.cfg.ClientIDMetadata != nil,
	}
	// Only what Mount serves is advertised: no authorization endpoint
	// without an Authorizer, no registration endpoint when disabled.
	if h.cfg.Authorizer == nil {
		doc.AuthorizationEndpoint = ""
	}
	if h.cfg.DisableRegistration {
		doc.RegistrationEndpoint = ""
	}
	return h.public(endpointMetadata, metadataMaxAge, func() any { return doc })
}

// JWKS returns the JWK Set endpoint (RFC 7517 §5) the metadata's jwks_uri
// names: GET or HEAD, the Minter's public keys, current first
// (token.KeySet.JWKS, which never holds private material), read on every
// request so a rotation shows at once; cacheable briefly.
func (h *Handler) JWKS() http.Handler {
	keys := h.minter.Keys()
	return h.public(endpointJWKS, jwksMaxAge, func() any { return keys.JWKS() })
}

// public serves the JSON document doc returns to GET and HEAD, with
// Cache-Control: public and maxAge and, being public, to any origin (CORS *); other methods get 405 (not cached).
func (h *Handler) public(endpoint, maxAge string, doc func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Cache-Control", "no-store")
			h.writeError(w, r, endpoint, ErrMethodNotAllowed)
			return
		}
		w.Header().Set("Cache-Control", "public, "+maxAge)
		w.Header().Set("Access-Control-Allow-Origin", "*") // public documents; browser-based clients discover too
		writeJSON(w, http.StatusOK, doc())
	})
}
