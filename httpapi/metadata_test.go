package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/token"
)

var sqliteDB = testdb.DB{Name: "sqlite", Harness: testdb.SQLite()}

// TestMetadata: the RFC 8414 document at its well-known path names the
// issuer and every endpoint, S256 only, and the RFC 9207 iss parameter.
func TestMetadata(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB, func(c *httpapi.Config) {
		c.ScopesSupported = []string{"read", "write"}
		c.Authorizer = &authorizer{}
	})
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		rec := serve(e.Mux, req{method: method, target: "/.well-known/oauth-authorization-server", header: http.Header{}})
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %q", method, rec.Code, rec.Header().Get("Content-Type"))
		}
		if cc := rec.Header().Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
			t.Errorf("Cache-Control = %q, want public", cc)
		}
		if method == http.MethodHead {
			continue
		}
		auth := []any{"none", "client_secret_basic", "client_secret_post"}
		want := map[string]any{
			"issuer":                                         testenv.Issuer,
			"authorization_endpoint":                         testenv.Issuer + "/authorize",
			"token_endpoint":                                 testenv.Issuer + "/token",
			"revocation_endpoint":                            testenv.Issuer + "/revoke",
			"introspection_endpoint":                         testenv.Issuer + "/introspect",
			"registration_endpoint":                          testenv.Issuer + "/register",
			"jwks_uri":                                       testenv.Issuer + "/jwks.json",
			"scopes_supported":                               []any{"read", "write"},
			"response_types_supported":                       []any{"code"},
			"response_modes_supported":                       []any{"query"},
			"grant_types_supported":                          []any{"authorization_code", "refresh_token"},
			"token_endpoint_auth_methods_supported":          auth,
			"revocation_endpoint_auth_methods_supported":     auth,
			"introspection_endpoint_auth_methods_supported":  []any{"client_secret_basic", "client_secret_post"},
			"code_challenge_methods_supported":               []any{"S256"},
			"authorization_response_iss_parameter_supported": true,
		}
		if d := cmp.Diff(want, jsonBody(t, rec)); d != "" {
			t.Errorf("metadata (-want +got):\n%s", d)
		}
	}
	rec := serve(e.Mux, post("/.well-known/oauth-authorization-server", ""))
	wantError(t, rec, http.StatusMethodNotAllowed, "invalid_request")
	if rec.Header().Get("Allow") != "GET, HEAD" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("405: Allow %q, Cache-Control %q", rec.Header().Get("Allow"), rec.Header().Get("Cache-Control"))
	}
}

// TestMetadataOnlyWhatIsMounted: without an Authorizer there is no
// authorization endpoint, with DisableRegistration no registration
// endpoint — in the document and on the mux alike (RFC 8414 §2).
func TestMetadataOnlyWhatIsMounted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB, func(c *httpapi.Config) { c.DisableRegistration = true })
	m := jsonBody(t, serve(e.Mux, req{method: http.MethodGet, target: "/.well-known/oauth-authorization-server", header: http.Header{}}))
	for _, k := range []string{"authorization_endpoint", "registration_endpoint"} {
		if v, ok := m[k]; ok {
			t.Errorf("%s = %v advertised, but not mounted", k, v)
		}
	}
	for _, path := range []string{"/authorize", "/register"} {
		if rec := serve(e.Mux, post(path, "")); rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404 (not mounted)", path, rec.Code)
		}
	}
	if m["token_endpoint"] != testenv.Issuer+"/token" {
		t.Errorf("token_endpoint = %v", m["token_endpoint"])
	}
}

// TestMetadataIssuerPath: an issuer with a path serves its metadata at
// the well-known prefix followed by that path (RFC 8414 §3.1), and the
// document's issuer is the configured one, exactly.
func TestMetadataIssuerPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, sqliteDB)
	for _, tc := range []struct{ issuer, path string }{
		{"https://auth.example/tenant1", "/.well-known/oauth-authorization-server/tenant1"},
		{"https://auth.example/tenant1/", "/.well-known/oauth-authorization-server/tenant1"},
		{"https://auth.example/", "/.well-known/oauth-authorization-server"},
	} {
		m, err := token.NewMinter(token.MinterConfig{Issuer: tc.issuer, Keys: e.Keys})
		if err != nil {
			t.Fatal(err)
		}
		h := e.handler(e.Env, func(c *httpapi.Config) { c.Minter = m })
		if got := h.MetadataPath(); got != tc.path {
			t.Errorf("%s: MetadataPath = %q, want %q", tc.issuer, got, tc.path)
		}
		mux := http.NewServeMux()
		h.Mount(mux)
		doc := jsonBody(t, serve(mux, req{method: http.MethodGet, target: tc.path, header: http.Header{}}))
		if doc["issuer"] != tc.issuer || doc["token_endpoint"] != strings.TrimSuffix(tc.issuer, "/")+"/token" {
			t.Errorf("%s: issuer %v, token endpoint %v", tc.issuer, doc["issuer"], doc["token_endpoint"])
		}
	}
}

// TestJWKS: the JWK Set holds every key of the set, current first, and
// only their public parts (RFC 7517 §5; no "d", "p", "q"… of RFC 7518
// §6.2.2, §6.3.2, nor "k").
func TestJWKS(t *testing.T) {
	t.Parallel()
	keys := []token.Key{testenv.NewKey(t, jose.EdDSA), testenv.NewKey(t, jose.ES256), testenv.NewKey(t, jose.RS256)}
	ks, err := token.NewKeySet(keys[0], keys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := token.NewMinter(token.MinterConfig{Issuer: testenv.Issuer, Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, sqliteDB, func(c *httpapi.Config) { c.Minter = m })
	rec := serve(e.Mux, get("/jwks.json", ""))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Cache-Control"), "public") {
		t.Fatalf("%d, Cache-Control %q", rec.Code, rec.Header().Get("Cache-Control"))
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 3 {
		t.Fatalf("%d keys, want 3: %s", len(doc.Keys), rec.Body)
	}
	var kty []any
	for _, k := range doc.Keys {
		kty = append(kty, k["kty"])
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %v has private member %q", k["kid"], private)
			}
		}
	}
	if d := cmp.Diff([]any{"OKP", "EC", "RSA"}, kty); d != "" {
		t.Errorf("key types (-want +got):\n%s", d)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || !k.Valid() {
			t.Errorf("key %s: public %v, valid %v", k.KeyID, k.IsPublic(), k.Valid())
		}
	}
	wantError(t, serve(e.Mux, post("/jwks.json", "")), http.StatusMethodNotAllowed, "invalid_request")
}
