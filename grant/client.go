package grant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/store"
)

// Grant and response types a client may register (RFC 7591 §2).
const (
	GrantTypeAuthorizationCode = "authorization_code"
	GrantTypeRefreshToken      = "refresh_token"
	ResponseTypeCode           = "code"
)

// ClientMetadata is what a client registers (RFC 7591 §2).
type ClientMetadata struct {
	// ID is the client id; "" generates one.
	ID string
	// Name is shown to users; for dynamic clients it is self-reported and
	// flagged unverified.
	Name string
	// RedirectURIs are compared as exact strings, never normalised, except
	// that a loopback IP-literal URI matches any port (RFC 8252 §7.3).
	// Each must be an https URI, an http URI of a loopback host, or a
	// private-use URI whose scheme holds a dot (RFC 8252 §7.1), without
	// fragment or userinfo.
	RedirectURIs []string
	// GrantTypes default to [authorization_code, refresh_token].
	GrantTypes []string
	// ResponseTypes default to [code].
	ResponseTypes []string
	// Scopes the client may request.
	Scopes []string
	// Confidential clients get a generated secret (RFC 6749 §2.1); public
	// clients must use PKCE.
	Confidential bool
	// Dynamic marks a client registered through RFC 7591.
	Dynamic bool
}

func (md *ClientMetadata) normalize() error {
	if !storable(md.ID, md.Name) {
		return fmt.Errorf("%w: client id or name is not UTF-8 or holds a NUL byte", ErrInvalidClientMetadata)
	}
	if err := checkClientLimits(md); err != nil {
		return err
	}
	if len(md.GrantTypes) == 0 {
		md.GrantTypes = []string{GrantTypeAuthorizationCode, GrantTypeRefreshToken}
	}
	if len(md.ResponseTypes) == 0 {
		md.ResponseTypes = []string{ResponseTypeCode}
	}
	for _, gt := range md.GrantTypes {
		if gt != GrantTypeAuthorizationCode && gt != GrantTypeRefreshToken {
			return fmt.Errorf("%w: unsupported grant type %q", ErrInvalidClientMetadata, gt)
		}
	}
	for _, rt := range md.ResponseTypes {
		if rt != ResponseTypeCode {
			return fmt.Errorf("%w: unsupported response type %q", ErrInvalidClientMetadata, rt)
		}
	}
	if len(md.RedirectURIs) == 0 {
		return fmt.Errorf("%w: at least one redirect URI is required", ErrInvalidRedirectURI)
	}
	for _, u := range md.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return err
		}
	}
	for _, sc := range md.Scopes {
		if !validScopeToken(sc) {
			return fmt.Errorf("%w: invalid scope %q", ErrInvalidClientMetadata, sc)
		}
	}
	md.GrantTypes, md.ResponseTypes, md.Scopes = dedupe(md.GrantTypes), dedupe(md.ResponseTypes), dedupe(md.Scopes)
	md.RedirectURIs = dedupe(md.RedirectURIs)
	return nil
}

// validScopeToken reports whether s is a scope-token (RFC 6749 §3.3).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
			return false
		}
	}
	return true
}

func dedupe(v []string) []string {
	out := make([]string, 0, len(v))
	for _, s := range v {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// RegisterClient registers a client (RFC 7591 §3.2.1). For a confidential
// client it returns the generated secret, which is shown once and stored
// only as its SHA-256 hash. It returns ErrInvalidClientMetadata or
// ErrInvalidRedirectURI for bad metadata and store.ErrConflict if the id is
// taken.
func (m *Manager) RegisterClient(ctx context.Context, md ClientMetadata) (store.Client, string, error) {
	var (
		c     store.Client
		plain string
	)
	err := m.inTx(ctx, func(tx store.Tx) error {
		var err error
		c, plain, err = m.RegisterClientTx(ctx, tx, md)
		return err
	})
	if err != nil {
		return store.Client{}, "", err
	}
	return c, plain, nil
}

// RegisterClientTx is RegisterClient inside the caller's transaction tx,
// e.g. a host's that also records who registered the client.
func (m *Manager) RegisterClientTx(ctx context.Context, tx store.Tx, md ClientMetadata) (store.Client, string, error) {
	if err := md.normalize(); err != nil {
		return store.Client{}, "", err
	}
	if md.ID == "" {
		md.ID = newID()
	}
	now := m.clock()
	c := store.Client{ID: md.ID, Name: md.Name, RedirectURIs: md.RedirectURIs, GrantTypes: md.GrantTypes,
		ResponseTypes: md.ResponseTypes, Scopes: md.Scopes, Dynamic: md.Dynamic, CreatedAt: now, UpdatedAt: now}
	var plain string
	if md.Confidential {
		plain, c.SecretHash = secret.New(secret.ClientSecretPrefix)
	}
	if err := tx.CreateClient(ctx, c); err != nil {
		return store.Client{}, "", fmt.Errorf("grant: registering client: %w", err)
	}
	return c, plain, nil
}

// Client returns a live client; store.ErrNotFound if it does not exist or
// was deleted.
func (m *Manager) Client(ctx context.Context, id string) (store.Client, error) {
	c, err := m.store.GetClient(ctx, id)
	if err != nil {
		return store.Client{}, err
	}
	if !c.DeletedAt.IsZero() {
		return store.Client{}, fmt.Errorf("%w: client deleted", store.ErrNotFound)
	}
	return c, nil
}

// AuthenticateClient checks a client's credentials (RFC 6749 §2.3.1). A
// confidential client must present its secret, compared in constant time; a
// public client must present none. Failures return ErrInvalidClient without
// saying which check failed; a store failure returns that error instead.
func (m *Manager) AuthenticateClient(ctx context.Context, id, clientSecret string) (store.Client, error) {
	c, err := m.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, ErrInvalidClient
	}
	if err != nil {
		return store.Client{}, err
	}
	if c.Public() {
		if clientSecret != "" {
			return store.Client{}, ErrInvalidClient
		}
		return c, nil
	}
	if !secret.Equal(c.SecretHash, clientSecret) {
		return store.Client{}, ErrInvalidClient
	}
	return c, nil
}

// UpdateClient replaces a live client's metadata (RFC 7592 §2.2). The
// client's kind (confidential or public, dynamic or not) and secret are
// kept. When the change is material (see MaterialChange) every grant of
// the client is revoked through the cascade with reason
// ReasonClientChanged, in the same transaction, and the revoked grants are
// returned. A client.changed audit event records the change.
func (m *Manager) UpdateClient(ctx context.Context, id string, md ClientMetadata, actor string) (store.Client, []store.Grant, error) {
	if err := md.normalize(); err != nil { // refused before any transaction
		return store.Client{}, nil, err
	}
	var (
		updated store.Client
		revoked []store.Grant
	)
	err := m.inTx(ctx, func(tx store.Tx) error {
		var err error
		updated, revoked, err = m.UpdateClientTx(ctx, tx, id, md, actor)
		return err
	})
	if err != nil {
		return store.Client{}, nil, err
	}
	return updated, revoked, nil
}

// UpdateClientTx is UpdateClient inside the caller's transaction tx;
// events are reported after its commit, as for RevokeTx.
func (m *Manager) UpdateClientTx(ctx context.Context, tx store.Tx, id string, md ClientMetadata, actor string) (store.Client, []store.Grant, error) {
	if err := md.normalize(); err != nil {
		return store.Client{}, nil, err
	}
	var (
		updated store.Client
		revoked []store.Grant
	)
	err := func() error {
		// Locked so that concurrent updates compare against each other's
		// result (a stale copy could hide a material change) and so that
		// authorizations validating against the old registration finish
		// first (their grants are then revoked below if need be).
		old, err := tx.GetClientForUpdate(ctx, id)
		if err != nil {
			return fmt.Errorf("grant: updating client: %w", err)
		}
		if !old.DeletedAt.IsZero() {
			return fmt.Errorf("grant: updating client: %w: client deleted", store.ErrNotFound)
		}
		updated = old
		updated.Name, updated.RedirectURIs, updated.GrantTypes = md.Name, md.RedirectURIs, md.GrantTypes
		updated.ResponseTypes, updated.Scopes, updated.UpdatedAt = md.ResponseTypes, md.Scopes, m.clock()
		if err := tx.UpdateClient(ctx, updated); err != nil {
			return fmt.Errorf("grant: updating client: %w", err)
		}
		change := MaterialChange(old, updated)
		if change.Material() {
			revoked, err = m.RevokeWhereTx(ctx, tx, store.Selector{ClientID: id}, ReasonClientChanged, actor)
			if err != nil {
				return err
			}
		}
		details, err := json.Marshal(struct {
			Change  ClientChange `json:"change"`
			Revoked int          `json:"revoked_grants"`
		}{change, len(revoked)})
		if err != nil {
			return err
		}
		return tx.AppendAuditEvents(ctx, []store.AuditEvent{
			auditEvent(EventClientChanged, store.Grant{ClientID: id}, "", actor, updated.UpdatedAt, details)})
	}()
	if err != nil {
		return store.Client{}, nil, err
	}
	return updated, revoked, nil
}

// DeleteClient soft-deletes a live client and revokes all its grants
// through the cascade (reason ReasonClientDeleted) in one transaction,
// writing a client.deleted audit event. store.ErrNotFound if the client
// does not exist or is already deleted.
func (m *Manager) DeleteClient(ctx context.Context, id, actor string) ([]store.Grant, error) {
	var revoked []store.Grant
	err := m.inTx(ctx, func(tx store.Tx) error {
		var err error
		revoked, err = m.DeleteClientTx(ctx, tx, id, actor)
		return err
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

// DeleteClientTx is DeleteClient inside the caller's transaction tx;
// events are reported after its commit, as for RevokeTx.
func (m *Manager) DeleteClientTx(ctx context.Context, tx store.Tx, id, actor string) ([]store.Grant, error) {
	at := m.clock()
	if err := tx.DeleteClient(ctx, id, at); err != nil {
		return nil, fmt.Errorf("grant: deleting client: %w", err)
	}
	revoked, err := m.RevokeWhereTx(ctx, tx, store.Selector{ClientID: id}, ReasonClientDeleted, actor)
	if err != nil {
		return nil, err
	}
	if err := tx.AppendAuditEvents(ctx, []store.AuditEvent{
		auditEvent(EventClientDeleted, store.Grant{ClientID: id}, "", actor, at, nil)}); err != nil {
		return nil, fmt.Errorf("grant: writing audit event: %w", err)
	}
	return revoked, nil
}
