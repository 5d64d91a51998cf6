package token

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/store"
)

// ReusePolicy says what a detected refresh token reuse revokes (RFC 9700 §4.14.2).
type ReusePolicy int

const (
	// RevokeGrant revokes the whole grant through the cascade (default;
	// RFC 9700 §4.14.2).
	RevokeGrant ReusePolicy = iota
	// RevokeFamily revokes only the token family.
	RevokeFamily
)

// LivenessFunc reports whether the grant's subject may still get tokens
// (the user still exists and is enabled, the API key still exists). false
// refuses with ErrNotLive (invalid_grant); an error refuses with a
// server_error, never the other way round.
//
// It runs inside the token transaction, after the grant's row is locked, so
// that a subject disabled meanwhile cannot get a token: it must be quick
// and must not write through the Store or the Manager (on PostgreSQL a
// revocation of the same grant waits for the lock the caller holds; on
// SQLite every grantkit write waits behind the open transaction). To
// revoke a subject that is gone, return false and revoke after the call
// returns (for example from the observer's liveness.refused event).
type LivenessFunc func(ctx context.Context, g store.Grant) (bool, error)

// Default refresh token lifetimes. A rotating refresh token that never
// expires is a standing credential for whoever steals it (RFC 9700 §4.14.2
// recommends expiring unused ones), so grantkit bounds both by default,
// near what hosted authorization servers ship: Auth0 expires rotating
// refresh tokens after 15 days unused and a family after 30 days; Okta
// expires a token unused for 7 days (family unlimited); Keycloak ends an
// offline session after 30 days idle. An MCP client used weekly keeps
// working; one unused for over two weeks, or a family older than three
// months, must authorize again.
const (
	DefaultRefreshIdleTTL     = 15 * 24 * time.Hour
	DefaultRefreshAbsoluteTTL = 90 * 24 * time.Hour
)

// Unlimited, as RefreshIdleTTL or RefreshAbsoluteTTL, means no such
// lifetime.
const Unlimited time.Duration = -1

// ServerConfig configures a Server. Only Minter is required.
type ServerConfig struct {
	// Minter signs the access tokens. Required.
	Minter *Minter
	// Liveness, when set, is asked before every token is minted.
	Liveness LivenessFunc
	// ReusePolicy defaults to RevokeGrant.
	ReusePolicy ReusePolicy
	// ReuseLeeway, when positive, lets a refresh token rotated less than
	// this long ago be presented once more (a network retry): it yields a
	// fresh pair in the same family instead of a revocation, and the
	// successor issued the first time is revoked, so a family never has
	// two active tokens. Default 0: strict.
	ReuseLeeway time.Duration
	// RefreshIdleTTL is each refresh token's lifetime: a token not
	// rotated within it expires. Default DefaultRefreshIdleTTL; Unlimited
	// for none.
	RefreshIdleTTL time.Duration
	// RefreshAbsoluteTTL is a family's lifetime from the code exchange.
	// Default DefaultRefreshAbsoluteTTL; Unlimited for none. It is fixed into each family when the family starts:
	// changing it affects families started afterwards, not existing ones
	// (to end existing sessions, revoke their grants).
	RefreshAbsoluteTTL time.Duration
	// MayIntrospect, when set, lets an authenticated confidential client
	// introspect tokens issued to other clients (RFC 7662 §2.1: the
	// server decides who may introspect what) — typically a resource
	// server registered as a client, for the grants of its own resource.
	// It is asked only about a token that is otherwise active, with the
	// caller and the token's grant; false, or no MayIntrospect at all,
	// answers active: false, as for an unknown token. A client always
	// may introspect its own tokens.
	MayIntrospect func(caller store.Client, g store.Grant) bool
}

// Server implements the token endpoint's grants (RFC 6749 §4.1.3, §6). It
// is safe for concurrent use.
type Server struct {
	cfg    ServerConfig
	grants *grant.Manager
	store  store.Store
	// idle and absolute are the refresh lifetimes, 0 for none.
	idle, absolute time.Duration
}

// NewServer returns a Server over the grants of m, which provides client
// authentication, the cascade, the store, the clock and the observer. It
// refuses a missing Minter, an unknown ReusePolicy and negative durations
// (other than Unlimited).
func NewServer(m *grant.Manager, cfg ServerConfig) (*Server, error) {
	if m == nil || cfg.Minter == nil {
		return nil, errors.New("token: NewServer needs a *grant.Manager and ServerConfig.Minter")
	}
	if cfg.ReuseLeeway < 0 {
		return nil, errors.New("token: ServerConfig.ReuseLeeway is negative")
	}
	if cfg.ReusePolicy != RevokeGrant && cfg.ReusePolicy != RevokeFamily {
		return nil, errors.New("token: unknown ReusePolicy")
	}
	s := &Server{cfg: cfg, grants: m, store: m.Store()}
	var err error
	if s.idle, err = lifetime("RefreshIdleTTL", cfg.RefreshIdleTTL, DefaultRefreshIdleTTL); err != nil {
		return nil, err
	}
	if s.absolute, err = lifetime("RefreshAbsoluteTTL", cfg.RefreshAbsoluteTTL, DefaultRefreshAbsoluteTTL); err != nil {
		return nil, err
	}
	return s, nil
}

// lifetime resolves a configured refresh lifetime: 0 is the default,
// Unlimited is none (0), any other negative value is refused.
func lifetime(name string, d, def time.Duration) (time.Duration, error) {
	switch {
	case d == 0:
		return def, nil
	case d == Unlimited:
		return 0, nil
	case d < 0:
		return 0, fmt.Errorf("token: ServerConfig.%s is negative (use Unlimited for none)", name)
	}
	return d, nil
}

// Response is a successful token response (RFC 6749 §5.1).
type Response struct {
	AccessToken  string
	TokenType    string // "Bearer"
	ExpiresIn    int64  // seconds
	RefreshToken string // "" when the client may not refresh
	Scope        string
	// Claims are the access token's claims, for hosts that log or
	// introspect them.
	Claims Claims
}

// authenticate checks the client and that it registered grantType.
func (s *Server) authenticate(ctx context.Context, clientID, secret, grantType string) (store.Client, error) {
	c, err := s.grants.AuthenticateClient(ctx, clientID, secret)
	if err != nil {
		return store.Client{}, err
	}
	if !slices.Contains(c.GrantTypes, grantType) {
		return store.Client{}, grant.ErrUnauthorizedClient
	}
	return c, nil
}

// checkLive runs the liveness check.
func (s *Server) checkLive(ctx context.Context, g store.Grant) error {
	if s.cfg.Liveness == nil {
		return nil
	}
	live, err := s.cfg.Liveness(ctx, g)
	if err != nil {
		return errors.Join(errors.New("token: liveness check failed"), err) // server_error
	}
	if !live {
		return ErrNotLive
	}
	return nil
}

// response mints the access token for g and builds the token response.
func (s *Server) response(g store.Grant, scopes []string, refresh string, now time.Time) (Response, error) {
	raw, claims, err := s.cfg.Minter.Mint(g, scopes, SourceOAuthClient, now)
	if err != nil {
		return Response{}, err
	}
	return Response{AccessToken: raw, TokenType: "Bearer", ExpiresIn: int64(s.cfg.Minter.TTL() / time.Second),
		RefreshToken: refresh, Scope: strings.Join(scopes, " "), Claims: claims}, nil
}

// newRefresh builds the record of a refresh token in family (a new family
// when parent is the zero token).
func (s *Server) newRefresh(g store.Grant, parent store.RefreshToken, now time.Time) (store.RefreshToken, string) {
	raw, hash := secret.New(secret.RefreshPrefix)
	t := store.RefreshToken{ID: newID(), Hash: hash, GrantID: g.ID, FamilyID: parent.FamilyID, ParentID: parent.ID,
		CreatedAt: now, FamilyExpiresAt: parent.FamilyExpiresAt}
	if t.FamilyID == "" {
		t.FamilyID = newID()
		if s.absolute > 0 {
			t.FamilyExpiresAt = now.Add(s.absolute)
		}
	}
	if s.idle > 0 {
		t.ExpiresAt = now.Add(s.idle)
	}
	return t, raw
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
