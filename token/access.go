package token

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/grantkit/grantkit/store"
)

// TypeATJWT is the "typ" header of access tokens (RFC 9068 §2.1).
const TypeATJWT = "at+jwt"

// Token sources (the token_source claim).
const (
	// SourceOAuthClient marks a token issued to an OAuth client by the
	// token endpoint.
	SourceOAuthClient = "oauth_client"
	// SourceDerived marks a token a host derived from another token.
	SourceDerived = "derived"
)

// DefaultAccessTTL is an access token's lifetime unless configured.
const DefaultAccessTTL = 5 * time.Minute

// Claims are the claims of a grantkit access token (RFC 9068 §2.2) plus
// subject_kind, grant_id, token_source and config_version, which the
// Verifier's grant check compares with the grant.
type Claims struct {
	Issuer    string           `json:"iss"`
	Subject   string           `json:"sub"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	ID        string           `json:"jti"`
	// SubjectKind is the grant's subject_kind (e.g. user or api_key), so
	// the grant check can tell a user from an API key with the same id.
	SubjectKind   string `json:"subject_kind,omitempty"`
	ClientID      string `json:"client_id"`
	Scope         string `json:"scope,omitempty"`
	GrantID       string `json:"grant_id"`
	TokenSource   string `json:"token_source"`
	ConfigVersion int64  `json:"config_version"`
}

// Scopes returns the scope claim split on spaces (RFC 6749 §3.3).
func (c Claims) Scopes() []string { return strings.Fields(c.Scope) }

// RequireScopes returns ErrInsufficientScope, naming the first missing
// one, unless the token carries every scope of need (RFC 6750 §3.1).
func (c Claims) RequireScopes(need ...string) error {
	have := c.Scopes()
	for _, s := range need {
		if !slices.Contains(have, s) {
			return fmt.Errorf("%w: needs %q", ErrInsufficientScope, s)
		}
	}
	return nil
}

// MinterConfig configures a Minter.
type MinterConfig struct {
	// Issuer is the iss claim: the authorization server's issuer
	// identifier (RFC 8414 §2), an https URL. Required.
	Issuer string
	// Keys sign the tokens with their current key. Required.
	Keys *KeySet
	// TTL is the tokens' lifetime; default DefaultAccessTTL.
	TTL time.Duration
}

// Minter signs RFC 9068 access tokens with the current key of a KeySet. It
// is safe for concurrent use.
type Minter struct {
	issuer string
	keys   *KeySet
	ttl    time.Duration
}

// NewMinter returns a Minter; it refuses a missing Issuer or Keys and a
// negative TTL.
func NewMinter(cfg MinterConfig) (*Minter, error) {
	if cfg.Issuer == "" || cfg.Keys == nil {
		return nil, errors.New("token: MinterConfig needs an Issuer and Keys")
	}
	if cfg.TTL < 0 {
		return nil, errors.New("token: MinterConfig.TTL is negative")
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultAccessTTL
	}
	return &Minter{issuer: cfg.Issuer, keys: cfg.Keys, ttl: cfg.TTL}, nil
}

// Issuer returns the iss claim the Minter signs with.
func (m *Minter) Issuer() string { return m.issuer }

// Keys returns the key set the Minter signs with.
func (m *Minter) Keys() *KeySet { return m.keys }

// TTL returns the access tokens' lifetime.
func (m *Minter) TTL() time.Duration { return m.ttl }

// VerifierConfig returns the configuration of a Verifier, in the same
// process, for the resource server resource: it trusts this Minter's
// issuer and keys. Adjust the other fields before NewVerifier if need be.
func (m *Minter) VerifierConfig(resource string) VerifierConfig {
	return VerifierConfig{Issuer: m.issuer, Keys: m.keys, Resource: resource}
}

// Mint returns a signed RFC 9068 access token for grant g with the given
// scopes (already checked to be within the grant's) and token source, and
// its claims. Only an active grant gets a token.
func (m *Minter) Mint(g store.Grant, scopes []string, source string, now time.Time) (string, Claims, error) {
	if g.Status != store.GrantActive {
		return "", Claims{}, fmt.Errorf("%w: grant is %s", ErrInvalidGrant, g.Status)
	}
	c := Claims{
		Issuer: m.issuer, Subject: g.Subject, SubjectKind: g.SubjectKind, Audience: jwt.Audience{g.Resource},
		Expiry: jwt.NewNumericDate(now.Add(m.ttl)), IssuedAt: jwt.NewNumericDate(now),
		ID: uuid.Must(uuid.NewV7()).String(), ClientID: g.ClientID, Scope: strings.Join(scopes, " "),
		GrantID: g.ID, TokenSource: source, ConfigVersion: g.ConfigVersion,
	}
	raw, err := jwt.Signed(m.keys.currentSigner()).Claims(c).Serialize()
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: signing access token: %w", err)
	}
	return raw, c, nil
}
