// Command tour walks grantkit's store on the embedded default, an in-memory
// SQLite database: it migrates the schema, registers a client, records a
// grant with its first refresh token, rotates the token, shows that the
// rotated token is no longer active (what reuse detection builds on), and
// revokes the grant. It needs no server:
//
//	go run ./examples/tour
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"log"
	"time"

	"github.com/google/uuid"

	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	s, err := sqlite.Open(ctx, sqlite.Config{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	names, err := fs.Glob(sqlite.Migrations(), "*.sql")
	if err != nil {
		return err
	}
	fmt.Printf("migrated an in-memory SQLite database: %v\n", names)

	now := time.Now().UTC()
	client := store.Client{
		ID: "tour-client", Name: "Tour client",
		RedirectURIs:  []string{"https://client.example/callback"},
		GrantTypes:    []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"}, Scopes: []string{"tools:read", "tools:call"},
		CreatedAt: now, UpdatedAt: now,
	}
	if err := s.CreateClient(ctx, client); err != nil {
		return err
	}
	fmt.Printf("registered client %q (public: %v)\n", client.ID, client.Public())

	g := store.Grant{
		ID: newID(), ClientID: client.ID, Subject: "alice", SubjectKind: "user",
		Resource: "https://mcp.example/", RedirectURI: client.RedirectURIs[0],
		Scopes: []string{"tools:read"}, Status: store.GrantPending, CreatedAt: now,
	}
	if err := s.CreateGrant(ctx, g); err != nil {
		return err
	}
	if ok, err := s.ActivateGrant(ctx, g.ID, now); err != nil || !ok {
		return fmt.Errorf("activate: %v %v", ok, err)
	}
	fmt.Printf("grant %s is active for %s on %s\n", g.ID, g.Subject, g.Resource)

	first, firstHash := newRefresh(g.ID, newID(), "", now)
	if err := s.CreateRefreshToken(ctx, first); err != nil {
		return err
	}
	second, _ := newRefresh(g.ID, first.FamilyID, first.ID, now.Add(time.Second))
	rotated, err := s.RotateRefreshToken(ctx, first.ID, "rotated", second)
	if err != nil {
		return err
	}
	fmt.Printf("rotated refresh token %s -> %s: %v\n", first.ID, second.ID, rotated)
	if _, err := s.GetActiveRefreshToken(ctx, firstHash); err != nil {
		old, err2 := s.GetRefreshToken(ctx, firstHash)
		if err2 != nil {
			return err2
		}
		fmt.Printf("presenting the first token again finds it %s: a replay, answered by revoking the grant\n", old.RevokeReason)
	}

	revoked, err := s.RevokeGrants(ctx, []string{g.ID}, "refresh_reused", now.Add(2*time.Second))
	if err != nil {
		return err
	}
	n, err := s.RevokeRefreshTokens(ctx, []string{g.ID}, "grant_revoked", now.Add(2*time.Second))
	if err != nil {
		return err
	}
	fmt.Printf("revoked %d grant(s) and %d active refresh token(s)\n", len(revoked), n)

	page, err := s.ListActiveGrants(ctx, store.GrantFilter{Subject: "alice"}, store.Page{})
	if err != nil {
		return err
	}
	fmt.Printf("alice's connected clients now: %d\n", len(page.Items))
	return nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// newRefresh returns a refresh token record and the hash a later lookup uses.
func newRefresh(grantID, familyID, parentID string, now time.Time) (store.RefreshToken, []byte) {
	sum := sha256.Sum256([]byte(rand.Text())) // rand.Text never fails

	return store.RefreshToken{
		ID: newID(), Hash: sum[:], GrantID: grantID, FamilyID: familyID, ParentID: parentID,
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}, sum[:]
}
