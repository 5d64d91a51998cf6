package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/grantkit/grantkit"
)

// errorBody is an OAuth 2.0 error response (RFC 6749 §5.2, RFC 7591
// §3.2.2, RFC 7009 §2.2.1).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeJSON writes v as the JSON response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

// writeError answers err through ErrorCode, the one mapping. A 5xx answer
// is logged with the endpoint and the error (which never holds token
// material: the core packages' errors name checks, not values) and gets a
// generic description; a 4xx answer describes the refusal. invalid_client
// carries WWW-Authenticate (RFC 6749 §5.2), a 405 its Allow header.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, endpoint string, err error) {
	code, status := ErrorCode(err)
	desc := description(err)
	if code == grantkit.CodeInvalidGrant {
		// One text for every cause, so that the holder of a leaked code
		// or refresh token cannot learn that it is live for another
		// client, or which check refused it.
		desc = "the authorization code or refresh token is invalid, expired, revoked, or was issued to another client"
	}
	if status >= 500 {
		h.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: request failed",
			slog.String("endpoint", endpoint), slog.String("error", err.Error()))
		desc = "the server could not complete the request"
	}
	switch {
	case code == grantkit.CodeInvalidClient:
		w.Header().Set("WWW-Authenticate", `Basic realm="`+h.realm+`", charset="UTF-8"`)
	case status == http.StatusMethodNotAllowed:
		if allow := allowed[endpoint]; allow != "" {
			w.Header().Set("Allow", allow)
		}
	}
	writeJSON(w, status, errorBody{Error: code, Description: desc})
}

// allowed is the Allow header of each endpoint's 405.
var allowed = map[string]string{
	endpointToken:      http.MethodPost,
	endpointRevoke:     http.MethodPost,
	endpointIntrospect: http.MethodPost,
	endpointRegister:   http.MethodPost,
	endpointMetadata:   "GET, HEAD",
	endpointJWKS:       "GET, HEAD",
	endpointSessions:   "GET, DELETE",
	endpointPage:       "GET, POST",
}

// description turns err's message into an error_description: RFC 6749
// §5.2 allows only printable ASCII other than '"' and '\'.
func description(err error) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '?'
		}
		return r
	}, err.Error())
}
