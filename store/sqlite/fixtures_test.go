package sqlite_test

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
)

// now is the fixtures' fixed time, as the store returns it.
var now = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)

// newID returns a UUIDv7; safe to call from any goroutine.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// open opens a store with cfg, closes it when tb ends and, if migrate is
// set, migrates it.
func open(tb testing.TB, cfg sqlite.Config, migrate bool) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("Open(%+v): %v", cfg, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if migrate {
		if err := s.Migrate(context.Background()); err != nil {
			tb.Fatalf("Migrate: %v", err)
		}
	}
	return s
}

// filePath names a database file in a fresh temporary directory.
func filePath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "grantkit.db")
}

func newClient(tb testing.TB, s store.Ops) store.Client {
	tb.Helper()
	c := store.Client{
		ID:            "client-" + newID(),
		Name:          "Example",
		RedirectURIs:  []string{"https://app.example/cb"},
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"},
		Scopes:        []string{"read"},
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if err := s.CreateClient(context.Background(), c); err != nil {
		tb.Fatalf("CreateClient: %v", err)
	}
	return c
}

// grant returns an active grant of clientID for subject (not stored).
func grant(clientID, subject string) store.Grant {
	return store.Grant{
		ID:          newID(),
		ClientID:    clientID,
		Subject:     subject,
		SubjectKind: "user",
		Resource:    "https://mcp.example/",
		RedirectURI: "https://app.example/cb",
		Scopes:      []string{"read"},
		Status:      store.GrantActive,
		CreatedAt:   now,
		ActivatedAt: now,
	}
}

// refresh returns a refresh token of grantID in family (not stored).
func refresh(grantID, family, parent string) store.RefreshToken {
	id := newID()
	return store.RefreshToken{
		ID: id, Hash: hash(id), GrantID: grantID, FamilyID: family, ParentID: parent,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	}
}
