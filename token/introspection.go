package token

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/store"
)

// IntrospectionRequest is a token introspection request (RFC 7662 §2.1).
// The caller authenticates as a confidential client.
type IntrospectionRequest struct {
	ClientID     string
	ClientSecret string
	// Token is the access token or refresh token to introspect.
	Token string
	// TokenTypeHint is "", HintAccessToken or HintRefreshToken.
	TokenTypeHint string
}

// Introspection is the answer about one token (RFC 7662 §2.2). When
// Active is false every other field is zero: nothing is said about an
// inactive token, not even that it exists.
type Introspection struct {
	Active bool
	// TokenType is "Bearer" for an access token (RFC 6749 §7.1) and
	// HintRefreshToken for a refresh token.
	TokenType   string
	Scope       string // space-separated (RFC 6749 §3.3)
	ClientID    string
	Subject     string
	SubjectKind string // grantkit's extension: user, api_key…
	// Audience is the access token's aud; empty for a refresh token, which
	// is presented to the authorization server only.
	Audience []string
	Issuer   string
	// JWTID is the access token's jti, or the refresh token's record id.
	JWTID string
	// ExpiresAt is the access token's exp, or the refresh token's earlier
	// of its idle and absolute expiry; zero when it never expires.
	ExpiresAt time.Time
	IssuedAt  time.Time
	NotBefore time.Time // zero when the token has no nbf
	GrantID   string    // grantkit's extension
}

// Introspect implements RFC 7662 §2. The caller must authenticate as a
// confidential client (RFC 7662 §2.1 requires authorization, against token
// scanning): a public client, whose id is no secret, is refused with
// grant.ErrInvalidClient. A missing token is grant.ErrInvalidRequest, a
// token_type_hint of another type ErrUnsupportedTokenType.
//
// A token is active when grantkit would still honour it: an access token
// the Server's Minter signed (the Verifier's checks with any audience,
// the authorization server knowing every resource, and no leeway), not
// expired, whose grant passes the Verifier's grant check (active; same
// client, subject, subject kind and resource; scopes within the grant's;
// same config_version); a refresh token that is neither revoked nor
// expired (idle and absolute lifetimes) of an active grant. The host's
// liveness check is not asked: as for the Verifier, a subject that is gone
// ends its tokens by revoking its grants.
//
// Who may see what: a client may introspect the tokens issued to it; for a
// token of another client the answer is inactive — indistinguishable from
// an unknown token — unless ServerConfig.MayIntrospect allows the caller
// that token's grant. Anything else that is not an active token is
// Introspection{} and a nil error. A store failure is returned as an error
// (server_error) with Introspection{}: never an active answer.
func (s *Server) Introspect(ctx context.Context, r IntrospectionRequest) (Introspection, error) {
	caller, err := s.grants.AuthenticateClient(ctx, r.ClientID, r.ClientSecret)
	if err != nil {
		return Introspection{}, err
	}
	if caller.Public() {
		return Introspection{}, fmt.Errorf("%w: introspection needs a confidential client", grant.ErrInvalidClient)
	}
	if r.Token == "" {
		return Introspection{}, fmt.Errorf("%w: token is required", grant.ErrInvalidRequest)
	}
	if err := checkHint(r.TokenTypeHint); err != nil {
		return Introspection{}, err
	}
	if isRefreshToken(r.Token) {
		return s.introspectRefresh(ctx, caller, r.Token)
	}
	return s.introspectAccess(ctx, caller, r.Token)
}

// introspectAccess answers for an access token.
func (s *Server) introspectAccess(ctx context.Context, caller store.Client, raw string) (Introspection, error) {
	c, ok := s.accessClaims(raw, false)
	if !ok || c.ClientID != caller.ID && s.cfg.MayIntrospect == nil {
		return Introspection{}, nil
	}
	g, ok, err := s.activeGrant(ctx, c.GrantID)
	if err != nil || !ok || !c.Audience.Contains(g.Resource) || checkGrant(c, g, g.Resource) != nil ||
		!s.visible(caller, g) {
		return Introspection{}, err
	}
	in := Introspection{Active: true, TokenType: "Bearer", Scope: c.Scope, ClientID: c.ClientID,
		Subject: c.Subject, SubjectKind: c.SubjectKind, Audience: c.Audience, Issuer: c.Issuer, JWTID: c.ID,
		ExpiresAt: c.Expiry.Time().UTC(), IssuedAt: c.IssuedAt.Time().UTC(), GrantID: c.GrantID}
	if c.NotBefore != nil {
		in.NotBefore = c.NotBefore.Time().UTC()
	}
	return in, nil
}

// introspectRefresh answers for a refresh token.
func (s *Server) introspectRefresh(ctx context.Context, caller store.Client, raw string) (Introspection, error) {
	t, err := s.store.GetRefreshToken(ctx, secret.Hash(raw))
	if errors.Is(err, store.ErrNotFound) {
		return Introspection{}, nil
	}
	if err != nil {
		return Introspection{}, fmt.Errorf("token: reading refresh token: %w", err)
	}
	if !t.Active() || t.Expired(s.grants.Now()) {
		return Introspection{}, nil
	}
	g, ok, err := s.activeGrant(ctx, t.GrantID)
	if err != nil || !ok || !s.visible(caller, g) {
		return Introspection{}, err
	}
	exp := t.ExpiresAt
	if !t.FamilyExpiresAt.IsZero() && (exp.IsZero() || t.FamilyExpiresAt.Before(exp)) {
		exp = t.FamilyExpiresAt
	}
	return Introspection{Active: true, TokenType: HintRefreshToken, Scope: strings.Join(g.Scopes, " "),
		ClientID: g.ClientID, Subject: g.Subject, SubjectKind: g.SubjectKind, Issuer: s.cfg.Minter.Issuer(),
		JWTID: t.ID, ExpiresAt: exp, IssuedAt: t.CreatedAt, GrantID: g.ID}, nil
}

// activeGrant reads grant id and reports whether it is active.
func (s *Server) activeGrant(ctx context.Context, id string) (store.Grant, bool, error) {
	g, err := s.store.GetGrant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Grant{}, false, nil
	}
	if err != nil {
		return store.Grant{}, false, fmt.Errorf("token: reading grant: %w", err)
	}
	return g, g.Status == store.GrantActive, nil
}

// visible reports whether caller may see the tokens of grant g: its own,
// or as ServerConfig.MayIntrospect allows.
func (s *Server) visible(caller store.Client, g store.Grant) bool {
	return owns(caller, g) || s.cfg.MayIntrospect != nil && s.cfg.MayIntrospect(caller, g)
}
