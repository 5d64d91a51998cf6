package token

import (
	"context"
	"errors"
	"fmt"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/store"
)

// RevocationRequest is a token revocation request (RFC 7009 §2.1).
// ClientSecret is "" for a public client.
type RevocationRequest struct {
	ClientID     string
	ClientSecret string
	// Token is the refresh token or access token to revoke.
	Token string
	// TokenTypeHint is "", HintAccessToken or HintRefreshToken.
	TokenTypeHint string
}

// Revoke implements RFC 7009 §2. It authenticates the client (a
// confidential client with its secret, a public one by its id alone,
// RFC 7009 §5), refuses a missing token (grant.ErrInvalidRequest) and a
// token_type_hint of another type (ErrUnsupportedTokenType), then finds
// the token: a refresh token by its hash, an access token by verifying it
// as one the Server's Minter signed, for any audience and even once
// expired, since it still names its grant. Revoking either revokes the
// token's whole grant through the cascade (reason
// grant.ReasonTokenRevoked, actor the client id): its refresh tokens, and
// its access tokens, which the Verifier's grant check refuses from then on
// (RFC 7009 §2.1 "SHOULD also invalidate all access tokens based on the
// same authorization grant").
//
// An unknown, malformed or already revoked token (a refresh token rotated
// away or revoked, a token of a revoked grant) returns nil and changes
// nothing (RFC 7009 §2.2: the client cannot do anything about it). A token
// issued to another client is refused with an error wrapping
// grant.ErrUnauthorizedClient and revokes nothing (RFC 7009 §2.1: the
// server verifies "whether the token was issued to the client making the
// revocation request" and refuses otherwise); answering 200 instead would
// tell that client its revocation worked when it did not. Any other error
// is a store failure (server_error), never nil: a revocation that did not
// happen is never reported as done.
func (s *Server) Revoke(ctx context.Context, r RevocationRequest) error {
	client, err := s.grants.AuthenticateClient(ctx, r.ClientID, r.ClientSecret)
	if err != nil {
		return err
	}
	if r.Token == "" {
		return fmt.Errorf("%w: token is required", grant.ErrInvalidRequest)
	}
	if err := checkHint(r.TokenTypeHint); err != nil {
		return err
	}
	g, err := s.revocable(ctx, client, r.Token)
	if err != nil || g == "" {
		return err
	}
	_, err = s.grants.Revoke(ctx, []string{g}, grant.ReasonTokenRevoked, client.ID)
	return err
}

// revocable returns the id of the grant that revoking raw for client
// revokes, "" when there is nothing to revoke. A token's grant and a
// grant's client never change, so reading them outside the cascade's
// transaction leaves no window: a concurrent revocation or rotation
// meanwhile makes the cascade a no-op at worst.
func (s *Server) revocable(ctx context.Context, client store.Client, raw string) (string, error) {
	var (
		id     string
		active bool // the token itself is not revoked
	)
	if isRefreshToken(raw) {
		t, err := s.store.GetRefreshToken(ctx, secret.Hash(raw))
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("token: reading refresh token: %w", err)
		}
		id, active = t.GrantID, t.Active()
	} else {
		c, ok := s.accessClaims(raw, true)
		if !ok {
			return "", nil
		}
		if c.ClientID != client.ID {
			return "", anotherClient
		}
		id, active = c.GrantID, true
	}
	g, err := s.store.GetGrant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil // swept
	}
	if err != nil {
		return "", fmt.Errorf("token: reading grant: %w", err)
	}
	if !owns(client, g) {
		return "", anotherClient
	}
	if !active || g.Status == store.GrantRevoked {
		return "", nil
	}
	return g.ID, nil
}
