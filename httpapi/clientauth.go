package httpapi

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/grantkit/grantkit/grant"
)

// credentials are a client's claimed identity at a back-channel endpoint.
type credentials struct {
	ID, Secret string
}

// clientCredentials reads the client's credentials from r and its form:
// client_secret_basic (RFC 6749 §2.3.1: the id and secret
// form-urlencoded, then base64 in an HTTP Basic header), client_secret_post
// (client_id and client_secret in the body) or none (a public client's
// client_id alone). Using two methods at once, or a Basic client_id that
// differs from the body's, is ErrMultipleClientAuth (RFC 6749 §2.3); an
// Authorization header that is not valid Basic, or no client_id anywhere,
// is grant.ErrInvalidClient.
func clientCredentials(r *http.Request, form url.Values) (credentials, error) {
	auth := r.Header.Values("Authorization")
	if len(auth) == 0 {
		c := credentials{ID: form.Get("client_id"), Secret: form.Get("client_secret")}
		if c.ID == "" {
			return credentials{}, fmt.Errorf("%w: no client authentication", grant.ErrInvalidClient)
		}
		return c, nil
	}
	if len(auth) > 1 {
		return credentials{}, ErrMultipleClientAuth
	}
	scheme, payload, ok := strings.Cut(auth[0], " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return credentials{}, fmt.Errorf("%w: unsupported authentication scheme", grant.ErrInvalidClient)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return credentials{}, fmt.Errorf("%w: malformed Basic credentials", grant.ErrInvalidClient)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return credentials{}, fmt.Errorf("%w: malformed Basic credentials", grant.ErrInvalidClient)
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if err1 != nil || err2 != nil || id == "" || !clean(id) || !clean(secret) {
		return credentials{}, fmt.Errorf("%w: malformed Basic credentials", grant.ErrInvalidClient)
	}
	if form.Has("client_secret") {
		return credentials{}, ErrMultipleClientAuth
	}
	if fid := form.Get("client_id"); fid != "" && fid != id {
		return credentials{}, ErrMultipleClientAuth
	}
	return credentials{ID: id, Secret: secret}, nil
}
