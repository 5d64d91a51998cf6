package grant_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
)

// exampleManager opens a migrated in-memory SQLite store and a manager over
// it with a fixed clock.
func exampleManager(ctx context.Context) (*grant.Manager, func()) {
	s, err := sqlite.Open(ctx, sqlite.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	m, err := grant.New(grant.Config{
		Store:  s,
		Now:    func() time.Time { return time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) },
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	return m, func() { s.Close() }
}

// exampleRequest is an authorization request as the host's /authorize
// handler would build it after logging the user in.
func exampleRequest(clientID, subject string) grant.AuthorizationRequest {
	return grant.AuthorizationRequest{
		ClientID:            clientID,
		RedirectURI:         "https://app.example/callback",
		Scopes:              []string{"files:read"},
		State:               "af0ifjsldkj",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", // S256 of the client's verifier
		CodeChallengeMethod: grant.CodeChallengeS256,
		Resource:            "https://mcp.example/files",
		Subject:             subject,
		SubjectKind:         "user",
	}
}

func ExampleManager_Approve() {
	ctx := context.Background()
	m, done := exampleManager(ctx)
	defer done()

	client, _, err := m.RegisterClient(ctx, grant.ClientMetadata{
		Name:         "Example MCP client",
		RedirectURIs: []string{"https://app.example/callback"},
		Scopes:       []string{"files:read", "files:write"},
	})
	if err != nil {
		log.Fatal(err)
	}

	// The user arrives at /authorize: start the authorization.
	a, err := m.Start(ctx, exampleRequest(client.ID, "alice"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("started:", a.Grant.Status)

	// The user consented: activate the grant and issue the code.
	ap, err := m.Approve(ctx, a.Request.ID, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("approved:", ap.Grant.Status)
	fmt.Println("code prefix:", ap.Code[:len("gk_ac_")])
	fmt.Println("redirect:", ap.RedirectURI, "state:", ap.State)

	// A second authorization with the same scopes reuses the grant.
	again, err := m.Start(ctx, exampleRequest(client.ID, "alice"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("reused:", again.Reused, again.Grant.ID == ap.Grant.ID)
	// Output:
	// started: pending
	// approved: active
	// code prefix: gk_ac_
	// redirect: https://app.example/callback state: af0ifjsldkj
	// reused: true true
}

func ExampleManager_RevokeWhere() {
	ctx := context.Background()
	m, done := exampleManager(ctx)
	defer done()

	var clients []store.Client
	for _, name := range []string{"Editor", "Chat"} {
		c, _, err := m.RegisterClient(ctx, grant.ClientMetadata{Name: name,
			RedirectURIs: []string{"https://app.example/callback"}, Scopes: []string{"files:read"}})
		if err != nil {
			log.Fatal(err)
		}
		clients = append(clients, c)
	}
	// alice connected both clients, bob one.
	for _, grantOf := range []struct{ client, subject string }{
		{clients[0].ID, "alice"}, {clients[1].ID, "alice"}, {clients[0].ID, "bob"},
	} {
		a, err := m.Start(ctx, exampleRequest(grantOf.client, grantOf.subject))
		if err != nil {
			log.Fatal(err)
		}
		if _, err := m.Approve(ctx, a.Request.ID, nil); err != nil {
			log.Fatal(err)
		}
	}

	// alice's account is deleted: revoke everything she authorized, with
	// every code, refresh token and pending request hanging from it.
	revoked, err := m.RevokeWhere(ctx, store.Selector{Subject: "alice"}, "user_deleted", "admin")
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range revoked {
		fmt.Println(g.Subject, g.Status, g.RevokeReason)
	}

	// Revoking again finds nothing left to revoke.
	again, err := m.RevokeWhere(ctx, store.Selector{Subject: "alice"}, "user_deleted", "admin")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("second run revoked:", len(again))
	// Output:
	// alice revoked user_deleted
	// alice revoked user_deleted
	// second run revoked: 0
}

func ExampleManager_UpdateClient() {
	ctx := context.Background()
	m, done := exampleManager(ctx)
	defer done()

	md := grant.ClientMetadata{
		ID:           "editor",
		Name:         "Editor",
		RedirectURIs: []string{"https://app.example/callback"},
		Scopes:       []string{"files:read"},
	}
	if _, _, err := m.RegisterClient(ctx, md); err != nil {
		log.Fatal(err)
	}
	a, err := m.Start(ctx, exampleRequest("editor", "alice"))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := m.Approve(ctx, a.Request.ID, nil); err != nil {
		log.Fatal(err)
	}

	// Adding a redirect URI and a scope is additive: nothing is revoked.
	md.RedirectURIs = append(md.RedirectURIs, "https://app.example/other")
	md.Scopes = append(md.Scopes, "files:write")
	_, revoked, err := m.UpdateClient(ctx, "editor", md, "admin")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("additive change revoked:", len(revoked))

	// "/callback" → "/callback/" removes the registered URI (exact string
	// comparison): every grant of the client is revoked.
	md.RedirectURIs = []string{"https://app.example/callback/", "https://app.example/other"}
	_, revoked, err = m.UpdateClient(ctx, "editor", md, "admin")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("material change revoked:", len(revoked), revoked[0].RevokeReason)
	fmt.Println(strings.Join(grant.MaterialChange(
		store.Client{RedirectURIs: []string{"https://app.example/callback"}},
		store.Client{RedirectURIs: []string{"https://app.example/callback/"}}).RemovedRedirectURIs, ","))
	// Output:
	// additive change revoked: 0
	// material change revoked: 1 client_changed
	// https://app.example/callback
}
