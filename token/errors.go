package token

import (
	"errors"
	"fmt"

	"github.com/grantkit/grantkit/grant"
)

// Token endpoint errors, one per RFC 6749 §5.2 error code. More specific
// errors wrap them, so errors.Is(err, ErrInvalidGrant) holds for a reused
// refresh token too. Any error that is none of these (a store failure, a
// liveness check that failed to answer) is a server_error: it never mints a
// token and is never answered as invalid_grant.
var (
	ErrInvalidRequest       = errors.New("token: invalid_request")
	ErrInvalidClient        = grant.ErrInvalidClient
	ErrInvalidGrant         = errors.New("token: invalid_grant")
	ErrUnauthorizedClient   = grant.ErrUnauthorizedClient
	ErrUnsupportedGrantType = errors.New("token: unsupported_grant_type")
	ErrInvalidScope         = grant.ErrInvalidScope
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
	// ErrExpired reports an expired code or refresh token.
	ErrExpired = fmt.Errorf("%w: expired", ErrInvalidGrant)
)

// ErrorCode returns the RFC 6749 §5.2 error code for err: "server_error"
// for anything that is not one of the client errors above.
func ErrorCode(err error) string {
	switch {
	case errors.Is(err, ErrInvalidRequest):
		return "invalid_request"
	case errors.Is(err, ErrInvalidClient):
		return "invalid_client"
	case errors.Is(err, ErrInvalidGrant):
		return "invalid_grant"
	case errors.Is(err, ErrUnauthorizedClient):
		return "unauthorized_client"
	case errors.Is(err, ErrUnsupportedGrantType):
		return "unsupported_grant_type"
	case errors.Is(err, ErrInvalidScope):
		return "invalid_scope"
	}
	return "server_error"
}

// Verifier errors (RFC 6750 §3.1 invalid_token): every one wraps
// ErrInvalidToken and names one distinct check.
var (
	ErrInvalidToken  = errors.New("token: invalid_token")
	ErrMalformed     = fmt.Errorf("%w: malformed", ErrInvalidToken)
	ErrAlgorithm     = fmt.Errorf("%w: algorithm not allowed", ErrInvalidToken)
	ErrUnsecured     = fmt.Errorf("%w: unsecured JWS (alg none)", ErrInvalidToken)
	ErrUnknownKey    = fmt.Errorf("%w: unknown key id", ErrInvalidToken)
	ErrSignature     = fmt.Errorf("%w: bad signature", ErrInvalidToken)
	ErrType          = fmt.Errorf("%w: typ is not at+jwt", ErrInvalidToken)
	ErrIssuer        = fmt.Errorf("%w: wrong issuer", ErrInvalidToken)
	ErrAudience      = fmt.Errorf("%w: not for this resource", ErrInvalidToken)
	ErrMissingExpiry = fmt.Errorf("%w: no exp claim", ErrInvalidToken)
	ErrTokenExpired  = fmt.Errorf("%w: expired", ErrInvalidToken)
	ErrNotYetValid   = fmt.Errorf("%w: not yet valid", ErrInvalidToken)
	ErrGrantInactive = fmt.Errorf("%w: grant not active", ErrInvalidToken)
	ErrGrantMismatch = fmt.Errorf("%w: claims do not match the grant", ErrInvalidToken)
	ErrScopeBeyond   = fmt.Errorf("%w: scope beyond the grant", ErrInvalidToken)
	ErrConfigVersion = fmt.Errorf("%w: resource configuration changed", ErrInvalidToken)
)
