package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/token"
)

// tokenBody is a successful token response (RFC 6749 §5.1).
type tokenBody struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// Token returns the token endpoint (RFC 6749 §3.2): the authorization_code
// grant with PKCE (§4.1.3, RFC 7636 §4.5) and the refresh_token grant
// (§6), each with an optional RFC 8707 resource parameter. Clients
// authenticate with client_secret_basic or client_secret_post, public
// clients with their client_id alone. Every response carries no-store
// headers; errors follow §5.2 through ErrorCode, so a store failure is a
// server_error 500 and never a token.
func (h *Handler) Token() http.Handler {
	return h.noStore(endpointToken, func(w http.ResponseWriter, r *http.Request) {
		resp, err := h.token(w, r)
		if err != nil {
			h.writeError(w, r, endpointToken, err)
			return
		}
		writeJSON(w, http.StatusOK, tokenBody{
			AccessToken: resp.AccessToken, TokenType: resp.TokenType, ExpiresIn: resp.ExpiresIn,
			RefreshToken: resp.RefreshToken, Scope: resp.Scope,
		})
	})
}

// token parses the request and runs the grant it names.
func (h *Handler) token(w http.ResponseWriter, r *http.Request) (token.Response, error) {
	form, err := readForm(w, r)
	if err != nil {
		return token.Response{}, err
	}
	gt := form.Get("grant_type")
	if gt == "" {
		return token.Response{}, missing("grant_type")
	}
	if gt != grant.GrantTypeAuthorizationCode && gt != grant.GrantTypeRefreshToken {
		return token.Response{}, ErrUnsupportedGrantType
	}
	cred, err := clientCredentials(r, form)
	if err != nil {
		return token.Response{}, err
	}
	if gt == grant.GrantTypeAuthorizationCode {
		if err := require(form, "code", "redirect_uri", "code_verifier"); err != nil {
			return token.Response{}, err
		}
		return h.tokens.ExchangeCode(r.Context(), token.CodeRequest{
			ClientID: cred.ID, ClientSecret: cred.Secret, Code: form.Get("code"),
			RedirectURI: form.Get("redirect_uri"), CodeVerifier: form.Get("code_verifier"),
			Resource: form.Get("resource"),
		})
	}
	if err := require(form, "refresh_token"); err != nil {
		return token.Response{}, err
	}
	return h.tokens.Refresh(r.Context(), token.RefreshRequest{
		ClientID: cred.ID, ClientSecret: cred.Secret, RefreshToken: form.Get("refresh_token"),
		Scopes: strings.Fields(form.Get("scope")), Resource: form.Get("resource"),
	})
}

// require reports the first of names that form lacks.
func require(form url.Values, names ...string) error {
	for _, n := range names {
		if form.Get(n) == "" {
			return missing(n)
		}
	}
	return nil
}

// missing is ErrMissingParameter naming the parameter.
func missing(name string) error {
	return &paramError{err: ErrMissingParameter, name: name}
}

// paramError names the parameter an error is about.
type paramError struct {
	err  error
	name string
}

func (e *paramError) Error() string { return e.err.Error() + ": " + strconv.Quote(e.name) }
func (e *paramError) Unwrap() error { return e.err }
