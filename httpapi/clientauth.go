package httpapi

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/form"
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
func clientCredentials(r *http.Request, body url.Values) (credentials, error) {
	auth := r.Header.Values("Authorization")
	if len(auth) == 0 {
		c := credentials{ID: body.Get("client_id"), Secret: body.Get("client_secret")}
		if c.ID == "" {
			return credentials{}, fmt.Errorf("%w: no client authentication", grant.ErrInvalidClient)
		}
		return c, nil
	}
	if len(auth) > 1 {
		return credentials{}, ErrMultipleClientAuth
	}
	id, secret, ok := form.ParseBasic(auth[0])
	if !ok {
		return credentials{}, fmt.Errorf("%w: malformed or unsupported Authorization header", grant.ErrInvalidClient)
	}
	if body.Has("client_secret") {
		return credentials{}, ErrMultipleClientAuth
	}
	if fid := body.Get("client_id"); fid != "" && fid != id {
		return credentials{}, ErrMultipleClientAuth
	}
	return credentials{ID: id, Secret: secret}, nil
}
