package grant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/grantkit/grantkit/store"
)

// CodeChallengeS256 is the only PKCE method grantkit accepts (RFC 7636
// §4.2; RFC 9700 §2.1.1).
const CodeChallengeS256 = "S256"

// AuthorizationRequest is a validated /authorize request (RFC 6749 §4.1.1)
// together with what the host learned at login: who the subject is and
// what the grant is bound to.
type AuthorizationRequest struct {
	ClientID    string
	RedirectURI string // must match one of the client's (see CheckRequest)
	Scopes      []string
	State       string
	// CodeChallenge and CodeChallengeMethod are the PKCE parameters (RFC
	// 7636 §4.3); the method must be S256.
	CodeChallenge       string
	CodeChallengeMethod string
	// Resource is the RFC 8707 resource indicator the tokens are for.
	Resource string

	Subject       string
	SubjectKind   string
	Tenant        string
	Context       json.RawMessage
	ConfigVersion int64
}

// prepare normalises req's scopes and context and refuses a context that
// is not storable JSON.
func prepare(req AuthorizationRequest) (AuthorizationRequest, error) {
	if err := checkRequestLimits(req); err != nil {
		return req, err
	}
	req.Scopes = dedupe(req.Scopes)
	if len(req.Context) > 0 {
		var compact bytes.Buffer
		if err := json.Compact(&compact, req.Context); err != nil {
			return req, fmt.Errorf("%w: context is not JSON", ErrInvalidRequest)
		}
		req.Context = compact.Bytes()
	}
	if !storableJSON(req.Context) {
		return req, fmt.Errorf("%w: context holds text that is not UTF-8 or a NUL character", ErrInvalidRequest)
	}
	return req, nil
}

// checkAgainst reads req's client with get and checks req against it:
// ErrInvalidClient for an unknown or deleted client, CheckRequest's errors,
// or a store failure.
func checkAgainst(ctx context.Context, get func(context.Context, string) (store.Client, error),
	req AuthorizationRequest) (store.Client, error) {
	c, err := get(ctx, req.ClientID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !c.DeletedAt.IsZero()):
		return store.Client{}, ErrInvalidClient
	case err != nil:
		return store.Client{}, fmt.Errorf("grant: reading client: %w", err)
	}
	return c, CheckRequest(c, req)
}

// CheckRequest validates an authorization request against client c's
// registration (RFC 6749 §4.1.1, §3.1.2.3; RFC 7636 §4.3): the
// authorization_code grant type and code response type registered, the
// length limits (MaxScopes, MaxScopeLength, MaxStateLength,
// MaxContextBytes), the redirect URI registered, every scope registered, an
// S256 PKCE challenge of the right form, a subject. It touches no state.
//
// The redirect URI must equal one of the client's as a string (RFC 6749
// §3.1.2.3, RFC 9700 §2.1), except that a registered loopback IP-literal
// URI (http://127.0.0.1 or http://[::1], with or without a port) also
// matches one that differs from it only in the port, a decimal number from
// 1 to 65535 (RFC 8252 §7.3: a native client listens on whatever port it
// gets). localhost URIs match exactly only (RFC 8252 §8.3). Start binds
// the grant to the registered URI that matched and keeps the URI as the
// request gave it, port included, on the authorization request and so the
// code, which the token endpoint compares exactly.
func CheckRequest(c store.Client, req AuthorizationRequest) error {
	if !slices.Contains(c.GrantTypes, GrantTypeAuthorizationCode) || !slices.Contains(c.ResponseTypes, ResponseTypeCode) {
		return ErrUnauthorizedClient
	}
	if err := checkRequestLimits(req); err != nil {
		return err
	}
	if _, ok := registeredRedirect(c.RedirectURIs, req.RedirectURI); !ok {
		return fmt.Errorf("%w: not registered for this client", ErrInvalidRedirectURI)
	}
	for _, s := range req.Scopes {
		if !slices.Contains(c.Scopes, s) {
			return fmt.Errorf("%w: %q is not registered for this client", ErrInvalidScope, s)
		}
	}
	if req.CodeChallengeMethod != CodeChallengeS256 {
		return fmt.Errorf("%w: code_challenge_method must be S256", ErrInvalidRequest)
	}
	if !validChallenge(req.CodeChallenge) {
		return fmt.Errorf("%w: code_challenge must be 43 base64url characters", ErrInvalidRequest)
	}
	if req.Subject == "" {
		return fmt.Errorf("%w: no subject", ErrInvalidRequest)
	}
	if !storable(req.State, req.Subject, req.SubjectKind, req.Tenant, req.Resource) {
		return fmt.Errorf("%w: text that is not UTF-8 or holds a NUL byte", ErrInvalidRequest)
	}
	return nil
}

// storableJSON reports whether the JSON document b (nil allowed) holds
// only storable text: valid UTF-8 without NUL characters, escaped (\u0000,
// which PostgreSQL's jsonb refuses) or not.
func storableJSON(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if !utf8.Valid(b) {
		return false
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return false
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case string:
			return storable(v)
		case []any:
			for _, e := range v {
				if !walk(e) {
					return false
				}
			}
		case map[string]any:
			for k, e := range v {
				if !storable(k) || !walk(e) {
					return false
				}
			}
		}
		return true
	}
	return walk(v)
}

// storable reports whether every s is text both databases store as given:
// valid UTF-8 without NUL bytes (PostgreSQL refuses both in text columns,
// which would otherwise surface as a server error instead of a 4xx).
func storable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

// validChallenge reports whether s is an S256 challenge: the unpadded
// base64url encoding of a SHA-256 digest (RFC 7636 §4.2).
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ""
}
