package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
)

// exampleLifecycle opens an in-memory SQLite store and a grant manager
// whose clock reads *now, and returns a function connecting alice to a
// client (started and approved, as after her consent).
func exampleLifecycle(ctx context.Context, now *time.Time) (*grant.Manager, func(c store.Client, scopes ...string) store.Grant, func()) {
	s, err := sqlite.Open(ctx, sqlite.Config{})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	m, err := grant.New(grant.Config{Store: s, Now: func() time.Time { return *now },
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	connect := func(c store.Client, scopes ...string) store.Grant {
		a, err := m.Start(ctx, grant.AuthorizationRequest{ClientID: c.ID, RedirectURI: c.RedirectURIs[0],
			Scopes: scopes, CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
			CodeChallengeMethod: grant.CodeChallengeS256, Resource: "https://files.example/mcp",
			Subject: "alice", SubjectKind: "user"})
		if err != nil {
			log.Fatal(err)
		}
		ap, err := m.Approve(ctx, a.Request.ID, nil)
		if err != nil {
			log.Fatal(err)
		}
		return ap.Grant
	}
	return m, connect, func() { s.Close() }
}

func ExampleService_List() {
	ctx := context.Background()
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	m, connect, done := exampleLifecycle(ctx, &now)
	defer done()

	// An application the operator registered, and one that registered itself
	// (RFC 7591): its name is self-reported.
	desktop, _, err := m.RegisterClient(ctx, grant.ClientMetadata{Name: "Acme Desktop",
		RedirectURIs: []string{"http://127.0.0.1:8765/cb"}, Scopes: []string{"files:read", "files:write"}})
	if err != nil {
		log.Fatal(err)
	}
	bot, _, err := m.RegisterClient(ctx, grant.ClientMetadata{Name: "Helpful Bot", Dynamic: true,
		RedirectURIs: []string{"https://bot.example/cb"}, Scopes: []string{"files:read"}})
	if err != nil {
		log.Fatal(err)
	}
	connect(desktop, "files:read", "files:write")
	now = now.Add(2 * time.Hour)
	connect(bot, "files:read")

	sessions, err := session.New(m, session.Config{
		DisplayNames: func(ctx context.Context, subjects []string) (map[string]string, error) {
			return map[string]string{"alice": "Alice Liddell"}, nil // one lookup per page
		}})
	if err != nil {
		log.Fatal(err)
	}
	page, err := sessions.List(ctx, user("alice"), session.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range page.Sessions {
		name := s.ClientName
		if !s.ClientVerified {
			name += " (unverified)"
		}
		fmt.Printf("%s for %s: %s on %s since %s\n", name, s.SubjectName, strings.Join(s.Scopes, " "), s.Resource,
			s.CreatedAt.Format(time.DateTime))
	}
	fmt.Println("more pages:", page.Next != "")
	// Output:
	// Helpful Bot (unverified) for Alice Liddell: files:read on https://files.example/mcp since 2026-03-14 17:09:26
	// Acme Desktop for Alice Liddell: files:read files:write on https://files.example/mcp since 2026-03-14 15:09:26
	// more pages: false
}

func ExampleService_Revoke() {
	ctx := context.Background()
	now := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	m, connect, done := exampleLifecycle(ctx, &now)
	defer done()
	desktop, _, err := m.RegisterClient(ctx, grant.ClientMetadata{Name: "Acme Desktop",
		RedirectURIs: []string{"http://127.0.0.1:8765/cb"}, Scopes: []string{"files:read"}})
	if err != nil {
		log.Fatal(err)
	}
	g := connect(desktop, "files:read")
	now = now.Add(24 * time.Hour)

	sessions, err := session.New(m, session.Config{})
	if err != nil {
		log.Fatal(err)
	}
	// Only the grant's subject (or an admin, see Config.IsAdmin) may end it.
	err = sessions.Revoke(ctx, user("mallory"), g.ID)
	fmt.Println("mallory forbidden:", errors.Is(err, session.ErrForbidden))
	if err := sessions.Revoke(ctx, user("alice"), g.ID); err != nil {
		log.Fatal(err)
	}
	fmt.Println("alice revoked it")
	err = sessions.Revoke(ctx, user("alice"), g.ID)
	fmt.Println("again, not found:", errors.Is(err, session.ErrNotFound))

	page, err := sessions.List(ctx, user("alice"), session.ListOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sessions left:", len(page.Sessions))
	after, err := m.Store().GetGrant(ctx, g.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("grant:", after.Status, after.RevokeReason, after.RevokedAt.Format(time.DateTime))
	audit, err := m.Store().ListAuditEvents(ctx, store.AuditFilter{GrantID: g.ID}, store.Page{})
	if err != nil {
		log.Fatal(err)
	}
	var trail []string
	for _, ev := range audit.Items {
		trail = append(trail, fmt.Sprintf("%s by %s (%s)", ev.Type, ev.Actor, ev.Reason))
	}
	slices.Sort(trail)
	fmt.Println(strings.Join(trail, "\n"))
	// Output:
	// mallory forbidden: true
	// alice revoked it
	// again, not found: true
	// sessions left: 0
	// grant: revoked user_revoked 2026-03-15 15:09:26
	// grant.activated by alice ()
	// grant.created by alice ()
	// grant.revoked by alice (user_revoked)
	// session.revoked by alice (user_revoked)
}
