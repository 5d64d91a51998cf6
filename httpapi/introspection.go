package httpapi

import (
	"net/http"
	"time"

	"github.com/grantkit/grantkit/token"
)

// introspectionBody is an introspection response (RFC 7662 §2.2), plus
// grantkit's subject_kind and grant_id. An inactive token's is
// {"active":false} and nothing else.
type introspectionBody struct {
	Active      bool     `json:"active"`
	Scope       string   `json:"scope,omitempty"`
	ClientID    string   `json:"client_id,omitempty"`
	TokenType   string   `json:"token_type,omitempty"`
	Exp         int64    `json:"exp,omitempty"`
	Iat         int64    `json:"iat,omitempty"`
	Nbf         int64    `json:"nbf,omitempty"`
	Sub         string   `json:"sub,omitempty"`
	Aud         []string `json:"aud,omitempty"`
	Iss         string   `json:"iss,omitempty"`
	Jti         string   `json:"jti,omitempty"`
	SubjectKind string   `json:"subject_kind,omitempty"`
	GrantID     string   `json:"grant_id,omitempty"`
}

// Introspection returns the token introspection endpoint (RFC 7662 §2): a
// form POST with the token and an optional token_type_hint, from a
// confidential client authenticated with client_secret_basic or
// client_secret_post (a public client is invalid_client: §2.1 requires
// the caller's authorization). It answers 200 with the §2.2 members for an
// active token (aud always a list; exp, iat and nbf in seconds since the
// epoch) and {"active":false} alone for every other one, including the
// tokens of other clients the host has not let the caller see
// (token.ServerConfig.MayIntrospect). Errors follow §2.3 through
// ErrorCode: invalid_request, invalid_client 401 with WWW-Authenticate,
// unsupported_token_type for a hint of another type; a store failure is
// server_error 500, never an active answer. Every response carries
// no-store headers.
func (h *Handler) Introspection() http.Handler {
	return h.noStore(endpointIntrospect, func(w http.ResponseWriter, r *http.Request) {
		in, err := h.introspect(w, r)
		if err != nil {
			h.writeError(w, r, endpointIntrospect, err)
			return
		}
		if !in.Active {
			writeJSON(w, http.StatusOK, introspectionBody{})
			return
		}
		writeJSON(w, http.StatusOK, introspectionBody{
			Active: true, Scope: in.Scope, ClientID: in.ClientID, TokenType: in.TokenType,
			Exp: unix(in.ExpiresAt), Iat: unix(in.IssuedAt), Nbf: unix(in.NotBefore), Sub: in.Subject,
			Aud: in.Audience, Iss: in.Issuer, Jti: in.JWTID, SubjectKind: in.SubjectKind, GrantID: in.GrantID,
		})
	})
}

// introspect parses the request and introspects the token it names.
func (h *Handler) introspect(w http.ResponseWriter, r *http.Request) (token.Introspection, error) {
	form, err := readForm(w, r)
	if err != nil {
		return token.Introspection{}, err
	}
	cred, err := clientCredentials(r, form)
	if err != nil {
		return token.Introspection{}, err
	}
	if err := require(form, "token"); err != nil {
		return token.Introspection{}, err
	}
	return h.tokens.Introspect(r.Context(), token.IntrospectionRequest{ClientID: cred.ID,
		ClientSecret: cred.Secret, Token: form.Get("token"), TokenTypeHint: form.Get("token_type_hint")})
}

// unix is t in seconds since the epoch (RFC 7519 NumericDate), 0 for the
// zero time, which the JSON leaves out.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
