package grantkit

import (
	"errors"
	"net/http"

	"github.com/grantkit/grantkit/cimd"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/sweep"
	"github.com/grantkit/grantkit/token"
)

// OAuth error codes ErrorCode returns, besides those of RFC 6749 §4.1.2.1
// and §5.2 it shares with them.
const (
	CodeInvalidRequest         = "invalid_request"         // RFC 6749 §4.1.2.1, §5.2
	CodeInvalidClient          = "invalid_client"          // RFC 6749 §5.2
	CodeInvalidGrant           = "invalid_grant"           // RFC 6749 §5.2
	CodeUnauthorizedClient     = "unauthorized_client"     // RFC 6749 §4.1.2.1, §5.2
	CodeInvalidScope           = "invalid_scope"           // RFC 6749 §4.1.2.1, §5.2
	CodeAccessDenied           = "access_denied"           // RFC 6749 §4.1.2.1
	CodeServerError            = "server_error"            // RFC 6749 §4.1.2.1
	CodeTemporarilyUnavailable = "temporarily_unavailable" // RFC 6749 §4.1.2.1
	CodeInvalidTarget          = "invalid_target"          // RFC 8707 §2
	CodeInvalidToken           = "invalid_token"           // RFC 6750 §3.1
	CodeInsufficientScope      = "insufficient_scope"      // RFC 6750 §3.1
	CodeInvalidRedirectURI     = "invalid_redirect_uri"    // RFC 7591 §3.2.2
	CodeInvalidClientMetadata  = "invalid_client_metadata" // RFC 7591 §3.2.2
	CodeNotFound               = "not_found"               // sessions API: no such active session
	CodeForbidden              = "forbidden"               // sessions API: not the caller's session
	CodeConflict               = "conflict"                // a record with this id exists
	CodeUnsupportedTokenType   = "unsupported_token_type"  // RFC 7009 §2.2.1
)

// mapping is one row of the error table: every error that wraps err (the
// first row that matches wins) is answered with code and status.
type mapping struct {
	err    error
	code   string
	status int
}

// errorTable maps every sentinel of cimd, grant, token, session, store and
// sweep.
// More specific sentinels come before those they wrap. A test parses those
// packages and fails when one of their exported Err… variables is missing.
var errorTable = []mapping{
	// Client ID Metadata Documents (package cimd): a document that cannot
	// be fetched or is refused leaves the client unidentified. First, as
	// ErrInvalidDocument may wrap grant's metadata refusals.
	{cimd.ErrNotClientIDURL, CodeInvalidClient, http.StatusUnauthorized},
	{cimd.ErrFetch, CodeInvalidClient, http.StatusUnauthorized},
	{cimd.ErrForbiddenAddress, CodeInvalidClient, http.StatusUnauthorized},
	{cimd.ErrTooLarge, CodeInvalidClient, http.StatusUnauthorized},
	{cimd.ErrInvalidDocument, CodeInvalidClient, http.StatusUnauthorized},
	{cimd.ErrBusy, CodeTemporarilyUnavailable, http.StatusServiceUnavailable},

	// Authorization and registration (package grant).
	{grant.ErrInvalidRequest, CodeInvalidRequest, http.StatusBadRequest},
	{grant.ErrInvalidClient, CodeInvalidClient, http.StatusUnauthorized},
	{grant.ErrUnauthorizedClient, CodeUnauthorizedClient, http.StatusBadRequest},
	{grant.ErrInvalidScope, CodeInvalidScope, http.StatusBadRequest},
	{grant.ErrInvalidRedirectURI, CodeInvalidRedirectURI, http.StatusBadRequest},
	{grant.ErrInvalidClientMetadata, CodeInvalidClientMetadata, http.StatusBadRequest},
	{grant.ErrRequestExpired, CodeInvalidRequest, http.StatusBadRequest},
	{grant.ErrRequestClosed, CodeInvalidRequest, http.StatusBadRequest},
	{grant.ErrInvalidTransition, CodeAccessDenied, http.StatusForbidden},
	{grant.ErrInvalidReason, CodeServerError, http.StatusInternalServerError}, // a host bug, not the client's

	// Token endpoint and resource side (package token).
	{token.ErrReused, CodeInvalidGrant, http.StatusBadRequest},
	{token.ErrNotLive, CodeInvalidGrant, http.StatusBadRequest},
	{token.ErrGrantExpired, CodeInvalidGrant, http.StatusBadRequest},
	{token.ErrInvalidGrant, CodeInvalidGrant, http.StatusBadRequest},
	{token.ErrInvalidTarget, CodeInvalidTarget, http.StatusBadRequest},
	{token.ErrInsufficientScope, CodeInsufficientScope, http.StatusForbidden},
	{token.ErrMalformed, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrAlgorithm, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrUnsecured, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrUnknownKey, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrSignature, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrType, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrIssuer, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrAudience, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrMissingExpiry, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrAccessTokenExpired, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrNotYetValid, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrGrantInactive, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrGrantMismatch, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrScopeBeyond, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrConfigVersion, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrInvalidToken, CodeInvalidToken, http.StatusUnauthorized},
	{token.ErrUnsupportedTokenType, CodeUnsupportedTokenType, http.StatusBadRequest},
	// Key configuration errors are the host's, never the client's.
	{token.ErrUnsupportedAlgorithm, CodeServerError, http.StatusInternalServerError},
	{token.ErrKeyInUse, CodeServerError, http.StatusInternalServerError},

	// Sessions API (package session; its ErrNotFound wraps store's).
	{session.ErrNotFound, CodeNotFound, http.StatusNotFound},
	{session.ErrForbidden, CodeForbidden, http.StatusForbidden},

	// The store contract.
	{store.ErrNotFound, CodeNotFound, http.StatusNotFound},
	{store.ErrConflict, CodeConflict, http.StatusConflict},
	{store.ErrInvalidCursor, CodeInvalidRequest, http.StatusBadRequest},
	{store.ErrInvalidArgument, CodeInvalidRequest, http.StatusBadRequest},
	{store.ErrClosed, CodeServerError, http.StatusInternalServerError}, // the host shut the store down

	// The sweep worker.
	{sweep.ErrBusy, CodeTemporarilyUnavailable, http.StatusServiceUnavailable},
}

// ErrorCode maps an error returned by package cimd, grant, token, session,
// store or sweep to the OAuth 2.0 error code and HTTP status to answer it with:
// RFC 6749 §4.1.2.1 at the authorization endpoint, §5.2 at the token
// endpoint (with RFC 8707 §2's invalid_target), RFC 6750 §3.1 on the
// resource side (invalid_token 401, insufficient_scope 403), RFC 7591
// §3.2.2 at registration, 404 and 403 for the sessions API. Anything else —
// a database failure, a host callback's error, a context cancellation — is
// server_error with status 500: it never grants access or mints a token.
// A nil err returns "" and 200.
//
// Two answers depend on the endpoint and are left to the HTTP layer: an
// authorization request with an invalid client or redirect URI is shown to
// the user and never redirected (RFC 6749 §4.1.2.1), and invalid_client at
// the token endpoint carries WWW-Authenticate when the client used HTTP
// Basic authentication (§5.2).
func ErrorCode(err error) (code string, status int) {
	if err == nil {
		return "", http.StatusOK
	}
	for _, m := range errorTable {
		if errors.Is(err, m.err) {
			return m.code, m.status
		}
	}
	return CodeServerError, http.StatusInternalServerError
}
