// Command tour walks grantkit's grant lifecycle on an in-memory SQLite
// database and prints each step: register a client, authorize and approve
// with PKCE, exchange the code, verify the access token, refresh, replay the
// old refresh token (reuse detected, grant revoked, access token refused),
// list and revoke a connected client, sweep, and the audit trail. It needs no server:
//
//	go run ./examples/tour
package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/grantkit/grantkit"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/sweep"
	"github.com/grantkit/grantkit/token"
)

const (
	issuer   = "https://auth.example"
	resource = "https://mcp.example/"
	callback = "https://client.example/callback"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer) error {
	step := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }

	// The embedded default: an in-memory SQLite database.
	s, err := sqlite.Open(ctx, sqlite.Config{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	// The tour's clock: real time, moved a month ahead for the sweep.
	var later time.Duration
	now := func() time.Time { return time.Now().Add(later) }
	grants, err := grant.New(grant.Config{Store: s, Now: now, Logger: slog.New(slog.DiscardHandler),
		Observer: grant.ObserverFunc(func(_ context.Context, e grant.Event) {
			if e.Reason == "" {
				step("   ! security event for the host: %s (%d rows)", e.Type, e.Count)
				return
			}
			step("   ! security event for the host: %s (reason %s)", e.Type, e.Reason)
		})})
	if err != nil {
		return err
	}
	key, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		return err
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		return err
	}
	minter, err := token.NewMinter(token.MinterConfig{Issuer: issuer, Keys: keys})
	if err != nil {
		return err
	}
	server, err := token.NewServer(grants, token.ServerConfig{Minter: minter})
	if err != nil {
		return err
	}
	verifier, err := token.NewVerifier(grants, minter.VerifierConfig(resource))
	if err != nil {
		return err
	}

	// 1. A public client registers (RFC 7591).
	client, _, err := grants.RegisterClient(ctx, grant.ClientMetadata{Name: "Tour client",
		RedirectURIs: []string{callback}, Scopes: []string{"tools:read", "tools:call"}})
	if err != nil {
		return err
	}
	step("1. registered public client %q", client.Name)

	// 2. It starts an authorization with PKCE; the host logs alice in and
	// she approves.
	verifierPKCE := rand.Text() + rand.Text() // 52 random unreserved characters (RFC 7636 §4.1)
	sum := sha256.Sum256([]byte(verifierPKCE))
	authz, err := grants.Start(ctx, grant.AuthorizationRequest{ClientID: client.ID, RedirectURI: callback,
		Scopes: []string{"tools:read"}, State: "af0ifjsldkj", Resource: resource,
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: grant.CodeChallengeS256,
		Subject: "alice", SubjectKind: "user"})
	if err != nil {
		return err
	}
	step("2. authorization started: grant is %s", authz.Grant.Status)
	approval, err := grants.Approve(ctx, authz.Request.ID, nil)
	if err != nil {
		return err
	}
	step("   alice approved: grant is %s, code %s… sent to %s", approval.Grant.Status, approval.Code[:10], approval.RedirectURI)

	// 3. The client exchanges the code with its PKCE verifier.
	first, err := server.ExchangeCode(ctx, token.CodeRequest{ClientID: client.ID, Code: approval.Code,
		RedirectURI: callback, CodeVerifier: verifierPKCE})
	if err != nil {
		return err
	}
	step("3. code exchanged: access token (%d s) and refresh token %s…", first.ExpiresIn, first.RefreshToken[:10])

	// 4. The resource server verifies the access token, grant check included.
	claims, err := verifier.Verify(ctx, first.AccessToken)
	if err != nil {
		return err
	}
	step("4. access token verified: sub=%s scope=%q aud=%s", claims.Subject, claims.Scope, claims.Audience[0])

	// 5. The client refreshes: the refresh token rotates.
	second, err := server.Refresh(ctx, token.RefreshRequest{ClientID: client.ID, RefreshToken: first.RefreshToken})
	if err != nil {
		return err
	}
	step("5. refreshed: new refresh token %s…, the old one is now spent", second.RefreshToken[:10])

	// 6. Someone replays the old refresh token: reuse is detected and the
	// whole grant is revoked (RFC 9700 §4.14.2).
	_, err = server.Refresh(ctx, token.RefreshRequest{ClientID: client.ID, RefreshToken: first.RefreshToken})
	code, status := grantkit.ErrorCode(err)
	step("6. old refresh token replayed: %s, HTTP %d (%v)", code, status, err)
	g, err := s.GetGrant(ctx, approval.Grant.ID)
	if err != nil {
		return err
	}
	step("   grant is now %s (reason %s)", g.Status, g.RevokeReason)

	// 7. The access token from step 5 has not expired, yet it is refused.
	_, err = verifier.Verify(ctx, second.AccessToken)
	step("7. the latest access token is refused: %v", err)
	_, err = server.Refresh(ctx, token.RefreshRequest{ClientID: client.ID, RefreshToken: second.RefreshToken})
	code, _ = grantkit.ErrorCode(err)
	step("   and so is the latest refresh token: %s", code)

	// 8. Alice connects a second client, registered dynamically: her
	// "connected clients" page lists it, name flagged unverified.
	notes, _, err := grants.RegisterClient(ctx, grant.ClientMetadata{Name: "Notes app", Dynamic: true,
		RedirectURIs: []string{callback}, Scopes: []string{"tools:read"}})
	if err != nil {
		return err
	}
	notesTokens, err := connect(ctx, grants, server, notes.ID, "alice")
	if err != nil {
		return err
	}
	alice := session.Caller{Subject: "alice", Kind: "user"} // as the host authenticated her
	sessions, err := session.New(grants, session.Config{})
	if err != nil {
		return err
	}
	list, err := sessions.List(ctx, alice, session.ListOptions{})
	if err != nil {
		return err
	}
	step("8. alice's connected clients: %d", len(list.Sessions))
	for _, c := range list.Sessions {
		step("   %s (verified name: %v) on %s, scopes %v", c.ClientName, c.ClientVerified, c.Resource, c.Scopes)
	}

	// 9. She revokes it from that page: its tokens stop working at once.
	if err := sessions.Revoke(ctx, alice, list.Sessions[0].GrantID); err != nil {
		return err
	}
	list, err = sessions.List(ctx, alice, session.ListOptions{})
	if err != nil {
		return err
	}
	_, err = verifier.Verify(ctx, notesTokens.AccessToken)
	step("9. alice revoked %q: %d connected clients left; its access token: %v", notes.Name, len(list.Sessions), err)

	// 10. A month later the sweep deletes what is expired or long revoked.
	later = 31 * 24 * time.Hour
	sweeper, err := sweep.New(grants, sweep.Config{})
	if err != nil {
		return err
	}
	counts, err := sweeper.RunOnce(ctx)
	if err != nil {
		return err
	}
	step("10. sweep a month later deleted %d refresh tokens, %d codes, %d revoked grants, %d orphan dynamic clients; audit kept",
		counts.RefreshTokens, counts.AuthCodes, counts.RevokedGrants, counts.OrphanClients)

	// 11. Everything above left an audit trail.
	page, err := s.ListAuditEvents(ctx, store.AuditFilter{Subject: "alice"}, store.Page{})
	if err != nil {
		return err
	}
	step("11. audit trail for alice, oldest first:")
	for _, e := range slices.Backward(page.Items) {
		actor := e.Actor
		if actor == client.ID {
			actor = "client " + client.Name
		}
		step("   %-16s reason=%-15s actor=%s", e.Type, e.Reason, actor)
	}
	return nil
}

// connect runs one authorization for subject with client clientID —
// start, approve, exchange with PKCE — and returns the tokens.
func connect(ctx context.Context, grants *grant.Manager, server *token.Server, clientID, subject string) (token.Response, error) {
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	authz, err := grants.Start(ctx, grant.AuthorizationRequest{ClientID: clientID, RedirectURI: callback,
		Scopes: []string{"tools:read"}, Resource: resource, Subject: subject, SubjectKind: "user",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: grant.CodeChallengeS256})
	if err != nil {
		return token.Response{}, err
	}
	approval, err := grants.Approve(ctx, authz.Request.ID, nil)
	if err != nil {
		return token.Response{}, err
	}
	return server.ExchangeCode(ctx, token.CodeRequest{ClientID: clientID, Code: approval.Code, RedirectURI: callback,
		CodeVerifier: verifier})
}
