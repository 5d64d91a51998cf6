package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
)

// callback is the redirect URI the tests' client registers.
const callback = "http://127.0.0.1:8765/callback"

// start runs the example with args on a free port until the test ends,
// then cancels its context and wants run to return nil; it returns the
// base URL.
func start(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw)
		pw.CloseWithError(errors.Join(err, io.EOF))
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		cancel()
		t.Fatalf("run printed nothing: %v", <-done)
	}
	first := lines.Text()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not return 30 s after its context was cancelled")
		}
	})
	base, ok := strings.CutPrefix(first, "listening on ")
	if !ok {
		t.Fatalf("first line %q, want listening on http://HOST:PORT", first)
	}
	return base
}

// eachDB runs fn on in-memory SQLite and, when GRANTKIT_TEST_POSTGRES is
// set, on PostgreSQL in a fresh schema; dbArgs select it.
func eachDB(t *testing.T, fn func(t *testing.T, dbArgs []string)) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		var args []string
		if db.Name == "postgres" {
			args = []string{"-db", os.Getenv(testdb.EnvDSN), "-db-schema", testdb.NewSchema(t, testdb.Pool(t))}
		}
		fn(t, args)
	})
}

// TestProtectedMCP checks the MCP endpoint's protection without an MCP
// client: the RFC 9728 metadata names the endpoint as the resource and the
// issuer as its authorization server; a request without a token is 401
// with a challenge pointing at that metadata and naming mcp:tools; a token
// with mcp:tools alone calling the admin tool is 403 insufficient_scope
// naming both scopes (step-up), while a call of whoami passes the check.
func TestProtectedMCP(t *testing.T) {
	eachDB(t, func(t *testing.T, dbArgs []string) {
		base := start(t, append([]string{"-dev-login", "alice"}, dbArgs...)...)
		metadataURL := base + httpapi.WellKnownProtectedResource + mcpPath

		var md map[string]any
		getJSON(t, metadataURL, &md)
		want := map[string]any{"resource": base + mcpPath, "authorization_servers": []any{base},
			"scopes_supported": []any{ScopeTools, ScopeAdmin}, "bearer_methods_supported": []any{"header"},
			"resource_name": "grantkit MCP example"}
		if diff := cmp.Diff(want, md); diff != "" {
			t.Errorf("protected resource metadata (-want +got):\n%s", diff)
		}

		resp := postMCP(t, base, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
		wantChallenge := `Bearer resource_metadata="` + metadataURL + `", scope="mcp:tools"`
		if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || got != wantChallenge {
			t.Errorf("without a token: %d %q, want 401 %q", resp.StatusCode, got, wantChallenge)
		}
		resp = postMCP(t, base, "garbage", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("with a garbage token: %d, want 401", resp.StatusCode)
		}

		access := login(t, base, ScopeTools)
		resp = postMCP(t, base, access, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"admin","arguments":{}}}`)
		wantStepUp := `Bearer error="insufficient_scope", error_description="the access token lacks a scope the request needs", ` +
			`scope="mcp:tools mcp:admin", resource_metadata="` + metadataURL + `"`
		if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusForbidden || got != wantStepUp {
			t.Errorf("admin with mcp:tools: %d %q, want 403 %q", resp.StatusCode, got, wantStepUp)
		}
		// In a batch too.
		resp = postMCP(t, base, access, `[{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"whoami"}},`+
			`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"admin"}}]`)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a batch calling admin with mcp:tools: %d, want 403", resp.StatusCode)
		}
		// whoami passes the scope check and reaches the MCP handler, which
		// refuses a tools/call outside a session — anything but 401 or 403.
		resp = postMCP(t, base, access, `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"whoami"}}`)
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			t.Errorf("whoami with mcp:tools: %d %q, want no auth refusal", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
}

// postMCP posts a JSON-RPC body to the MCP endpoint with bearer access
// ("" for none) and returns the response, its body read and closed.
func postMCP(t *testing.T, base, access, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+mcpPath, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// login registers a client dynamically (RFC 7591), authorizes it as the
// -dev-login user for the MCP resource with scope and PKCE, and exchanges
// the code; it returns the access token.
func login(t *testing.T, base, scope string) string {
	t.Helper()
	reg, err := http.Post(base+httpapi.DefaultPaths.Registration, "application/json",
		strings.NewReader(`{"client_name":"test","redirect_uris":["`+callback+`"],"token_endpoint_auth_method":"none"}`))
	if err != nil {
		t.Fatal(err)
	}
	var client struct {
		ClientID string `json:"client_id"`
	}
	err = json.NewDecoder(reg.Body).Decode(&client)
	reg.Body.Close()
	if err != nil || reg.StatusCode != http.StatusCreated {
		t.Fatalf("registration: %d %v", reg.StatusCode, err)
	}
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {client.ClientID}, "redirect_uri": {callback},
		"scope": {scope}, "state": {"st"}, "resource": {base + mcpPath},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(base + httpapi.DefaultPaths.Authorize + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d to %q, want 302 with a code", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := http.PostForm(base+httpapi.DefaultPaths.Token, url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {callback}, "client_id": {client.ClientID},
		"code_verifier": {verifier}, "resource": {base + mcpPath}})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if err := json.NewDecoder(tok.Body).Decode(&body); err != nil || tok.StatusCode != http.StatusOK || body.Scope != scope {
		t.Fatalf("token: %d %+v %v, want 200 with scope %q", tok.StatusCode, body, err, scope)
	}
	return body.AccessToken
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
