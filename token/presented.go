package token

import (
	"fmt"
	"strings"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/store"
)

// Token type hints (RFC 7009 §2.1, RFC 7662 §2.1), the values of the
// OAuth Token Type Hints registry (RFC 7009 §4.1.2) for the two token
// types grantkit issues.
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// checkHint refuses a token_type_hint other than HintAccessToken and
// HintRefreshToken with ErrUnsupportedTokenType; "" is no hint. A valid
// hint changes nothing: grantkit tells its token types apart by their form
// (see presented), which RFC 7009 §2.1 and RFC 7662 §2.1 allow ("MAY
// ignore this parameter, particularly if it is able to detect the token
// type automatically"), so a wrong hint still finds the token, as both
// require.
func checkHint(hint string) error {
	switch hint {
	case "", HintAccessToken, HintRefreshToken:
		return nil
	}
	return fmt.Errorf("%w: token_type_hint %q", ErrUnsupportedTokenType, hint)
}

// isRefreshToken reports whether raw has the form of a grantkit refresh
// token: every one carries secret.RefreshPrefix, which no compact JWS (its
// first segment is base64url JSON, "eyJ…") does. Anything else can only be
// an access token; a value of neither kind costs no store call.
func isRefreshToken(raw string) bool {
	return strings.HasPrefix(raw, secret.RefreshPrefix)
}

// accessClaims verifies raw as an access token this Server's Minter
// signed: every check of the Verifier that needs no store (RFC 9068 §4:
// compact JWS, allowed algorithm, a key of the Minter's KeySet, typ
// at+jwt, iss, nbf, iat and the required claims), with any audience,
// since the authorization server knows every resource, and with no
// leeway, since it reads the clock it minted with. With expiredOK an
// expired token passes too: for revocation it still names its grant.
// It reports false for anything that is not such a token.
func (s *Server) accessClaims(raw string, expiredOK bool) (Claims, bool) {
	m := s.cfg.Minter
	v := &Verifier{cfg: VerifierConfig{Issuer: m.issuer, Keys: m.keys}, now: s.grants.Now,
		anyAudience: true, expiredOK: expiredOK}
	c, err := v.verifyJWT(raw)
	return c, err == nil
}

// anotherClient is the refusal of a token issued to another client than
// the authenticated one (RFC 7009 §2.1): unauthorized_client, with a
// description that says what happened.
var anotherClient = refusal{msg: "token: the token was issued to another client", err: grant.ErrUnauthorizedClient}

// refusal is an error with its own message that wraps a sentinel.
type refusal struct {
	msg string
	err error
}

func (e refusal) Error() string { return e.msg }
func (e refusal) Unwrap() error { return e.err }

// owns reports whether g is a grant of client c.
func owns(c store.Client, g store.Grant) bool { return g.ClientID == c.ID }
