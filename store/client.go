package store

import "time"

// Client is a registered OAuth 2.0 client (RFC 6749 §2, RFC 7591).
//
// A client with a nil SecretHash is public (RFC 6749 §2.1) and must use PKCE.
// RedirectURIs are compared as exact strings, never normalised. Name is
// self-reported for dynamic clients and must be shown as unverified.
type Client struct {
	ID            string
	Name          string
	SecretHash    []byte
	RedirectURIs  []string
	GrantTypes    []string
	ResponseTypes []string
	Scopes        []string
	Dynamic       bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// DeletedAt is the soft-delete time; zero while the client is live.
	DeletedAt time.Time
}

// Public reports whether the client has no secret (RFC 6749 §2.1).
func (c Client) Public() bool { return len(c.SecretHash) == 0 }
