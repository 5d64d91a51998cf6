package interop_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
)

// TestOAuth2Client has golang.org/x/oauth2 drive the code flow with PKCE
// (RFC 7636 S256) and a refresh against httpapi's endpoints on a real
// HTTP server, for a confidential client authenticating with
// client_secret_basic and with client_secret_post, and for a public one:
// the code exchange yields tokens the Verifier accepts, the refresh
// rotates the refresh token (RFC 9700 §4.14.2), and presenting the old
// one again is reuse — invalid_grant, the grant revoked, its new refresh
// token and access token refused too.
func TestOAuth2Client(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		tests := []struct {
			name         string
			confidential bool
			style        oauth2.AuthStyle
		}{
			{"client_secret_basic", true, oauth2.AuthStyleInHeader},
			{"client_secret_post", true, oauth2.AuthStyleInParams},
			{"public", false, oauth2.AuthStyleInParams},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := testenv.New(t, db)
				srv := serve(t, e)
				var c testenv.Client
				if tc.confidential {
					c = e.Client(testenv.Confidential)
				} else {
					c = e.Client()
				}
				if (c.Secret != "") != tc.confidential {
					t.Fatalf("the client has a secret: %t, want %t", c.Secret != "", tc.confidential)
				}
				cfg := &oauth2.Config{
					ClientID: c.ID, ClientSecret: c.Secret, RedirectURL: testenv.RedirectURI,
					Scopes: []string{"read", "write"},
					Endpoint: oauth2.Endpoint{
						AuthURL:   srv.URL + httpapi.DefaultPaths.Authorize,
						TokenURL:  srv.URL + httpapi.DefaultPaths.Token,
						AuthStyle: tc.style,
					},
				}
				ctx := context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client())

				verifier := oauth2.GenerateVerifier()
				authURL := cfg.AuthCodeURL("state-"+tc.name, oauth2.S256ChallengeOption(verifier),
					oauth2.SetAuthURLParam("resource", testenv.Resource))
				if got, want := param(t, authURL, "code_challenge"), oauth2.S256ChallengeFromVerifier(verifier); got != want {
					t.Fatalf("code_challenge = %q, want %q", got, want)
				}
				code := authorize(t, e, authURL, "alice")

				tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				first := grantOf(t, e, c, tok)

				// Refresh: an expired token makes the TokenSource use the
				// refresh token.
				fresh, err := cfg.TokenSource(ctx, &oauth2.Token{AccessToken: tok.AccessToken,
					RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
					t.Fatalf("the refresh did not rotate: refresh token new %t, access token new %t",
						fresh.RefreshToken != tok.RefreshToken, fresh.AccessToken != tok.AccessToken)
				}
				if g := grantOf(t, e, c, fresh); g != first {
					t.Fatalf("the refreshed token is of grant %s, want %s", g, first)
				}

				// Reuse: the rotated-away refresh token again.
				wantRefused(t, cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken,
					Expiry: time.Now().Add(-time.Minute)}))
				g := e.Grant(first)
				if got := [2]string{string(g.Status), g.RevokeReason}; got != [2]string{string(store.GrantRevoked), grant.ReasonRefreshReused} {
					t.Fatalf("after reuse the grant is %q (reason %q), want revoked (%s)", got[0], got[1], grant.ReasonRefreshReused)
				}
				// The family's head died with the grant.
				wantRefused(t, cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken,
					Expiry: time.Now().Add(-time.Minute)}))
				if _, err := e.Verify(fresh.AccessToken); err == nil {
					t.Fatal("the Verifier accepts an access token of the revoked grant")
				}
			})
		}
	})
}

// serve runs e's httpapi endpoints (Handler.Mount) on a real HTTP server
// for the rest of t.
func serve(t *testing.T, e *testenv.Env) *httptest.Server {
	t.Helper()
	h, err := httpapi.New(httpapi.Config{Grants: e.Manager, Tokens: e.Server, Minter: e.Minter})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// authorize is the authorization step of authURL, the authorization
// request x/oauth2 built (RFC 6749 §4.1.1), for user subject: it starts the
// request its parameters describe and approves it (grant.Manager.Start and
// Approve), as a host's consent page would, and returns the code that the
// redirect to redirect_uri carries, after checking the redirect's state
// and URI.
func authorize(t *testing.T, e *testenv.Env, authURL, subject string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if rt := q.Get("response_type"); rt != "code" {
		t.Fatalf("response_type = %q, want code", rt)
	}
	req := grant.AuthorizationRequest{
		ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), Scopes: strings.Fields(q.Get("scope")),
		State: q.Get("state"), CodeChallenge: q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"), Resource: q.Get("resource"),
		Subject: subject, SubjectKind: "user",
	}
	a, err := e.Manager.Start(t.Context(), req)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	ap, err := e.Manager.Approve(t.Context(), a.Request.ID, nil)
	if err != nil {
		t.Fatalf("Approve: %v", err)
	}
	if got := [2]string{ap.RedirectURI, ap.State}; got != [2]string{req.RedirectURI, req.State} {
		t.Fatalf("the approval redirects to %q with state %q, want %q, %q", got[0], got[1], req.RedirectURI, req.State)
	}
	return ap.Code
}

// param returns the query parameter name of rawURL.
func param(t *testing.T, rawURL, name string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(name)
}

// accessClaims are the claims of an access token the test checks.
type accessClaims struct {
	Subject, ClientID, Scope, Audience string
}

// grantOf checks tok, a token response as x/oauth2 read it, and returns
// the id of the grant its access token belongs to: a Bearer access token
// of alice, c and scopes read write for testenv.Resource that the Verifier
// accepts, with a refresh token and the scope in the response.
func grantOf(t *testing.T, e *testenv.Env, c testenv.Client, tok *oauth2.Token) string {
	t.Helper()
	if tok.TokenType != "Bearer" || !strings.HasPrefix(tok.RefreshToken, "gk_rt_") || tok.Extra("scope") != "read write" ||
		!tok.Expiry.After(time.Now()) {
		t.Fatalf("token response: type %q, refresh token %t, scope %v, expiry %v",
			tok.TokenType, tok.RefreshToken != "", tok.Extra("scope"), tok.Expiry)
	}
	claims, err := e.Verify(tok.AccessToken)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	got := accessClaims{claims.Subject, claims.ClientID, claims.Scope, strings.Join(claims.Audience, " ")}
	want := accessClaims{"alice", c.ID, "read write", testenv.Resource}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("access token claims (-want +got):\n%s", d)
	}
	return claims.GrantID
}

// wantRefused fails unless ts's refresh is refused with invalid_grant
// (HTTP 400, RFC 6749 §5.2).
func wantRefused(t *testing.T, ts oauth2.TokenSource) {
	t.Helper()
	tok, err := ts.Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("refresh: got token %t, error %v; want invalid_grant", tok != nil, err)
	}
	if got := [2]any{re.Response.StatusCode, re.ErrorCode}; got != [2]any{http.StatusBadRequest, "invalid_grant"} {
		t.Fatalf("refresh refused with %v, want 400 invalid_grant; body %s", got, re.Body)
	}
}
