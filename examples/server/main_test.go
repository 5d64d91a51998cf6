package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/examples/demohost"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
)

// eachDB runs fn on an in-memory SQLite database and, when
// GRANTKIT_TEST_POSTGRES is set, on PostgreSQL in a fresh schema; dbArgs
// are the -db flags that select it.
func eachDB(t *testing.T, fn func(t *testing.T, dbArgs []string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, nil) })
	t.Run("postgres", func(t *testing.T) {
		schema := testdb.NewSchema(t, testdb.Pool(t)) // skips without a DSN
		fn(t, []string{"-db", os.Getenv(testdb.EnvDSN), "-db-schema", schema})
	})
}

// server is one run of the command.
type server struct {
	base   string
	cancel context.CancelFunc
	done   chan error
}

// start runs run with args on 127.0.0.1:0 until the test ends (or stop),
// and returns once it listens. The cleanup requires a nil return: a
// graceful shutdown.
func start(t testing.TB, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw)
		pw.CloseWithError(errors.Join(err, io.EOF))
		s.done <- err
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		cancel()
		t.Fatalf("run printed nothing: %v", <-s.done)
	}
	first := lines.Text()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	base, ok := strings.CutPrefix(first, "listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		cancel()
		t.Fatalf("first line %q, want listening on http://127.0.0.1:PORT", first)
	}
	s.base = base
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

// stop cancels run's context and returns what run returned; later calls
// return nil.
func (s *server) stop() error {
	if s.done == nil {
		return nil
	}
	s.cancel()
	defer func() { s.done = nil }()
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("run did not return 30 s after its context was cancelled")
	}
}

// browser returns a client with a cookie jar that follows redirects
// except to the demo client's redirect URI, which it returns.
func browser(t testing.TB) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), demoRedirect) {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("too many redirects")
			}
			return nil
		}}
}

// pkce returns a code verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL is the demo client's authorization request with state,
// challenge and scope ("" for none).
func authorizeURL(base, clientID, state, challenge, scope string) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {demoRedirect},
		"state": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	if scope != "" {
		q.Set("scope", scope)
	}
	return base + httpapi.DefaultPaths.Authorize + "?" + q.Encode()
}

// codeFrom checks that resp redirects to the demo client's redirect URI
// with state and the issuer (RFC 9207), and returns the code.
func codeFrom(t testing.TB, resp *http.Response, base, state string) string {
	t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, demoRedirect+"?") {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("got %d to %q (%s), want 302 to %s", resp.StatusCode, loc, body, demoRedirect)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("state") != state || q.Get("iss") != base || q.Get("code") == "" {
		t.Fatalf("redirect %s: want state %q, iss %q and a code", loc, state, base)
	}
	return q.Get("code")
}

// tokens is a token endpoint response.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope"`
	Error        string `json:"error"`
}

// postToken posts form to the token endpoint and wants 200 with both
// tokens.
func postToken(t testing.TB, base string, form url.Values) tokens {
	t.Helper()
	resp, err := http.PostForm(base+httpapi.DefaultPaths.Token, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok tokens
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token endpoint: %d %+v", resp.StatusCode, tok)
	}
	return tok
}

func exchange(t testing.TB, base, code, verifier string) tokens {
	t.Helper()
	return postToken(t, base, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {demoRedirect}, "client_id": {demoClientID}, "code_verifier": {verifier}})
}

// identity is /api/whoami's answer.
type identity struct {
	Sub      string `json:"sub"`
	ClientID string `json:"client_id"`
	GrantID  string `json:"grant_id"`
	Scope    string `json:"scope"`
}

// whoami calls /api/whoami with accessToken and returns the response
// (body read into id when 200).
func whoami(t *testing.T, base, accessToken string) (*http.Response, identity) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+whoamiPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var id identity
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&id); err != nil {
			t.Fatal(err)
		}
	}
	return resp, id
}

// wantRefused checks that whoami refuses accessToken with 401 and a
// challenge pointing at the protected resource metadata.
func wantRefused(t *testing.T, base, accessToken string) {
	t.Helper()
	resp, _ := whoami(t, base, accessToken)
	challenge := resp.Header.Get("WWW-Authenticate")
	want := `resource_metadata="` + base + httpapi.WellKnownProtectedResource + `/api"`
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(challenge, want) {
		t.Fatalf("whoami: %d, WWW-Authenticate %q; want 401 with %s", resp.StatusCode, challenge, want)
	}
	if accessToken != "" && !strings.Contains(challenge, `error="invalid_token"`) {
		t.Fatalf("WWW-Authenticate %q: want error=\"invalid_token\"", challenge)
	}
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// TestMetadata checks that the authorization server metadata names every
// endpoint, each served, and the scopes, and that the protected
// resource metadata points back at the issuer.
func TestMetadata(t *testing.T) {
	s := start(t)
	var md map[string]any
	getJSON(t, http.DefaultClient, s.base+httpapi.WellKnownMetadata, &md)
	if md["issuer"] != s.base {
		t.Fatalf("issuer %v, want %s", md["issuer"], s.base)
	}
	endpoints := map[string]string{
		"authorization_endpoint": httpapi.DefaultPaths.Authorize, "token_endpoint": httpapi.DefaultPaths.Token,
		"revocation_endpoint": httpapi.DefaultPaths.Revocation, "introspection_endpoint": httpapi.DefaultPaths.Introspection,
		"registration_endpoint": httpapi.DefaultPaths.Registration, "jwks_uri": httpapi.DefaultPaths.JWKS,
	}
	for field, path := range endpoints {
		if md[field] != s.base+path {
			t.Errorf("%s = %v, want %s", field, md[field], s.base+path)
			continue
		}
		resp, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			t.Errorf("%s %s: 404", field, path)
		}
	}
	if diff := cmp.Diff([]any{"mcp:tools", "mcp:resources"}, md["scopes_supported"]); diff != "" {
		t.Errorf("scopes_supported (-want +got):\n%s", diff)
	}

	var pr struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		ScopesSupported      []string `json:"scopes_supported"`
	}
	getJSON(t, http.DefaultClient, s.base+httpapi.WellKnownProtectedResource+"/api", &pr)
	if pr.Resource != s.base+"/api" || !cmp.Equal(pr.AuthorizationServers, []string{s.base}) ||
		!cmp.Equal(pr.ScopesSupported, scopes) {
		t.Errorf("protected resource metadata %+v", pr)
	}
}

// TestDevLogin runs the scripted flow -dev-login allows: /authorize
// approves at once, the code exchange with PKCE, whoami, a refresh,
// revocation, and whoami refused after it; a request naming no scope
// (as peerbench sends) works too.
func TestDevLogin(t *testing.T) {
	eachDB(t, func(t *testing.T, dbArgs []string) {
		s := start(t, append(dbArgs, "-dev-login", "alice")...)
		c := browser(t)
		verifier, challenge := pkce()
		resp, err := c.Get(authorizeURL(s.base, demoClientID, "st1", challenge, "mcp:tools"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tok := exchange(t, s.base, codeFrom(t, resp, s.base, "st1"), verifier)

		resp, id := whoami(t, s.base, tok.AccessToken)
		if resp.StatusCode != http.StatusOK || id.Sub != "alice" || id.ClientID != demoClientID ||
			id.GrantID == "" || id.Scope != "mcp:tools" {
			t.Fatalf("whoami: %d %+v", resp.StatusCode, id)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("whoami Content-Type %q", ct)
		}

		fresh := postToken(t, s.base, url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {tok.RefreshToken}, "client_id": {demoClientID}})
		if fresh.RefreshToken == tok.RefreshToken {
			t.Fatal("the refresh token did not rotate")
		}
		if resp, again := whoami(t, s.base, fresh.AccessToken); resp.StatusCode != http.StatusOK || again.GrantID != id.GrantID {
			t.Fatalf("whoami after refresh: %d %+v, want grant %s", resp.StatusCode, again, id.GrantID)
		}

		resp, err = http.PostForm(s.base+httpapi.DefaultPaths.Revocation, url.Values{
			"token": {fresh.RefreshToken}, "client_id": {demoClientID}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revocation: %d", resp.StatusCode)
		}
		wantRefused(t, s.base, fresh.AccessToken)
		wantRefused(t, s.base, "")

		// No scope at all: the grant has none.
		verifier, challenge = pkce()
		resp, err = c.Get(authorizeURL(s.base, demoClientID, "st2", challenge, ""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tok = exchange(t, s.base, codeFrom(t, resp, s.base, "st2"), verifier)
		if resp, id := whoami(t, s.base, tok.AccessToken); resp.StatusCode != http.StatusOK || id.Scope != "" {
			t.Fatalf("whoami without scope: %d %+v", resp.StatusCode, id)
		}
	})
}

var requestIDField = regexp.MustCompile(`name="` + httpapi.DecisionRequestField + `" value="([^"]+)"`)

// consent GETs the authorization URL with c, which must end on a
// consent page, and returns the page and its request id.
func consent(t *testing.T, c *http.Client, authURL string) (page, requestID string) {
	t.Helper()
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := requestIDField.FindStringSubmatch(string(body))
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("authorize: %d at %s, no consent form:\n%s", resp.StatusCode, resp.Request.URL, body)
	}
	return html.UnescapeString(string(body)), m[1]
}

// TestLoginConsent runs the browser flow without -dev-login: /authorize
// sends to /login, which comes back; the consent page names the client;
// approving yields a code; the sessions API lists the grant and DELETE
// revokes it, after which its access token is refused.
func TestLoginConsent(t *testing.T) {
	eachDB(t, func(t *testing.T, dbArgs []string) {
		s := start(t, dbArgs...)
		c := browser(t)
		verifier, challenge := pkce()
		authURL := authorizeURL(s.base, demoClientID, "st", challenge, "mcp:tools mcp:resources")

		resp, err := c.Get(authURL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != demohost.LoginPath ||
			!strings.Contains(string(body), `name="username"`) {
			t.Fatalf("authorize without a login: %d at %s, want the login page", resp.StatusCode, resp.Request.URL)
		}
		next := resp.Request.URL.Query().Get("next")
		if want := strings.TrimPrefix(authURL, s.base); next != want {
			t.Fatalf("login next = %q, want %q", next, want)
		}

		// Log in: the form's POST comes back to the authorization URL,
		// which now shows the consent page.
		resp, err = c.PostForm(s.base+demohost.LoginPath, url.Values{"username": {"bob"}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		page := html.UnescapeString(string(body))
		m := requestIDField.FindStringSubmatch(string(body))
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("after login: %d at %s, want the consent page:\n%s", resp.StatusCode, resp.Request.URL, body)
		}
		for _, want := range []string{"“Demo client”", "127.0.0.1:8765", "mcp:tools", "mcp:resources", s.base + "/api", "bob"} {
			if !strings.Contains(page, want) {
				t.Errorf("the consent page does not show %q:\n%s", want, page)
			}
		}
		if strings.Contains(page, "unverified") {
			t.Errorf("the consent page marks the demo client unverified")
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:8765;") {
			t.Errorf("consent page CSP %q: the form's redirect to the client is not allowed", csp)
		}

		resp, err = c.PostForm(s.base+httpapi.DefaultDecisionPath, url.Values{
			httpapi.DecisionRequestField: {m[1]}, httpapi.DecisionField: {httpapi.DecisionApprove}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tok := exchange(t, s.base, codeFrom(t, resp, s.base, "st"), verifier)
		resp, id := whoami(t, s.base, tok.AccessToken)
		if resp.StatusCode != http.StatusOK || id.Sub != "bob" || id.Scope != "mcp:tools mcp:resources" {
			t.Fatalf("whoami: %d %+v", resp.StatusCode, id)
		}

		// The sessions API, with the login cookie.
		var list struct {
			Sessions []struct {
				ID       string `json:"id"`
				ClientID string `json:"client_id"`
				Subject  string `json:"subject"`
			} `json:"sessions"`
		}
		getJSON(t, c, s.base+demohost.SessionsPath, &list)
		if len(list.Sessions) != 1 || list.Sessions[0].ID != id.GrantID || list.Sessions[0].ClientID != demoClientID ||
			list.Sessions[0].Subject != "bob" {
			t.Fatalf("sessions %+v, want bob's grant %s", list.Sessions, id.GrantID)
		}
		resp, err = http.Get(s.base + demohost.SessionsPath) // no cookie
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("sessions without a login: %d, want 401", resp.StatusCode)
		}
		req, err := http.NewRequest(http.MethodDelete, s.base+demohost.SessionsPath+"/"+id.GrantID, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE session: %d, want 204", resp.StatusCode)
		}
		getJSON(t, c, s.base+demohost.SessionsPath, &list)
		if len(list.Sessions) != 0 {
			t.Fatalf("sessions after revocation: %+v", list.Sessions)
		}
		wantRefused(t, s.base, tok.AccessToken)

		// The connected-clients page for the logged-in browser; another
		// browser is sent to log in.
		resp, err = c.Get(s.base + demohost.PagePath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != demohost.PagePath {
			t.Fatalf("page: %d at %s", resp.StatusCode, resp.Request.URL)
		}
		resp, err = browser(t).Get(s.base + demohost.PagePath)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path != demohost.LoginPath || resp.Request.URL.Query().Get("next") != demohost.PagePath {
			t.Fatalf("page without a login ended at %s, want the login page", resp.Request.URL)
		}
	})
}

// TestDynamicClientUnverified registers a client over RFC 7591 and
// checks that its consent page marks its name unverified, and that a
// denial reaches the client as access_denied.
func TestDynamicClientUnverified(t *testing.T) {
	s := start(t)
	resp, err := http.Post(s.base+httpapi.DefaultPaths.Registration, "application/json", strings.NewReader(
		`{"client_name":"Notes app","redirect_uris":["`+demoRedirect+`"],"token_endpoint_auth_method":"none"}`))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		ClientID string `json:"client_id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&reg)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated || reg.ClientID == "" {
		t.Fatalf("registration: %d %v %+v", resp.StatusCode, err, reg)
	}
	c := browser(t)
	if resp, err := c.PostForm(s.base+demohost.LoginPath, url.Values{"username": {"carol"}}); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	_, challenge := pkce()
	page, requestID := consent(t, c, authorizeURL(s.base, reg.ClientID, "st", challenge, ""))
	if !strings.Contains(page, "“Notes app”") || !strings.Contains(page, "unverified") {
		t.Fatalf("the consent page does not mark “Notes app” unverified:\n%s", page)
	}
	resp, err = c.PostForm(s.base+httpapi.DefaultDecisionPath, url.Values{
		httpapi.DecisionRequestField: {requestID}, httpapi.DecisionField: {httpapi.DecisionDeny}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("error") != "access_denied" {
		t.Fatalf("deny: %d to %q, want access_denied", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestRegistrationRateLimit checks that registration answers 429
// slow_down once a remote IP used up its registrations.
func TestRegistrationRateLimit(t *testing.T) {
	s := start(t, "-registration-limit", "3")
	register := func() (int, string) {
		resp, err := http.Post(s.base+httpapi.DefaultPaths.Registration, "application/json", strings.NewReader(
			`{"client_name":"Spam","redirect_uris":["`+demoRedirect+`"],"token_endpoint_auth_method":"none"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error
	}
	for i := range 3 {
		if status, code := register(); status != http.StatusCreated {
			t.Fatalf("registration %d: %d %s, want 201", i+1, status, code)
		}
	}
	if status, code := register(); status != http.StatusTooManyRequests || code != httpapi.CodeSlowDown {
		t.Fatalf("registration 4: %d %q, want 429 %s", status, code, httpapi.CodeSlowDown)
	}
}

// TestRestart starts twice on one database (a SQLite file, and a
// PostgreSQL schema when configured): the second start finds the demo
// client instead of failing to register it again, and still serves the
// flow.
func TestRestart(t *testing.T) {
	restart := func(t *testing.T, dbArgs []string) {
		first := start(t, dbArgs...)
		if err := first.stop(); err != nil {
			t.Fatalf("first shutdown: %v", err)
		}
		s := start(t, append(dbArgs, "-dev-login", "dave")...)
		verifier, challenge := pkce()
		resp, err := browser(t).Get(authorizeURL(s.base, demoClientID, "again", challenge, ""))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tok := exchange(t, s.base, codeFrom(t, resp, s.base, "again"), verifier)
		if resp, id := whoami(t, s.base, tok.AccessToken); resp.StatusCode != http.StatusOK || id.Sub != "dave" {
			t.Fatalf("whoami after restart: %d %+v", resp.StatusCode, id)
		}
	}
	t.Run("sqlite-file", func(t *testing.T) {
		restart(t, []string{"-db", "sqlite:" + filepath.Join(t.TempDir(), "grantkit.db")})
	})
	t.Run("postgres", func(t *testing.T) {
		schema := testdb.NewSchema(t, testdb.Pool(t))
		restart(t, []string{"-db", os.Getenv(testdb.EnvDSN), "-db-schema", schema})
	})
}

// TestBadFlags checks that run refuses what it cannot serve.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-db", "mysql://x"},
		{"-db", "sqlite:"},
		{"-issuer", "http://127.0.0.1:1/tenant"},
		{"-issuer", "ftp://127.0.0.1"},
		{"-registration-limit", "0"},
		{"extra"},
	} {
		if err := run(t.Context(), append([]string{"-addr", "127.0.0.1:0"}, args...), io.Discard); err == nil {
			t.Errorf("run %q: nil error", args)
		}
	}
}

// TestGracefulShutdown cancels run's context while a token request is in
// flight (its body half sent): run waits for it, the request gets its
// whole answer, and run then returns nil.
func TestGracefulShutdown(t *testing.T) {
	s := start(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := url.Values{"grant_type": {"authorization_code"}, "code": {"gk_ac_unknown"}, "client_id": {demoClientID},
		"redirect_uri": {demoRedirect}, "code_verifier": {strings.Repeat("v", 43)}}.Encode()
	half := len(body) / 2
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
		"Content-Length: %d\r\n\r\n%s", httpapi.DefaultPaths.Token, strings.TrimPrefix(s.base, "http://"),
		len(body), body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the handler is reading the body
	s.cancel()
	select {
	case err := <-s.done:
		s.done = nil // returned already: nothing for the cleanup to wait for
		t.Fatalf("run returned %v with a request in flight", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(answer), `"invalid_grant"`) {
		t.Fatalf("in-flight request: %d %s (%v), want 400 invalid_grant", resp.StatusCode, answer, err)
	}
	if err := s.stop(); err != nil {
		t.Fatalf("run after a graceful shutdown: %v", err)
	}
}
