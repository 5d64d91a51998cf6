package interop_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/grantkit/grantkit/internal/testdb"
)

// TestServerOAuth2 has golang.org/x/oauth2 drive the running example
// server (the binary, with -dev-login alice) on both databases: discovery
// of the endpoints from the RFC 8414 metadata, authorize with S256 PKCE
// (the dev login approves at once, so the redirect chain ends at the demo
// client's redirect URI with a code, its state and the issuer), the code
// exchange, /api/whoami with the access token, a refresh that rotates, an
// RFC 7009 revocation, after which the refresh is refused and whoami is
// 401.
func TestServerOAuth2(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		args := []string{"-dev-login", "alice"}
		if db.Name == "postgres" {
			args = append(args, "-db", os.Getenv("GRANTKIT_TEST_POSTGRES"), "-db-schema", testdb.NewSchema(t, testdb.Pool(t)))
		}
		base := startServer(t, args...)
		md := discover(t, base)
		cfg := &oauth2.Config{ClientID: demoClient, RedirectURL: demoCallback,
			Endpoint: oauth2.Endpoint{AuthURL: md["authorization_endpoint"], TokenURL: md["token_endpoint"],
				AuthStyle: oauth2.AuthStyleInParams}}
		verifier := oauth2.GenerateVerifier()
		code := follow(t, base, cfg.AuthCodeURL("e2e-"+db.Name, oauth2.S256ChallengeOption(verifier)), "e2e-"+db.Name)
		ctx := t.Context()
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if status := whoami(t, base, tok.AccessToken); status != http.StatusOK {
			t.Fatalf("whoami: %d", status)
		}
		fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
		if err != nil || fresh.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh: %v (rotated %t)", err, err == nil && fresh.RefreshToken != tok.RefreshToken)
		}
		resp, err := http.PostForm(md["revocation_endpoint"], url.Values{"token": {fresh.RefreshToken}, "client_id": {demoClient}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("revocation: %v %v", err, resp)
		}
		resp.Body.Close()
		wantRefused(t, cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Minute)}))
		if status := whoami(t, base, fresh.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("whoami after revocation: %d, want 401", status)
		}
	})
}

// discover reads the server's RFC 8414 metadata: every endpoint x/oauth2
// and the test use must be there, under the issuer.
func discover(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	if err := jsonDecode(resp, &raw); err != nil {
		t.Fatal(err)
	}
	md := map[string]string{}
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "revocation_endpoint",
		"introspection_endpoint", "registration_endpoint", "jwks_uri"} {
		v, _ := raw[k].(string)
		if !strings.HasPrefix(v, base) {
			t.Fatalf("metadata %s = %q, want a URL under %s", k, v, base)
		}
		md[k] = v
	}
	return md
}

// follow requests authURL and follows its redirects, without a browser,
// until one leads to the demo client's redirect URI; it returns the code
// after checking the state and the issuer (RFC 9207).
func follow(t *testing.T, base, authURL, state string) string {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	next := authURL
	for hop := 0; hop < 8; hop++ {
		if strings.HasPrefix(next, demoCallback) {
			u, _ := url.Parse(next)
			q := u.Query()
			if q.Get("state") != state || q.Get("iss") != base || q.Get("code") == "" {
				t.Fatalf("redirect %s: want code, state %q and iss %q", next, state, base)
			}
			return q.Get("code")
		}
		resp, err := c.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if resp.Header.Get("Location") == "" || err != nil {
			t.Fatalf("authorize hop %d: status %d, no redirect", hop, resp.StatusCode)
		}
		next = loc.String()
	}
	t.Fatal("the authorization did not reach the redirect URI")
	return ""
}

// jsonDecode decodes resp's JSON body into v.
func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
