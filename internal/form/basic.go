package form

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// ParseBasic parses an Authorization header value of the HTTP Basic scheme
// as OAuth 2.0 client authentication uses it (RFC 6749 §2.3.1, RFC 7617
// §2): the scheme case-insensitively, then base64 of the form-urlencoded
// client id, a colon and the form-urlencoded secret. ok is false for
// another scheme, bad base64, no colon, a bad escape, an empty id, or an id
// or secret that is not Clean.
func ParseBasic(header string) (id, secret string, ok bool) {
	scheme, payload, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return "", "", false
	}
	user, pass, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil || id == "" || !Clean(id) || !Clean(secret) {
		return "", "", false
	}
	return id, secret, true
}
