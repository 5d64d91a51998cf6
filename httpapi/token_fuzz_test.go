package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store/sqlite"
)

// FuzzTokenEndpoint posts arbitrary bodies, with an arbitrary
// Authorization header, to the token endpoint over a healthy in-memory
// SQLite store holding one public and one confidential client with a
// pending code each. Garbage is the client's fault: every answer must be a
// 4xx JSON error (never a 5xx, never a token) with the no-store headers.
func FuzzTokenEndpoint(f *testing.F) {
	s, err := sqlite.Open(context.Background(), sqlite.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		f.Fatal(err)
	}
	e := testenv.Over(f, s)
	pub := e.Client(func(md *grant.ClientMetadata) { md.ID = "pub" })
	conf := e.Client(testenv.Confidential, func(md *grant.ClientMetadata) { md.ID = "conf" })
	e.Authorize(pub, "alice")
	e.Authorize(conf, "bob")
	h, err := httpapi.New(httpapi.Config{Grants: e.Manager, Tokens: e.Server, Minter: e.Minter})
	if err != nil {
		f.Fatal(err)
	}
	tok := h.Token()
	for _, seed := range []struct{ body, auth string }{
		{form(append(codeForm("gk_ac_x", testenv.RedirectURI), "client_id", "pub")...), ""},
		{form(codeForm("gk_ac_x", testenv.RedirectURI)...), "Basic Y29uZjpzZWNyZXQ="},
		{form("grant_type", "refresh_token", "refresh_token", "gk_rt_x", "client_id", "pub", "scope", "read"), ""},
		{form("grant_type", "refresh_token", "refresh_token", "gk_rt_x", "client_id", "conf", "client_secret", "s"), ""},
		{"grant_type=password&username=a&password=b", "Basic Og=="},
		{"grant_type=authorization_code&code=%zz", ""},
		{"client_id=pub&client_id=pub", ""},
		{"grant_type=refresh_token&refresh_token=%00&client_id=pub", ""},
		{strings.Repeat("a=b&", 100), "Bearer x"},
	} {
		f.Add(seed.body, seed.auth)
	}
	f.Fuzz(func(t *testing.T, body, auth string) {
		r := post("/token", body)
		if auth != "" {
			r.header.Set("Authorization", auth)
		}
		rec := serve(tok, r)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Fatalf("status %d for body %q, auth %q: %s", rec.Code, body, auth, rec.Body)
		}
		if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Pragma") != "no-cache" {
			t.Fatalf("no-store headers missing: %v", rec.Header())
		}
		if b := rec.Body.String(); !strings.HasPrefix(b, `{"error":"`) || strings.Contains(b, "access_token") {
			t.Fatalf("not a JSON error: %s", b)
		}
	})
}
