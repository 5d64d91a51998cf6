package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/grantkit/grantkit"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/token"
)

// Refusals of the bearer middleware that are the request's fault rather
// than the token's (RFC 6750 §3.1 invalid_request, HTTP 400).
var (
	// errNoBearer reports a request without bearer credentials: no
	// Authorization header, or one of another scheme. RFC 6750 §3.1: the
	// challenge then carries no error code.
	errNoBearer = errors.New("httpapi: no bearer token")
	// errBearerSyntax reports an Authorization header that is not
	// "Bearer" and one b64token (RFC 6750 §2.1), or that is repeated.
	errBearerSyntax = fmt.Errorf("%w: malformed bearer authorization", grant.ErrInvalidRequest)
	// errBearerInQuery reports an access_token query parameter (RFC 6750
	// §2.3), which this middleware never accepts: URIs end up in logs,
	// histories and Referer headers (RFC 9700 §4.3.2).
	errBearerInQuery = fmt.Errorf("%w: access tokens are accepted in the Authorization header only", grant.ErrInvalidRequest)
	// errNoClaims reports a RequireScopes handler not behind Middleware:
	// the host's wiring, answered server_error.
	errNoClaims = errors.New("httpapi: RequireScopes without Bearer.Middleware in front")
)

// BearerConfig configures a Bearer.
type BearerConfig struct {
	// Verifier checks the tokens (RFC 9068 §4 and the grant check);
	// required.
	Verifier *token.Verifier
	// ResourceMetadata is the URL of the resource's protected resource
	// metadata (RFC 9728 §3; ProtectedResource.MetadataURL), sent as the
	// resource_metadata parameter of every challenge (RFC 9728 §5.1) so
	// that a client can discover the authorization server. Required: an
	// absolute https URL (http only for a loopback host) without fragment.
	ResourceMetadata string
	// Logger receives the failures answered 5xx (a store error during the
	// grant check), without token material. Default slog.Default().
	Logger *slog.Logger
}

// Bearer protects a resource server's handlers with access tokens sent
// as RFC 6750 §2.1 bearer credentials. Build it with NewBearer; it is
// safe for concurrent use.
type Bearer struct {
	verifier *token.Verifier
	metadata string
	log      *slog.Logger
}

// NewBearer checks cfg and returns a Bearer.
func NewBearer(cfg BearerConfig) (*Bearer, error) {
	if cfg.Verifier == nil {
		return nil, errors.New("httpapi: BearerConfig needs a Verifier")
	}
	if err := checkURL(cfg.ResourceMetadata); err != nil {
		return nil, fmt.Errorf("httpapi: BearerConfig.ResourceMetadata: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Bearer{verifier: cfg.Verifier, metadata: cfg.ResourceMetadata, log: cfg.Logger}, nil
}

// checkURL accepts an absolute https URL (http for a loopback host)
// without userinfo or fragment.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || strings.Contains(s, "#") ||
		!(u.Scheme == "https" || u.Scheme == "http" && loopbackHost(u.Hostname())) {
		return fmt.Errorf("%q is not an https URL without fragment", s)
	}
	return nil
}

// claimsKey is the context key of the verified claims.
type claimsKey struct{}

// ClaimsFromContext returns the claims Bearer.Middleware verified for the
// request whose context is ctx; false when there are none.
func ClaimsFromContext(ctx context.Context) (token.Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(token.Claims)
	return c, ok
}

// Middleware verifies the request's access token and calls next with the
// claims in the request's context (ClaimsFromContext). The token is read
// from the Authorization header only (RFC 6750 §2.1; the scheme is
// case-insensitive, RFC 9110 §11.1). Otherwise next is not called:
//
//   - no Authorization header, or another scheme: 401 with
//     WWW-Authenticate: Bearer resource_metadata="…" and no error code
//     (RFC 6750 §3.1, RFC 9728 §5.1);
//   - a malformed or repeated header, or an access_token query parameter
//     (§2.3 is not supported): 400, error="invalid_request";
//   - a token the Verifier refuses (bad signature, expired, another
//     resource's, its grant revoked…): 401, error="invalid_token" with an
//     error_description naming the failed check;
//   - a failure of the grant check itself (the store): 5xx server_error,
//     logged, without a challenge — never a pass.
//
// Coded refusals also have a JSON body {"error", "error_description"}.
func (b *Bearer) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := bearerToken(r)
		if err != nil {
			b.refuse(w, r, err)
			return
		}
		claims, err := b.verifier.Verify(r.Context(), raw)
		if err != nil {
			b.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims)))
	})
}

// RequireScopes returns middleware, for handlers behind Middleware, that
// calls next only if the token carries every one of scopes, and otherwise
// answers InsufficientScope with them. Without Middleware in front it
// answers server_error 500 (fail closed).
func (b *Bearer) RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, ok := ClaimsFromContext(r.Context())
			if !ok {
				b.refuse(w, r, errNoClaims)
				return
			}
			if err := claims.RequireScopes(scopes...); err != nil {
				b.InsufficientScope(w, scopes...)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// InsufficientScope answers a request whose valid token lacks a scope
// it needs (RFC 6750 §3.1): 403 with WWW-Authenticate: Bearer
// error="insufficient_scope", scope="…" (scopes, space-separated: those
// the request needs) and resource_metadata="…" (RFC 9728 §5.1), and a
// JSON body.
func (b *Bearer) InsufficientScope(w http.ResponseWriter, scopes ...string) {
	desc := "the access token lacks a scope the request needs"
	w.Header().Set("WWW-Authenticate", b.challenge(grantkit.CodeInsufficientScope, desc, strings.Join(scopes, " ")))
	writeJSON(w, http.StatusForbidden, errorBody{Error: grantkit.CodeInsufficientScope, Description: desc})
}

// refuse answers err: see Middleware.
func (b *Bearer) refuse(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errNoBearer) {
		w.Header().Set("WWW-Authenticate", b.challenge("", "", ""))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	code, status := ErrorCode(err)
	switch {
	case errors.Is(err, token.ErrInvalidToken):
		code, status = grantkit.CodeInvalidToken, http.StatusUnauthorized
	case errors.Is(err, grant.ErrInvalidRequest):
		code, status = grantkit.CodeInvalidRequest, http.StatusBadRequest
	default:
		if status < 500 { // not a refusal of this middleware's: fail closed
			code, status = grantkit.CodeServerError, http.StatusInternalServerError
		}
		b.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: bearer check failed", slog.String("error", err.Error()))
		writeJSON(w, status, errorBody{Error: code, Description: "the server could not check the access token"})
		return
	}
	desc := description(err)
	w.Header().Set("WWW-Authenticate", b.challenge(code, desc, ""))
	writeJSON(w, status, errorBody{Error: code, Description: desc})
}

// challenge is a Bearer challenge (RFC 6750 §3) with the given error
// code, description and scope when not empty, and resource_metadata.
func (b *Bearer) challenge(code, desc, scope string) string {
	var params []string
	if code != "" {
		params = append(params, "error="+quote(code))
	}
	if desc != "" {
		params = append(params, "error_description="+quote(desc))
	}
	if scope != "" {
		params = append(params, "scope="+quote(scope))
	}
	params = append(params, "resource_metadata="+quote(b.metadata))
	return "Bearer " + strings.Join(params, ", ")
}

// quote is s as an RFC 9110 §5.6.4 quoted-string: '"' and '\' escaped
// with a backslash, anything outside printable ASCII replaced by '?'.
func quote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			sb.WriteByte('?')
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// bearerToken returns the request's bearer token: errNoBearer without
// one, errBearerSyntax or errBearerInQuery for a request to refuse.
func bearerToken(r *http.Request) (string, error) {
	if r.URL.Query().Has("access_token") {
		return "", errBearerInQuery
	}
	auth := r.Header.Values("Authorization")
	if len(auth) == 0 {
		return "", errNoBearer
	}
	if len(auth) > 1 {
		return "", errBearerSyntax
	}
	scheme, rest, ok := strings.Cut(auth[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", errNoBearer
	}
	raw := strings.TrimLeft(rest, " ")
	if !ok || !b64token(raw) {
		return "", errBearerSyntax
	}
	return raw, nil
}

// b64token reports whether s is an RFC 6750 §2.1 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func b64token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
