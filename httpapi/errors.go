package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/grantkit/grantkit"
	"github.com/grantkit/grantkit/grant"
)

// OAuth error codes of the HTTP layer that the core packages never return.
const (
	CodeUnsupportedGrantType    = "unsupported_grant_type"    // RFC 6749 §5.2
	CodeUnsupportedResponseType = "unsupported_response_type" // RFC 6749 §4.1.2.1
	CodeSlowDown                = "slow_down"                 // registration rate limit (RFC 8628 §3.5's word, with 429)
)

// Protocol errors of the HTTP layer. Those answered as invalid_request wrap
// grant.ErrInvalidRequest, so grantkit.ErrorCode maps them too.
var (
	// ErrMethodNotAllowed reports a method other than the endpoint's
	// (HTTP 405 with Allow, JSON invalid_request).
	ErrMethodNotAllowed = fmt.Errorf("%w: method not allowed", grant.ErrInvalidRequest)
	// ErrContentType reports a body that is not
	// application/x-www-form-urlencoded (RFC 6749 §3.2) or, at
	// registration, not application/json (RFC 7591 §3.1).
	ErrContentType = fmt.Errorf("%w: unsupported content type", grant.ErrInvalidRequest)
	// ErrBodyTooLarge reports a body beyond MaxBodyBytes (HTTP 413).
	ErrBodyTooLarge = fmt.Errorf("%w: request body too large", grant.ErrInvalidRequest)
	// ErrMalformedBody reports a body that does not parse: a bad
	// percent-escape, a NUL byte, invalid UTF-8.
	ErrMalformedBody = fmt.Errorf("%w: malformed request body", grant.ErrInvalidRequest)
	// ErrDuplicateParameter reports a parameter given more than once
	// (RFC 6749 §3.1, §3.2).
	ErrDuplicateParameter = fmt.Errorf("%w: parameter given more than once", grant.ErrInvalidRequest)
	// ErrMissingParameter reports a required parameter that is absent or
	// empty (RFC 6749 §3.1: an empty value is an omitted one).
	ErrMissingParameter = fmt.Errorf("%w: missing parameter", grant.ErrInvalidRequest)
	// ErrMultipleClientAuth reports a client that used more than one
	// authentication method in one request (RFC 6749 §2.3).
	ErrMultipleClientAuth = fmt.Errorf("%w: more than one client authentication method", grant.ErrInvalidRequest)
	// ErrUnsupportedGrantType reports a grant_type the token endpoint does
	// not implement (RFC 6749 §5.2).
	ErrUnsupportedGrantType = errors.New("httpapi: unsupported grant type")
	// ErrUnsupportedResponseType reports a response_type other than code
	// (RFC 6749 §4.1.2.1).
	ErrUnsupportedResponseType = errors.New("httpapi: unsupported response type")
	// ErrRateLimited is what a registration rate-limit hook returns (or
	// wraps) to refuse a registration with HTTP 429.
	ErrRateLimited = errors.New("httpapi: too many registrations")
	// ErrUnauthenticated reports a caller the host's authenticator did
	// not recognise (sessions API and page, HTTP 401).
	ErrUnauthenticated = errors.New("httpapi: unauthenticated")
	// ErrInvalidParameter reports a query or form parameter whose value
	// is not one the endpoint accepts: a limit that is not an integer in
	// 1..100, a flag that is not a boolean, text that is not valid UTF-8
	// or holds a NUL byte (HTTP 400 invalid_request).
	ErrInvalidParameter = fmt.Errorf("%w: invalid parameter", grant.ErrInvalidRequest)
	// ErrCrossOrigin reports an unsafe request (DELETE, POST…) that a
	// browser sent from another origin, refused by
	// http.CrossOriginProtection before the caller is even authenticated
	// (HTTP 403, nothing changed).
	ErrCrossOrigin = errors.New("httpapi: cross-origin request refused")
)

// CodeUnauthenticated is the error code of ErrUnauthenticated.
const CodeUnauthenticated = "unauthenticated"

// row maps an error of this package to its code and status.
type row struct {
	err    error
	code   string
	status int
}

// table holds the rows grantkit.ErrorCode does not have; it is consulted
// first, then grantkit.ErrorCode, whose fallback is server_error 500.
var table = []row{
	{ErrMethodNotAllowed, grantkit.CodeInvalidRequest, http.StatusMethodNotAllowed},
	{ErrBodyTooLarge, grantkit.CodeInvalidRequest, http.StatusRequestEntityTooLarge},
	{ErrUnsupportedGrantType, CodeUnsupportedGrantType, http.StatusBadRequest},
	{ErrUnsupportedResponseType, CodeUnsupportedResponseType, http.StatusBadRequest},
	{ErrRateLimited, CodeSlowDown, http.StatusTooManyRequests},
	{ErrUnauthenticated, CodeUnauthenticated, http.StatusUnauthorized},
	{ErrAccessDenied, grantkit.CodeAccessDenied, http.StatusForbidden},
	{ErrNotRequestOwner, grantkit.CodeAccessDenied, http.StatusForbidden},
	{ErrCrossOrigin, grantkit.CodeForbidden, http.StatusForbidden},
}

// ErrorCode maps err to the OAuth error code and HTTP status this package
// answers it with: its own protocol errors first, then grantkit.ErrorCode.
// Anything unknown is server_error 500.
func ErrorCode(err error) (code string, status int) {
	for _, r := range table {
		if errors.Is(err, r.err) {
			return r.code, r.status
		}
	}
	return grantkit.ErrorCode(err)
}
