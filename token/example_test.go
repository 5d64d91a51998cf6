package token_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/token"
)

// exampleGrant opens an in-memory store and returns it with an active
// grant of alice for https://api.example/mcp.
func exampleGrant(ctx context.Context) (*sqlite.Store, *grant.Manager, store.Grant) {
	s, err := sqlite.Open(ctx, sqlite.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	m, err := grant.New(grant.Config{Store: s, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	c, _, err := m.RegisterClient(ctx, grant.ClientMetadata{Name: "Example", RedirectURIs: []string{"https://app.example/cb"},
		Scopes: []string{"read"}})
	if err != nil {
		log.Fatal(err)
	}
	sum := sha256.Sum256([]byte(strings.Repeat("example-verifier-", 3)))
	a, err := m.Start(ctx, grant.AuthorizationRequest{ClientID: c.ID, RedirectURI: "https://app.example/cb",
		Scopes: []string{"read"}, CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]),
		CodeChallengeMethod: grant.CodeChallengeS256, Resource: "https://api.example/mcp", Subject: "alice"})
	if err != nil {
		log.Fatal(err)
	}
	ap, err := m.Approve(ctx, a.Request.ID, nil)
	if err != nil {
		log.Fatal(err)
	}
	return s, m, ap.Grant
}

// Rotating the signing key without downtime: tokens of the previous key
// keep verifying until the key is removed, once they have expired.
func ExampleKeySet_Rotate() {
	ctx := context.Background()
	s, m, g := exampleGrant(ctx)
	defer s.Close()

	first, _ := token.GenerateKey(token.EdDSA)
	keys, _ := token.NewKeySet(first)
	minter, err := token.NewMinter(token.MinterConfig{Issuer: "https://as.example", Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(m, minter.VerifierConfig("https://api.example/mcp"))
	if err != nil {
		log.Fatal(err)
	}
	verify := func(raw string) string {
		if _, err := verifier.Verify(ctx, raw); err != nil {
			return err.Error()
		}
		return "ok"
	}

	old, _, _ := minter.Mint(g, g.Scopes, token.SourceOAuthClient, time.Now())
	next, _ := token.GenerateKey(token.EdDSA)
	if err := keys.Rotate(next); err != nil {
		log.Fatal(err)
	}
	fresh, _, _ := minter.Mint(g, g.Scopes, token.SourceOAuthClient, time.Now())
	fmt.Println("after Rotate, JWKS keys:", len(keys.JWKS().Keys), "current first:", keys.JWKS().Keys[0].KeyID == next.ID)
	fmt.Println("old token:", verify(old), "| new token:", verify(fresh))

	fmt.Println("remove the current key:", keys.Remove(next.ID))
	if err := keys.Remove(first.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println("after Remove, JWKS keys:", len(keys.JWKS().Keys))
	fmt.Println("old token:", verify(old), "| new token:", verify(fresh))
	// Output:
	// after Rotate, JWKS keys: 2 current first: true
	// old token: ok | new token: ok
	// remove the current key: token: the current signing key cannot be removed
	// after Remove, JWKS keys: 1
	// old token: token: invalid_token: unknown key id | new token: ok
}
