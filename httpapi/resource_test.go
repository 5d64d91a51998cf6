package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
)

// TestResourceMetadata serves RFC 9728 metadata: the document's fields
// exactly (bearer_methods_supported ["header"], optional ones omitted when
// unset), at the well-known path built as §3.1 says (suffix between host
// and path, no terminating slash after the host), and the URL a Bearer
// advertises.
func TestResourceMetadata(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		cfg      httpapi.ProtectedResourceConfig
		path     string
		url      string
		document map[string]any
	}{
		{name: "every field", cfg: httpapi.ProtectedResourceConfig{Resource: testenv.Resource,
			AuthorizationServers: []string{testenv.Issuer}, ScopesSupported: []string{"read", "write"},
			JWKSURI: "https://api.example/jwks.json", ResourceName: "Example MCP"},
			path: "/.well-known/oauth-protected-resource/mcp", url: metadataURL,
			document: map[string]any{"resource": testenv.Resource, "authorization_servers": []any{testenv.Issuer},
				"scopes_supported": []any{"read", "write"}, "bearer_methods_supported": []any{"header"},
				"jwks_uri": "https://api.example/jwks.json", "resource_name": "Example MCP"}},
		{name: "required fields only", cfg: httpapi.ProtectedResourceConfig{Resource: "https://api.example",
			AuthorizationServers: []string{testenv.Issuer, "https://auth2.example/tenant"}},
			path: "/.well-known/oauth-protected-resource", url: "https://api.example/.well-known/oauth-protected-resource",
			document: map[string]any{"resource": "https://api.example",
				"authorization_servers":    []any{testenv.Issuer, "https://auth2.example/tenant"},
				"bearer_methods_supported": []any{"header"}}},
		{name: "host with a slash", cfg: httpapi.ProtectedResourceConfig{Resource: "https://api.example/",
			AuthorizationServers: []string{testenv.Issuer}},
			path: "/.well-known/oauth-protected-resource", url: "https://api.example/.well-known/oauth-protected-resource",
			document: map[string]any{"resource": "https://api.example/", "authorization_servers": []any{testenv.Issuer},
				"bearer_methods_supported": []any{"header"}}},
		{name: "port and a path ending in a slash", cfg: httpapi.ProtectedResourceConfig{
			Resource: "https://api.example:8443/v1/mcp/", AuthorizationServers: []string{testenv.Issuer}},
			path: "/.well-known/oauth-protected-resource/v1/mcp/",
			url:  "https://api.example:8443/.well-known/oauth-protected-resource/v1/mcp/",
			document: map[string]any{"resource": "https://api.example:8443/v1/mcp/",
				"authorization_servers": []any{testenv.Issuer}, "bearer_methods_supported": []any{"header"}}},
		{name: "loopback http", cfg: httpapi.ProtectedResourceConfig{Resource: "http://127.0.0.1:9000/mcp",
			AuthorizationServers: []string{"http://localhost:9001"}},
			path: "/.well-known/oauth-protected-resource/mcp",
			url:  "http://127.0.0.1:9000/.well-known/oauth-protected-resource/mcp",
			document: map[string]any{"resource": "http://127.0.0.1:9000/mcp",
				"authorization_servers": []any{"http://localhost:9001"}, "bearer_methods_supported": []any{"header"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := httpapi.NewProtectedResource(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if p.MetadataPath() != tc.path || p.MetadataURL() != tc.url {
				t.Errorf("path, URL = %q, %q; want %q, %q", p.MetadataPath(), p.MetadataURL(), tc.path, tc.url)
			}
			mux := http.NewServeMux()
			p.Mount(mux)
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				rec := serve(mux, req{method: method, target: tc.path, header: http.Header{}})
				if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
					t.Fatalf("%s %s = %d %q", method, tc.path, rec.Code, rec.Header().Get("Content-Type"))
				}
				if method == http.MethodHead {
					continue
				}
				var got map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(tc.document, got); d != "" {
					t.Errorf("document (-want +got):\n%s", d)
				}
				// RFC 9728 §3.3: the document's resource is the identifier the
				// client derived the URL from.
				if got["resource"] != tc.cfg.Resource {
					t.Errorf("resource = %v", got["resource"])
				}
			}
			rec := serve(mux, post(tc.path, ""))
			wantError(t, rec, http.StatusMethodNotAllowed, "invalid_request")
			if rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}
			if rec := serve(mux, apiGet(tc.path+"x")); rec.Code != http.StatusNotFound {
				t.Errorf("GET %sx = %d, want the mux's 404 (exactly one path)", tc.path, rec.Code)
			}
		})
	}
}

// TestNewProtectedResource refuses what RFC 9728 §1.2 and §2 do not
// allow, and what could not be served at one literal path.
func TestNewProtectedResource(t *testing.T) {
	t.Parallel()
	as := []string{testenv.Issuer}
	cases := []struct {
		name string
		cfg  httpapi.ProtectedResourceConfig
	}{
		{name: "no resource", cfg: httpapi.ProtectedResourceConfig{AuthorizationServers: as}},
		{name: "relative resource", cfg: httpapi.ProtectedResourceConfig{Resource: "/mcp", AuthorizationServers: as}},
		{name: "http resource", cfg: httpapi.ProtectedResourceConfig{Resource: "http://api.example/mcp", AuthorizationServers: as}},
		{name: "query", cfg: httpapi.ProtectedResourceConfig{Resource: "https://api.example/mcp?x=1", AuthorizationServers: as}},
		{name: "empty query", cfg: httpapi.ProtectedResourceConfig{Resource: "https://api.example/mcp?", AuthorizationServers: as}},
		{name: "fragment", cfg: httpapi.ProtectedResourceConfig{Resource: "https://api.example/mcp#a", AuthorizationServers: as}},
		{name: "userinfo", cfg: httpapi.ProtectedResourceConfig{Resource: "https://u@api.example/mcp", AuthorizationServers: as}},
		{name: "escaped path", cfg: httpapi.ProtectedResourceConfig{Resource: "https://api.example/a%20b", AuthorizationServers: as}},
		{name: "wildcard path", cfg: httpapi.ProtectedResourceConfig{Resource: "https://api.example/{x}", AuthorizationServers: as}},
		{name: "no authorization server", cfg: httpapi.ProtectedResourceConfig{Resource: testenv.Resource}},
		{name: "authorization server with a query", cfg: httpapi.ProtectedResourceConfig{Resource: testenv.Resource,
			AuthorizationServers: []string{"https://auth.example?x"}}},
		{name: "http authorization server", cfg: httpapi.ProtectedResourceConfig{Resource: testenv.Resource,
			AuthorizationServers: []string{"http://auth.example"}}},
		{name: "scope with a space", cfg: httpapi.ProtectedResourceConfig{Resource: testenv.Resource,
			AuthorizationServers: as, ScopesSupported: []string{"read write"}}},
		{name: "scope with a quote", cfg: httpapi.ProtectedResourceConfig{Resource: testenv.Resource,
			AuthorizationServers: as, ScopesSupported: []string{`a"b`}}},
		{name: "empty scope", cfg: httpapi.ProtectedResourceConfig{Resource: testenv.Resource,
			AuthorizationServers: as, ScopesSupported: []string{""}}},
		{name: "jwks_uri over http", cfg: httpapi.ProtectedResourceConfig{Resource: testenv.Resource,
			AuthorizationServers: as, JWKSURI: "http://api.example/jwks"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if p, err := httpapi.NewProtectedResource(tc.cfg); err == nil {
				t.Errorf("NewProtectedResource = %+v, want an error", p)
			}
		})
	}
}

// TestResourceMetadataWithBearer wires the two as a resource server does:
// a request without a token gets a challenge whose resource_metadata
// URL, fetched from the same mux, is the document naming the resource
// the Verifier serves and the authorization server that issued the token
// which then passes.
func TestResourceMetadataWithBearer(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := newEnv(t, db)
		p, err := httpapi.NewProtectedResource(httpapi.ProtectedResourceConfig{Resource: testenv.Resource,
			AuthorizationServers: []string{e.Minter.Issuer()}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := httpapi.NewBearer(httpapi.BearerConfig{Verifier: e.Verifier, ResourceMetadata: p.MetadataURL()})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		p.Mount(mux)
		mux.Handle("/mcp", b.Middleware(&protected{}))

		rec := serve(mux, apiGet("https://api.example/mcp"))
		challenge := rec.Header().Get("WWW-Authenticate")
		_, u, ok := strings.Cut(challenge, `resource_metadata="`)
		u = strings.TrimSuffix(u, `"`)
		if rec.Code != http.StatusUnauthorized || !ok {
			t.Fatalf("%d %q, want a 401 challenge with resource_metadata", rec.Code, challenge)
		}
		doc := jsonBody(t, serve(mux, apiGet(u)))
		if doc["resource"] != testenv.Resource || !cmp.Equal(doc["authorization_servers"], []any{testenv.Issuer}) {
			t.Errorf("metadata at %s = %v", u, doc)
		}
		at := e.Login(e.Client(), "alice").Resp.AccessToken
		if rec := serve(mux, bearerGet("https://api.example/mcp", "Bearer "+at)); rec.Code != http.StatusTeapot {
			t.Errorf("with the token: %d %s", rec.Code, rec.Body)
		}
	})
}
