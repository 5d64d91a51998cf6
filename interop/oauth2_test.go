package interop_test

import (
	"context"
	"errors"
	"io"
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

				// Authorize, exchange, refresh, then revoke (RFC 7009).
				_, fresh, first := login(t, ctx, e, srv, cfg, c, "state-"+tc.name)
				revoke(t, srv, c, tc.style, fresh.RefreshToken)
				g := e.Grant(first)
				if got := [2]string{string(g.Status), g.RevokeReason}; got != [2]string{string(store.GrantRevoked), grant.ReasonTokenRevoked} {
					t.Fatalf("after revocation the grant is %q (reason %q), want revoked (%s)", got[0], got[1], grant.ReasonTokenRevoked)
				}
				wantRefused(t, cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken,
					Expiry: time.Now().Add(-time.Minute)}))
				if _, err := e.Verify(fresh.AccessToken); err == nil {
					t.Fatal("the Verifier accepts an access token of the revoked grant")
				}

				// A second authorization, and reuse: the rotated-away
				// refresh token again.
				tok, fresh, second := login(t, ctx, e, srv, cfg, c, "again-"+tc.name)
				if second == first {
					t.Fatal("the second authorization reused the revoked grant")
				}
				wantRefused(t, cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken,
					Expiry: time.Now().Add(-time.Minute)}))
				g = e.Grant(second)
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

// serve runs e's httpapi endpoints (Handler.Mount), authorize and
// decision included, on a real HTTP server for the rest of t.
func serve(t *testing.T, e *testenv.Env) *httptest.Server {
	t.Helper()
	h, err := httpapi.New(httpapi.Config{Grants: e.Manager, Tokens: e.Server, Minter: e.Minter,
		Authorizer: headerUser{}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// userHeader carries the signed-in user to headerUser: the tests' stand-in
// for a host's login session.
const userHeader = "X-Test-User"

// headerUser is the tests' Authorizer: the user is userHeader's value, and
// its consent "page" is the pending request's id and decision URL as
// text, which the test posts back as a browser would post the form.
type headerUser struct{}

func (headerUser) Authenticate(w http.ResponseWriter, r *http.Request, _ httpapi.AuthorizeRequest) (httpapi.Login, bool, error) {
	u := r.Header.Get(userHeader)
	if u == "" {
		http.Error(w, "log in first", http.StatusUnauthorized)
		return httpapi.Login{}, false, nil
	}
	return httpapi.Login{Subject: u, SubjectKind: "user"}, true, nil
}

func (headerUser) Consent(w http.ResponseWriter, _ *http.Request, p httpapi.Pending) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, p.ID+" "+p.DecisionURL)
}

// login runs the whole flow x/oauth2 drives for c with state: authorize
// over HTTP (the consent approved), the code exchange with the PKCE
// verifier, a refresh through a TokenSource holding an expired token. It
// returns the exchange's token, the refreshed one and their grant's id.
func login(t *testing.T, ctx context.Context, e *testenv.Env, srv *httptest.Server, cfg *oauth2.Config,
	c testenv.Client, state string) (tok, fresh *oauth2.Token, grantID string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("resource", testenv.Resource))
	if got, want := param(t, authURL, "code_challenge"), oauth2.S256ChallengeFromVerifier(verifier); got != want {
		t.Fatalf("code_challenge = %q, want %q", got, want)
	}
	code := authorize(t, srv, authURL, "alice", state)

	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	grantID = grantOf(t, e, c, tok)

	// Refresh: an expired token makes the TokenSource use the refresh
	// token.
	fresh, err = cfg.TokenSource(ctx, &oauth2.Token{AccessToken: tok.AccessToken,
		RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Fatalf("the refresh did not rotate: refresh token new %t, access token new %t",
			fresh.RefreshToken != tok.RefreshToken, fresh.AccessToken != tok.AccessToken)
	}
	if g := grantOf(t, e, c, fresh); g != grantID {
		t.Fatalf("the refreshed token is of grant %s, want %s", g, grantID)
	}
	return tok, fresh, grantID
}

// authorize is the browser's part of authURL, the authorization request
// x/oauth2 built (RFC 6749 §4.1.1), for user subject: GET it signed in,
// post the consent form's approval to the decision endpoint, and follow
// nothing — the 302 to redirect_uri must carry the code, state and the
// issuer (RFC 9207 §2), which it checks before returning the code.
func authorize(t *testing.T, srv *httptest.Server, authURL, subject, state string) string {
	t.Helper()
	browser := srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest(http.MethodGet, authURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(userHeader, subject)
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	id, decisionURL, ok := strings.Cut(string(page), " ")
	if resp.StatusCode != http.StatusOK || !ok {
		t.Fatalf("authorize: status %d, consent page %q", resp.StatusCode, page)
	}
	// The decision URL is under the issuer (https://auth.example); the
	// test server stands in for it.
	du, err := url.Parse(decisionURL)
	if err != nil || du.Scheme+"://"+du.Host != testenv.Issuer {
		t.Fatalf("decision URL %q is not under the issuer", decisionURL)
	}
	req, err = http.NewRequest(http.MethodPost, srv.URL+du.Path, strings.NewReader(url.Values{
		httpapi.DecisionRequestField: {id}, httpapi.DecisionField: {httpapi.DecisionApprove}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(userHeader, subject)
	resp, err = browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("decision: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	got := [3]string{loc.Scheme + "://" + loc.Host + loc.Path, q.Get("state"), q.Get("iss")}
	if want := [3]string{testenv.RedirectURI, state, testenv.Issuer}; got != want || q.Get("code") == "" {
		t.Fatalf("the approval redirects to %v with code %t, want %v", got, q.Get("code") != "", want)
	}
	return q.Get("code")
}

// revoke revokes tok at the RFC 7009 endpoint as c, authenticating the way
// style says, and wants 200.
func revoke(t *testing.T, srv *httptest.Server, c testenv.Client, style oauth2.AuthStyle, tok string) {
	t.Helper()
	body := url.Values{"token": {tok}, "token_type_hint": {"refresh_token"}}
	if style == oauth2.AuthStyleInParams {
		body.Set("client_id", c.ID)
		if c.Secret != "" {
			body.Set("client_secret", c.Secret)
		}
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+httpapi.DefaultPaths.Revocation, strings.NewReader(body.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if style == oauth2.AuthStyleInHeader {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: status %d: %s", resp.StatusCode, msg)
	}
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
