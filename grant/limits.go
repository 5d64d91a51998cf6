package grant

import "fmt"

// Length limits on what clients register (RFC 7591 §2) and what
// authorization requests carry (RFC 6749 §4.1.1). Neither RFC sets any:
// these are grantkit's own, generous for real clients while keeping what
// anyone on the internet can send (dynamic registration, /authorize) from
// growing rows, audit details and the work done per request without
// bound. Lengths are in bytes. The HTTP layer may refuse earlier; it must
// not accept more.
const (
	// MaxClientNameLength bounds a client's name (RFC 7591 client_name):
	// it is shown on consent screens, where 200 bytes is already several
	// lines.
	MaxClientNameLength = 200
	// MaxRedirectURIs bounds how many redirect URIs a client registers. A
	// client needs one per environment or platform; 20 leaves room for
	// that, and bounds the comparisons made for every authorization
	// request (RFC 6749 §3.1.2.3).
	MaxRedirectURIs = 20
	// MaxRedirectURILength bounds each redirect URI. A registered callback
	// is a short URL; 1024 bytes keeps the redirect that carries code and
	// state back to the client within the URL lengths browsers and proxies
	// handle, and keeps a grant's binding (client id, subject, subject
	// kind, tenant, resource, redirect URI, all at their limits) within
	// what PostgreSQL's unique B-tree index on it can hold (2704 bytes per
	// entry) — beyond that an insert would fail as a server error.
	MaxRedirectURILength = 1024
	// MaxIdentifierLength bounds a client id chosen at registration and
	// the subject, subject kind and tenant of an authorization request.
	MaxIdentifierLength = 256
	// MaxResourceLength bounds an authorization request's resource (RFC
	// 8707 §2), an absolute URI naming the protected resource.
	MaxResourceLength = 512
	// MaxScopes bounds the scope values a client registers and, separately,
	// the scope values of one authorization request as given, duplicates
	// included (RFC 6749 §3.3): every requested value is looked up among
	// the registered ones, so the product is bounded too.
	MaxScopes = 100
	// MaxScopeLength bounds each scope value (RFC 6749 §3.3 scope-token),
	// registered or requested. URL-shaped scopes such as
	// "https://www.googleapis.com/auth/calendar.readonly" stay well below
	// it.
	MaxScopeLength = 256
	// MaxStateLength bounds an authorization request's state (RFC 6749
	// §4.1.1), which is stored with the request and sent back in the
	// redirect. A CSRF token needs a few dozen bytes; 2048 leaves room for
	// clients that put a signed, JWT-encoded state in it.
	MaxStateLength = 2048
	// MaxContextBytes bounds the host's context JSON of an authorization
	// request as given to Start (before it is compacted), stored on the
	// grant and compared on every create-or-reuse: 16 KiB.
	MaxContextBytes = 16 << 10
)

// checkClientLimits refuses client metadata beyond the limits above, before
// any other work on the lists, with ErrInvalidClientMetadata (RFC 7591
// §3.2.2). The length of each redirect URI is one of checkRedirectURI's
// rules instead, refused with ErrInvalidRedirectURI (invalid_redirect_uri:
// that value is invalid).
func checkClientLimits(md *ClientMetadata) error {
	switch {
	case len(md.ID) > MaxIdentifierLength:
		return tooLong(ErrInvalidClientMetadata, "client id", len(md.ID), MaxIdentifierLength)
	case len(md.Name) > MaxClientNameLength:
		return tooLong(ErrInvalidClientMetadata, "client name", len(md.Name), MaxClientNameLength)
	case len(md.RedirectURIs) > MaxRedirectURIs:
		return fmt.Errorf("%w: %d redirect URIs, more than %d", ErrInvalidClientMetadata,
			len(md.RedirectURIs), MaxRedirectURIs)
	}
	return checkScopes(ErrInvalidClientMetadata, "scope", md.Scopes)
}

// checkRequestLimits refuses an authorization request beyond the limits
// above: ErrInvalidScope for too many or too long scope values (RFC 6749
// §4.1.2.1 invalid_scope), ErrInvalidRequest for a subject, subject kind,
// tenant, resource, state or context that is too long (invalid_request).
// It is cheap, so Start runs it before any other work on the request.
func checkRequestLimits(req AuthorizationRequest) error {
	if err := checkScopes(ErrInvalidScope, "scope value", req.Scopes); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		n    int
		max  int
	}{
		{"subject", len(req.Subject), MaxIdentifierLength},
		{"subject kind", len(req.SubjectKind), MaxIdentifierLength},
		{"tenant", len(req.Tenant), MaxIdentifierLength},
		{"resource", len(req.Resource), MaxResourceLength},
		{"state", len(req.State), MaxStateLength},
	} {
		if f.n > f.max {
			return tooLong(ErrInvalidRequest, f.name, f.n, f.max)
		}
	}
	if len(req.Context) > MaxContextBytes {
		return fmt.Errorf("%w: context is %d bytes of JSON, more than %d", ErrInvalidRequest,
			len(req.Context), MaxContextBytes)
	}
	return nil
}

// checkScopes refuses, with sentinel, more than MaxScopes scope values or
// one longer than MaxScopeLength; noun names a value in the message.
func checkScopes(sentinel error, noun string, scopes []string) error {
	if len(scopes) > MaxScopes {
		return fmt.Errorf("%w: %d %ss, more than %d", sentinel, len(scopes), noun, MaxScopes)
	}
	for _, sc := range scopes {
		if len(sc) > MaxScopeLength {
			return fmt.Errorf("%w: %s: %s", sentinel, tooLongText(noun, len(sc), MaxScopeLength), clip(sc))
		}
	}
	return nil
}

// tooLong is sentinel, saying that name is n bytes, more than max.
func tooLong(sentinel error, name string, n, max int) error {
	return fmt.Errorf("%w: %s", sentinel, tooLongText(name, n, max))
}

func tooLongText(name string, n, max int) string {
	return fmt.Sprintf("%s is %d bytes, longer than %d", name, n, max)
}
