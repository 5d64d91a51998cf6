package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// WellKnownProtectedResource is the well-known URI suffix of protected
// resource metadata (RFC 9728 §3).
const WellKnownProtectedResource = "/.well-known/oauth-protected-resource"

// ProtectedResourceConfig describes a protected resource (RFC 9728 §2).
type ProtectedResourceConfig struct {
	// Resource is the resource identifier (RFC 9728 §1.2), the aud of its
	// tokens (the Verifier's Resource): an absolute https URL (http only
	// for a loopback host) without query or fragment. Required.
	Resource string
	// AuthorizationServers are the issuer identifiers (RFC 8414 §2) of
	// the authorization servers that issue tokens for the resource; at
	// least one, since that is how a client finds where to authorize.
	AuthorizationServers []string
	// ScopesSupported are the scopes a client may request for the
	// resource (RECOMMENDED); optional.
	ScopesSupported []string
	// JWKSURI is the URL of the resource's own JSON Web Key Set, for
	// signed responses (RFC 9728 §2 jwks_uri); optional, and unrelated to
	// the authorization server's keys.
	JWKSURI string
	// ResourceName is a human-readable name to show users; optional.
	ResourceName string
}

// resourceBody is the metadata document (RFC 9728 §2).
type resourceBody struct {
	Resource               string   `json:"resource"`
	AuthorizationServers   []string `json:"authorization_servers"`
	ScopesSupported        []string `json:"scopes_supported,omitempty"`
	BearerMethodsSupported []string `json:"bearer_methods_supported"`
	JWKSURI                string   `json:"jwks_uri,omitempty"`
	ResourceName           string   `json:"resource_name,omitempty"`
}

// ProtectedResource serves a resource's protected resource metadata
// (RFC 9728 §3). Build it with NewProtectedResource; it is immutable and
// safe for concurrent use.
type ProtectedResource struct {
	body []byte
	path string
	url  string
}

// NewProtectedResource checks cfg and returns its metadata handler. The
// document advertises bearer_methods_supported ["header"]: Bearer reads
// tokens from the Authorization header only (RFC 6750 §2.1).
func NewProtectedResource(cfg ProtectedResourceConfig) (*ProtectedResource, error) {
	u, err := url.Parse(cfg.Resource)
	if err != nil || checkURL(cfg.Resource) != nil || u.RawQuery != "" || u.ForceQuery || u.RawPath != "" ||
		strings.Trim(u.Path, pathChars) != "" {
		return nil, fmt.Errorf("httpapi: Resource %q must be an https URL without query, fragment or escapes (RFC 9728 §1.2)", cfg.Resource)
	}
	if len(cfg.AuthorizationServers) == 0 {
		return nil, errors.New("httpapi: ProtectedResourceConfig needs at least one authorization server")
	}
	for _, as := range cfg.AuthorizationServers {
		v, err := url.Parse(as)
		if err != nil || checkURL(as) != nil || v.RawQuery != "" || v.ForceQuery {
			return nil, fmt.Errorf("httpapi: authorization server %q is not an issuer identifier (RFC 8414 §2)", as)
		}
	}
	for _, s := range cfg.ScopesSupported {
		if !scopeToken(s) {
			return nil, fmt.Errorf("httpapi: %q is not a scope token (RFC 6749 §3.3)", s)
		}
	}
	if cfg.JWKSURI != "" && checkURL(cfg.JWKSURI) != nil {
		return nil, fmt.Errorf("httpapi: JWKSURI %q is not an https URL", cfg.JWKSURI)
	}
	body, err := json.Marshal(resourceBody{Resource: cfg.Resource, AuthorizationServers: cfg.AuthorizationServers,
		ScopesSupported: cfg.ScopesSupported, BearerMethodsSupported: []string{"header"}, JWKSURI: cfg.JWKSURI,
		ResourceName: cfg.ResourceName})
	if err != nil {
		return nil, err
	}
	// RFC 9728 §3.1: the well-known suffix goes between the host and the
	// path, without a terminating slash after the host.
	path := WellKnownProtectedResource
	if rest := strings.TrimPrefix(u.Path, "/"); rest != "" {
		path += "/" + rest
	}
	return &ProtectedResource{body: append(body, '\n'), path: path, url: u.Scheme + "://" + u.Host + path}, nil
}

// pathChars are the characters a resource path may hold: RFC 3986's
// unreserved, sub-delims, ':', '@' and '/', so that the metadata path is
// one literal http.ServeMux pattern.
const pathChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"

// scopeToken reports whether s is an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func scopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// MetadataPath is the path the metadata is served at (RFC 9728 §3.1):
// WellKnownProtectedResource followed by the resource's path.
func (p *ProtectedResource) MetadataPath() string { return p.path }

// MetadataURL is the metadata's URL: BearerConfig.ResourceMetadata.
func (p *ProtectedResource) MetadataURL() string { return p.url }

// Mount registers p at MetadataPath on mux (exactly that path, even when
// it ends with a slash).
func (p *ProtectedResource) Mount(mux *http.ServeMux) {
	pattern := p.path
	if strings.HasSuffix(pattern, "/") {
		pattern += "{$}"
	}
	mux.Handle(pattern, p)
}

// ServeHTTP answers GET and HEAD with the metadata document (RFC 9728
// §3.2, application/json); another method is 405 with a JSON error.
func (p *ProtectedResource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		code, status := ErrorCode(ErrMethodNotAllowed)
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, status, errorBody{Error: code, Description: description(ErrMethodNotAllowed)})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(p.body)
}
