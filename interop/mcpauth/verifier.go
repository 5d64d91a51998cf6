package mcpauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/grantkit/grantkit/token"
)

// Keys of auth.TokenInfo.Extra that TokenVerifier fills from the access
// token's claims (RFC 9068 §2.2 and grantkit's own).
const (
	// ExtraGrantID holds the grant_id claim: the grant the token belongs
	// to, the id of its session on the sessions API.
	ExtraGrantID = "grant_id"
	// ExtraClientID holds the client_id claim (RFC 9068 §2.2).
	ExtraClientID = "client_id"
	// ExtraSubjectKind holds the subject_kind claim (user, api_key…),
	// which together with UserID identifies the subject.
	ExtraSubjectKind = "subject_kind"
)

// ErrUnavailable reports that a token could not be checked at all: the
// grant check failed to answer (a store failure, a cancelled request). It
// is not auth.ErrInvalidToken, so auth.RequireBearerToken answers 500
// rather than telling the client its token is invalid.
var ErrUnavailable = errors.New("mcpauth: the access token could not be checked")

// Verifier is what TokenVerifier calls: *token.Verifier, or a host's
// wrapper around one.
type Verifier interface {
	Verify(ctx context.Context, raw string) (token.Claims, error)
}

// TokenVerifier returns an auth.TokenVerifier that checks bearer tokens
// (RFC 6750 §2.1) with v and describes an accepted one as
// auth.TokenInfo: Scopes from the scope claim, Expiration from exp,
// UserID the subject (sub), and Extra with ExtraGrantID, ExtraClientID and
// ExtraSubjectKind.
//
// A token v refuses (a wrapper of token.ErrInvalidToken: malformed, bad
// signature, expired, issued for another resource, its grant revoked…) is
// an error wrapping both auth.ErrInvalidToken and v's error, which
// auth.RequireBearerToken answers with 401 and its WWW-Authenticate
// challenge (RFC 6750 §3.1 invalid_token; the MCP specification's "Invalid
// or expired tokens MUST receive a HTTP 401 response"). Any other error of
// v — the grant check could not reach the store — is never reported as an
// invalid token: it wraps ErrUnavailable and v's error, so the middleware
// answers 500 and the client keeps its token. Its Error text is
// ErrUnavailable's alone, since the middleware writes that text into the
// response body and a store error may name tables or hosts.
//
// The function is safe for concurrent use if v is.
func TokenVerifier(v Verifier) auth.TokenVerifier {
	return func(ctx context.Context, raw string, _ *http.Request) (*auth.TokenInfo, error) {
		c, err := v.Verify(ctx, raw)
		switch {
		case errors.Is(err, token.ErrInvalidToken):
			return nil, fmt.Errorf("%w: %w", auth.ErrInvalidToken, err)
		case err != nil:
			return nil, &unavailableError{cause: err}
		case c.Expiry == nil: // the Verifier refuses such tokens; fail closed all the same
			return nil, fmt.Errorf("%w: %w", auth.ErrInvalidToken, token.ErrMissingExpiry)
		}
		return &auth.TokenInfo{
			Scopes:     c.Scopes(),
			Expiration: c.Expiry.Time(),
			UserID:     c.Subject,
			Extra: map[string]any{
				ExtraGrantID:     c.GrantID,
				ExtraClientID:    c.ClientID,
				ExtraSubjectKind: c.SubjectKind,
			},
		}, nil
	}
}

// unavailableError is ErrUnavailable with its cause: errors.Is finds
// both, Error shows only the former.
type unavailableError struct{ cause error }

func (e *unavailableError) Error() string   { return ErrUnavailable.Error() }
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.cause} }
