package httpapi

import (
	"net/http"

	"github.com/grantkit/grantkit/token"
)

// Revocation returns the token revocation endpoint (RFC 7009 §2): a form
// POST with the token and an optional token_type_hint, the client
// authenticated as at the token endpoint (client_secret_basic,
// client_secret_post, or a public client's client_id alone). Revoking a
// refresh or access token revokes its whole grant through the cascade
// (token.Server.Revoke). It answers 200 with an empty body when the token
// is revoked and also when it is unknown, malformed or already revoked
// (§2.2); errors follow §2.2.1 through ErrorCode: invalid_request (a
// missing token, a bad form), invalid_client 401 with WWW-Authenticate,
// unauthorized_client for another client's token, unsupported_token_type
// for a hint of another type. A store failure is server_error 500, never
// a 200. Every response carries no-store headers.
func (h *Handler) Revocation() http.Handler {
	return h.noStore(endpointRevoke, func(w http.ResponseWriter, r *http.Request) {
		if err := h.revoke(w, r); err != nil {
			h.writeError(w, r, endpointRevoke, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// revoke parses the request and revokes the token it names.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) error {
	form, err := readForm(w, r)
	if err != nil {
		return err
	}
	cred, err := clientCredentials(r, form)
	if err != nil {
		return err
	}
	if err := require(form, "token"); err != nil {
		return err
	}
	return h.tokens.Revoke(r.Context(), token.RevocationRequest{ClientID: cred.ID, ClientSecret: cred.Secret,
		Token: form.Get("token"), TokenTypeHint: form.Get("token_type_hint")})
}
