package mcpauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/interop/mcpauth"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/token"
)

// ExampleTokenVerifier protects an MCP endpoint with the SDK's
// RequireBearerToken and grantkit's Verifier: the token of an active grant
// passes with its subject and grant, and once the grant is revoked the
// same token is a 401 with the resource_metadata challenge (RFC 9728 §5.1).
func ExampleTokenVerifier() {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	grants, err := grant.New(grant.Config{Store: s, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	key, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		log.Fatal(err)
	}
	minter, err := token.NewMinter(token.MinterConfig{Issuer: "https://auth.example", Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := token.NewServer(grants, token.ServerConfig{Minter: minter})
	if err != nil {
		log.Fatal(err)
	}
	const resource = "https://mcp.example/mcp"
	verifier, err := token.NewVerifier(grants, minter.VerifierConfig(resource))
	if err != nil {
		log.Fatal(err)
	}

	// The MCP endpoint: every request needs a token with mcp:tools.
	mcp := auth.RequireBearerToken(mcpauth.TokenVerifier(verifier), &auth.RequireBearerTokenOptions{
		ResourceMetadataURL: "https://mcp.example/.well-known/oauth-protected-resource/mcp",
		Scopes:              []string{"mcp:tools"},
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := auth.TokenInfoFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", info.UserID)
	}))

	// alice authorizes a client (what /authorize and /token do over HTTP).
	if _, _, err := grants.RegisterClient(ctx, grant.ClientMetadata{ID: "agent", Name: "Agent",
		RedirectURIs: []string{"http://127.0.0.1:8765/callback"},
		GrantTypes:   []string{grant.GrantTypeAuthorizationCode}, Scopes: []string{"mcp:tools"}}); err != nil {
		log.Fatal(err)
	}
	const pkceVerifier = "a-pkce-verifier-of-at-least-forty-three-characters-long"
	sum := sha256.Sum256([]byte(pkceVerifier))
	az, err := grants.Start(ctx, grant.AuthorizationRequest{ClientID: "agent",
		RedirectURI: "http://127.0.0.1:8765/callback", Scopes: []string{"mcp:tools"}, State: "s",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: grant.CodeChallengeS256,
		Resource: resource, Subject: "alice", SubjectKind: "user"})
	if err != nil {
		log.Fatal(err)
	}
	ap, err := grants.Approve(ctx, az.Request.ID, nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := tokens.ExchangeCode(ctx, token.CodeRequest{ClientID: "agent", Code: ap.Code,
		RedirectURI: ap.RedirectURI, CodeVerifier: pkceVerifier})
	if err != nil {
		log.Fatal(err)
	}

	call := func() {
		req := httptest.NewRequest(http.MethodPost, resource, nil)
		req.Header.Set("Authorization", "Bearer "+resp.AccessToken)
		rec := httptest.NewRecorder()
		mcp.ServeHTTP(rec, req)
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String()))
		if c := rec.Header().Get("WWW-Authenticate"); c != "" {
			fmt.Println(c)
		}
	}
	call()
	// alice revokes the client: its token fails on the very next request.
	if _, err := grants.Revoke(ctx, []string{ap.Grant.ID}, grant.ReasonTokenRevoked, "alice"); err != nil {
		log.Fatal(err)
	}
	call()
	// Output:
	// 200 hello alice
	// 401 invalid token: token: invalid_token: grant not active
	// Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="mcp:tools"
}
