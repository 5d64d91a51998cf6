package token

import (
	"errors"
	"fmt"
)

// Token endpoint errors (RFC 6749 §5.2). The client errors of that list
// are owned by package grant, which authenticates clients and checks
// scopes: grant.ErrInvalidRequest, grant.ErrInvalidClient,
// grant.ErrUnauthorizedClient and grant.ErrInvalidScope. More specific
// errors wrap the general one, so errors.Is(err, ErrInvalidGrant) holds for
// a reused refresh token too. Any error that wraps none of them (a store
// failure, a liveness check that failed to answer) is a server_error: it
// never mints a token and is never answered as invalid_grant.
var (
	// ErrInvalidGrant reports an authorization code or refresh token that
	// is invalid, expired, revoked, issued to another client or bound to
	// another redirect URI (RFC 6749 §5.2 invalid_grant).
	ErrInvalidGrant = errors.New("token: invalid_grant")
	// ErrInvalidTarget reports a resource parameter that is not the
	// grant's resource (RFC 8707 §2 invalid_target).
	ErrInvalidTarget = errors.New("token: invalid_target")
)

// Specific invalid_grant causes.
var (
	// ErrReused reports a refresh token or code presented after it was
	// used (RFC 9700 §4.14.2, RFC 6749 §4.1.2); the family or grant has
	// been revoked in answer.
	ErrReused = fmt.Errorf("%w: token reused", ErrInvalidGrant)
	// ErrNotLive reports a subject the host's liveness check refused (a
	// deleted or disabled user or API key).
	ErrNotLive = fmt.Errorf("%w: subject is no longer active", ErrInvalidGrant)
	// ErrGrantExpired reports an expired authorization code or refresh
	// token (an expired access token is ErrAccessTokenExpired).
	ErrGrantExpired = fmt.Errorf("%w: expired", ErrInvalidGrant)
)

// Verifier errors (RFC 6750 §3.1 invalid_token): every one wraps
// ErrInvalidToken and names one distinct check.
var (
	ErrInvalidToken       = errors.New("token: invalid_token")
	ErrMalformed          = fmt.Errorf("%w: malformed", ErrInvalidToken)
	ErrAlgorithm          = fmt.Errorf("%w: algorithm not allowed", ErrInvalidToken)
	ErrUnsecured          = fmt.Errorf("%w: unsecured JWS (alg none)", ErrInvalidToken)
	ErrUnknownKey         = fmt.Errorf("%w: unknown key id", ErrInvalidToken)
	ErrSignature          = fmt.Errorf("%w: bad signature", ErrInvalidToken)
	ErrType               = fmt.Errorf("%w: typ is not at+jwt", ErrInvalidToken)
	ErrIssuer             = fmt.Errorf("%w: wrong issuer", ErrInvalidToken)
	ErrAudience           = fmt.Errorf("%w: not for this resource", ErrInvalidToken)
	ErrMissingExpiry      = fmt.Errorf("%w: no exp claim", ErrInvalidToken)
	ErrAccessTokenExpired = fmt.Errorf("%w: expired", ErrInvalidToken)
	ErrNotYetValid        = fmt.Errorf("%w: not yet valid", ErrInvalidToken)
	ErrGrantInactive      = fmt.Errorf("%w: grant not active", ErrInvalidToken)
	ErrGrantMismatch      = fmt.Errorf("%w: claims do not match the grant", ErrInvalidToken)
	ErrScopeBeyond        = fmt.Errorf("%w: scope beyond the grant", ErrInvalidToken)
	ErrConfigVersion      = fmt.Errorf("%w: resource configuration changed", ErrInvalidToken)
)

// ErrInsufficientScope reports a valid access token that lacks a scope the
// request needs (RFC 6750 §3.1 insufficient_scope, HTTP 403); see
// Claims.RequireScopes.
var ErrInsufficientScope = errors.New("token: insufficient_scope")

// Key errors.
var (
	// ErrUnsupportedAlgorithm reports an algorithm other than EdDSA, ES256
	// and RS256, or a key that does not fit its algorithm.
	ErrUnsupportedAlgorithm = errors.New("token: unsupported signing algorithm")
	// ErrKeyInUse reports an attempt to remove the current signing key.
	ErrKeyInUse = errors.New("token: the current signing key cannot be removed")
)

// ErrUnsupportedTokenType reports a token_type_hint other than
// access_token and refresh_token, the two token types grantkit issues
// (RFC 7009 §2.2.1 unsupported_token_type; RFC 7662 §2.1 takes its values
// from the same registry).
var ErrUnsupportedTokenType = errors.New("token: unsupported token type")
