package token

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/store"
)

// CodeRequest is an authorization code token request (RFC 6749 §4.1.3,
// RFC 7636 §4.5). ClientSecret is "" for public clients.
type CodeRequest struct {
	ClientID     string
	ClientSecret string
	Code         string
	RedirectURI  string
	CodeVerifier string
	// Resource, when set, must be the grant's resource (RFC 8707 §2.2).
	Resource string
}

// ExchangeCode redeems an authorization code (RFC 6749 §4.1.3). It authenticates
// the client, checks the code (unused, unexpired, same client, same
// redirect URI, PKCE S256 verifier), then — in one transaction holding the
// grant's row lock — requires the grant active, redeems the code
// (compare-and-set) and inserts the first refresh token of a new family, so
// a revocation that commits first wins and nothing is minted after it.
// A code presented again revokes its grant through the cascade and writes
// code.reused (RFC 6749 §4.1.2). Errors map to RFC 6749 §5.2 through
// ErrorCode; a store failure is never ErrInvalidGrant and never yields
// tokens.
func (s *Server) ExchangeCode(ctx context.Context, r CodeRequest) (Response, error) {
	client, err := s.authenticate(ctx, r.ClientID, r.ClientSecret, grant.GrantTypeAuthorizationCode)
	if err != nil {
		return Response{}, err
	}
	if r.Code == "" || r.RedirectURI == "" || r.CodeVerifier == "" {
		return Response{}, fmt.Errorf("%w: code, redirect_uri and code_verifier are required", grant.ErrInvalidRequest)
	}
	code, err := s.store.GetAuthCode(ctx, secret.Hash(r.Code))
	if errors.Is(err, store.ErrNotFound) {
		return Response{}, fmt.Errorf("%w: unknown code", ErrInvalidGrant)
	}
	if err != nil {
		return Response{}, fmt.Errorf("token: reading code: %w", err)
	}
	if code.ClientID != client.ID {
		return Response{}, fmt.Errorf("%w: code issued to another client", ErrInvalidGrant)
	}
	if !code.UsedAt.IsZero() {
		// A replay is reuse only when the request is otherwise valid for
		// the code's client: a confidential client authenticated above; a
		// public one must prove possession with the PKCE verifier. Anyone
		// else holding a leaked code gets a plain refusal and revokes
		// nothing.
		if client.Public() && !verifyPKCE(code.CodeChallenge, r.CodeVerifier) {
			return Response{}, fmt.Errorf("%w: PKCE verification failed", ErrInvalidGrant)
		}
		if !code.ReuseReportedAt.IsZero() {
			// Answered already (grant revoked, replay audited): a leaked
			// code replayed again costs no write transaction.
			return Response{}, fmt.Errorf("%w: authorization code", ErrReused)
		}
		return Response{}, s.codeReused(ctx, code)
	}
	now := s.grants.Now()
	switch {
	case !code.RevokedAt.IsZero():
		return Response{}, fmt.Errorf("%w: code revoked", ErrInvalidGrant)
	case !now.Before(code.ExpiresAt):
		return Response{}, fmt.Errorf("%w: code", ErrGrantExpired)
	case code.RedirectURI != r.RedirectURI:
		return Response{}, fmt.Errorf("%w: redirect_uri differs from the authorization request", ErrInvalidGrant)
	case !verifyPKCE(code.CodeChallenge, r.CodeVerifier):
		return Response{}, fmt.Errorf("%w: PKCE verification failed", ErrInvalidGrant)
	}
	var (
		resp   Response
		reused bool
	)
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		resp, reused = Response{}, false
		g, err := tx.GetGrantForUpdate(ctx, code.GrantID)
		if err != nil {
			return fmt.Errorf("token: locking grant: %w", err)
		}
		if g.Status != store.GrantActive {
			return fmt.Errorf("%w: grant is %s", ErrInvalidGrant, g.Status)
		}
		if r.Resource != "" && r.Resource != g.Resource {
			return fmt.Errorf("%w: resource differs from the grant's", ErrInvalidTarget)
		}
		ok, err := tx.RedeemAuthCode(ctx, code.ID, now)
		if err != nil {
			return fmt.Errorf("token: redeeming code: %w", err)
		}
		if !ok {
			// Changed since it was read: redeemed by a concurrent exchange
			// (a replay: revoke), or revoked, or deleted by the sweep
			// (expired: refuse, but it is not a replay).
			cur, err := tx.GetAuthCode(ctx, code.Hash)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("%w: code", ErrGrantExpired)
			case err != nil:
				return fmt.Errorf("token: reading code: %w", err)
			case cur.UsedAt.IsZero():
				return fmt.Errorf("%w: code revoked", ErrInvalidGrant)
			}
			reused = true
			return s.revokeForCode(ctx, tx, g, code, now)
		}
		if err := s.checkLive(ctx, g); err != nil {
			return err
		}
		var refresh string
		if slices.Contains(client.GrantTypes, grant.GrantTypeRefreshToken) {
			var rt store.RefreshToken
			rt, refresh = s.newRefresh(g, store.RefreshToken{}, now)
			if err := tx.CreateRefreshToken(ctx, rt); err != nil {
				return fmt.Errorf("token: storing refresh token: %w", err)
			}
		}
		resp, err = s.response(g, code.Scopes, refresh, now)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotLive) {
			s.grants.Observer().Observe(ctx, grant.Event{Type: grant.EventLivenessRefused, Reason: "not_live", Count: 1,
				ClientID: client.ID, GrantID: code.GrantID})
		}
		return Response{}, err
	}
	if reused {
		return Response{}, fmt.Errorf("%w: authorization code", ErrReused)
	}
	return resp, nil
}

// codeReused answers a code presented after its redemption: the grant is
// revoked through the cascade, and code.reused is audited.
func (s *Server) codeReused(ctx context.Context, code store.AuthCode) error {
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		g, err := tx.GetGrantForUpdate(ctx, code.GrantID)
		if err != nil {
			return fmt.Errorf("token: locking grant: %w", err)
		}
		return s.revokeForCode(ctx, tx, g, code, s.grants.Now())
	})
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: authorization code", ErrReused)
}

// revokeForCode answers a replay of code: it audits code.reused and
// revokes g through the cascade, in tx, both events reaching the observer
// after the commit — once per code: the first replay marks it, and later
// ones (the grant is revoked by then) write nothing, so one leaked code
// cannot flood the audit table or the host's alerts.
func (s *Server) revokeForCode(ctx context.Context, tx store.Tx, g store.Grant, code store.AuthCode, now time.Time) error {
	first, err := tx.MarkAuthCodeReuseReported(ctx, code.ID, now)
	if err != nil {
		return fmt.Errorf("token: marking code reuse: %w", err)
	}
	if !first {
		return nil
	}
	if err := s.grants.RecordTx(ctx, tx, grant.Event{Type: grant.EventCodeReused, Reason: grant.ReasonCodeReused,
		ClientID: g.ClientID, Subject: g.Subject, GrantID: g.ID}, g.ClientID, nil); err != nil {
		return err
	}
	_, err = s.grants.RevokeTx(ctx, tx, []string{g.ID}, grant.ReasonCodeReused, g.ClientID)
	return err
}

// verifyPKCE checks an S256 code verifier against its challenge in
// constant time (RFC 7636 §4.6); the verifier must be 43–128 unreserved
// characters (§4.1).
func verifyPKCE(challenge, verifier string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		c := verifier[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}
