package grant

import "errors"

// The errors of package grant, wrapped with %w by its operations: check
// them with errors.Is. grantkit.ErrorCode maps each to its OAuth error code
// and HTTP status. Any other error from the package is a store failure or a
// host callback's error (server_error), never a client error.

// Authorization errors. Each maps to one RFC 6749 §4.1.2.1 error code.
var (
	// ErrInvalidRequest reports a malformed request (RFC 6749 §4.1.2.1,
	// §5.2 invalid_request): at authorization a missing subject, a missing
	// or non-S256 PKCE challenge (RFC 7636 §4.2; plain is refused), invalid
	// context JSON, a value over its length limit; at the token endpoint a
	// missing parameter.
	ErrInvalidRequest = errors.New("grant: invalid request")
	// ErrUnauthorizedClient reports a client not registered for the
	// authorization code flow.
	ErrUnauthorizedClient = errors.New("grant: client not allowed to use the authorization code flow")
	// ErrInvalidScope reports a scope the client did not register, or
	// scopes beyond MaxScopes or MaxScopeLength (RFC 6749 §3.3).
	ErrInvalidScope = errors.New("grant: invalid scope")
	// ErrRequestExpired reports an authorization request past its lifetime.
	ErrRequestExpired = errors.New("grant: authorization request expired")
	// ErrRequestClosed reports an authorization request already approved
	// or denied. One the cascade closed with its grant while it was open
	// is ErrInvalidTransition instead: the grant's revocation is the
	// answer.
	ErrRequestClosed = errors.New("grant: authorization request already closed")
)

// Client registry errors.
var (
	// ErrInvalidClientMetadata reports registration metadata grantkit
	// refuses (RFC 7591 §3.2.2 invalid_client_metadata).
	ErrInvalidClientMetadata = errors.New("grant: invalid client metadata")
	// ErrInvalidRedirectURI reports a redirect URI refused at registration
	// (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §2.1; RFC 7591
	// invalid_redirect_uri) or one an authorization request gives that
	// matches none of the client's (RFC 6749 §3.1.2.3).
	ErrInvalidRedirectURI = errors.New("grant: invalid redirect URI")
	// ErrInvalidClient reports failed client authentication: an unknown or
	// deleted client, a wrong secret, or a secret where none is expected
	// (RFC 6749 §5.2 invalid_client). It deliberately does not say which.
	ErrInvalidClient = errors.New("grant: client authentication failed")
)

// ErrInvalidReason reports a revocation without a reason.
var ErrInvalidReason = errors.New("grant: a revocation needs a reason")

// ErrInvalidTransition reports a grant state change the state machine
// does not allow, such as activating a revoked grant; Approve and Deny
// return it for a request whose grant was revoked while it was open.
var ErrInvalidTransition = errors.New("grant: invalid state transition")
