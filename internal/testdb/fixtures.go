package testdb

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grantkit/grantkit/store"
)

// Fixtures shared by the adapters' own tests.

// Now is the fixtures' fixed time, as the store returns it.
var Now = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// NewID returns a UUIDv7; safe to call from any goroutine.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// Hash returns the SHA-256 of s.
func Hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// NewClient stores a confidential-shaped client with one redirect URI.
func NewClient(tb testing.TB, s store.Ops) store.Client {
	tb.Helper()
	c := store.Client{
		ID:            "client-" + NewID(),
		Name:          "Example",
		RedirectURIs:  []string{"https://app.example/cb"},
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		Scopes:        []string{"read"},
		CreatedAt:     Now,
		UpdatedAt:     Now,
	}
	if err := s.CreateClient(context.Background(), c); err != nil {
		tb.Fatalf("CreateClient: %v", err)
	}
	return c
}

// Grant returns an active grant of clientID for subject (not stored).
func Grant(clientID, subject string) store.Grant {
	return store.Grant{
		ID:          NewID(),
		ClientID:    clientID,
		Subject:     subject,
		SubjectKind: "user",
		Resource:    "https://mcp.example/",
		RedirectURI: "https://app.example/cb",
		Scopes:      []string{"read"},
		Status:      store.GrantActive,
		CreatedAt:   Now,
		ActivatedAt: Now,
	}
}

// Refresh returns a refresh token of grantID in family (not stored).
func Refresh(grantID, family, parent string) store.RefreshToken {
	id := NewID()
	return store.RefreshToken{
		ID: id, Hash: Hash(id), GrantID: grantID, FamilyID: family, ParentID: parent,
		CreatedAt: Now, ExpiresAt: Now.Add(time.Hour),
	}
}
