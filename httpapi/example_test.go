package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/token"
)

// Example mounts the endpoints on a mux and has a public client redeem a
// code (PKCE S256) at the token endpoint, then revoke its refresh token
// (RFC 7009), after which the refresh token is refused. The consent step
// is shortened here to grant.Manager.Start and Approve, which is what the
// Decision endpoint runs once the user approves.
func Example() {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	grants, _ := grant.New(grant.Config{Store: s, Logger: slog.New(slog.DiscardHandler)})
	key, _ := token.GenerateKey(token.EdDSA)
	keys, _ := token.NewKeySet(key)
	minter, _ := token.NewMinter(token.MinterConfig{Issuer: "https://auth.example", Keys: keys})
	server, _ := token.NewServer(grants, token.ServerConfig{Minter: minter})
	api, err := httpapi.New(httpapi.Config{Grants: grants, Tokens: server, Minter: minter})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Mount(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client, _, _ := grants.RegisterClient(ctx, grant.ClientMetadata{Name: "Notes app",
		RedirectURIs: []string{"https://notes.example/cb"}, Scopes: []string{"notes:read"}})
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	a, _ := grants.Start(ctx, grant.AuthorizationRequest{ClientID: client.ID, RedirectURI: "https://notes.example/cb",
		Scopes: []string{"notes:read"}, CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]),
		CodeChallengeMethod: grant.CodeChallengeS256, Resource: "https://mcp.example/", Subject: "alice", SubjectKind: "user"})
	ap, _ := grants.Approve(ctx, a.Request.ID, nil)

	postForm := func(path string, v url.Values) (int, map[string]any) {
		resp, err := http.Post(srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body) // the revocation's 200 has no body
		return resp.StatusCode, body
	}
	status, tok := postForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {ap.Code},
		"redirect_uri": {"https://notes.example/cb"}, "code_verifier": {verifier}, "client_id": {client.ID}})
	fmt.Println(status, tok["token_type"], tok["scope"])
	rt := tok["refresh_token"].(string)

	status, _ = postForm("/revoke", url.Values{"token": {rt}, "client_id": {client.ID}})
	fmt.Println(status)
	status, refused := postForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {client.ID}})
	fmt.Println(status, refused["error"])
	// Output:
	// 200 Bearer notes:read
	// 200
	// 400 invalid_grant
}
