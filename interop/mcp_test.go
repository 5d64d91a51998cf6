package interop_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
)

// mcpCallback is the redirect URI of the MCP client; nothing listens
// there: the fetcher reads the code from the redirect itself.
const mcpCallback = "http://127.0.0.1:8766/callback"

// errDeclined is what the tests' user answers once they have revoked the
// client: they do not authorize it again.
var errDeclined = errors.New("the user declines to authorize the client again")

// TestMCPClient has the MCP Go SDK's client drive the MCP example server
// (the binary, -dev-login alice) on both databases, once per way of
// registering the client. auth.NewAuthorizationCodeHandler, with a
// programmatic AuthorizationCodeFetcher, meets the endpoint's 401 by
// discovery (RFC 9728 from the challenge's resource_metadata, then RFC
// 8414), registration, and the code flow with S256 PKCE and resource (RFC
// 8707) and the iss check (RFC 9207); the mcp.Client then connects over the
// streamable transport and calls whoami. Calling admin meets the 403
// insufficient_scope step-up challenge; the handler authorizes again with
// both scopes, and the retried call succeeds. Then alice revokes that
// session on the sessions API, and the next call is refused: a 401 from
// the endpoint, and the user declines to authorize again.
//
// Rows: "dcr" registers by RFC 7591 dynamic registration; "cimd" uses a
// Client ID Metadata Document the test serves over TLS on loopback (the
// server trusts its CA and allows 127.0.0.1 by -cimd-ca and -cimd-allow),
// so the client id is the document's URL, the same at step-up, and the
// wider grant supersedes the first one. With dynamic registration the
// SDK registers a new client at every authorization, so the first grant,
// another client's, stays.
func TestMCPClient(t *testing.T) {
	docs := newDocumentServer(t)
	registrations := []struct {
		name       string
		register   func(cfg *auth.AuthorizationCodeHandlerConfig)
		clientID   string // "": any
		registers  int    // POSTs to the registration endpoint
		fetches    int    // of the document, by the server
		supersedes bool   // the step-up grant replaces the first
	}{
		{"dcr", func(cfg *auth.AuthorizationCodeHandlerConfig) {
			cfg.DynamicClientRegistrationConfig = &auth.DynamicClientRegistrationConfig{
				Metadata: &oauthex.ClientRegistrationMetadata{ClientName: "grantkit interop MCP client",
					RedirectURIs: []string{mcpCallback}, TokenEndpointAuthMethod: "none",
					GrantTypes: []string{"authorization_code", "refresh_token"}}}
		}, "", 2, 0, false},
		{"cimd", func(cfg *auth.AuthorizationCodeHandlerConfig) {
			cfg.ClientIDMetadataDocumentConfig = &auth.ClientIDMetadataDocumentConfig{URL: docs.clientID}
		}, docs.clientID, 0, 1, true},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		args := []string{"-dev-login", "alice", "-cimd-ca", docs.caFile, "-cimd-allow", "127.0.0.1/32"}
		if db.Name == "postgres" {
			args = append(args, "-db", os.Getenv(testdb.EnvDSN), "-db-schema", testdb.NewSchema(t, testdb.Pool(t)))
		}
		base := startCommand(t, "github.com/grantkit/grantkit/interop/examples/mcp", args...)
		endpoint := base + "/mcp"
		metadataURL := base + httpapi.WellKnownProtectedResource + "/mcp"
		for _, reg := range registrations {
			t.Run(reg.name, func(t *testing.T) {
				ctx := t.Context()
				fetchedBefore := docs.fetches()
				rec := &recorder{}
				hc := &http.Client{Transport: rec}
				f := &fetcher{t: t, resource: endpoint}
				cfg := &auth.AuthorizationCodeHandlerConfig{RedirectURL: mcpCallback,
					AuthorizationCodeFetcher: f.fetch, Client: hc}
				reg.register(cfg)
				h, err := auth.NewAuthorizationCodeHandler(cfg)
				if err != nil {
					t.Fatal(err)
				}
				client := mcp.NewClient(&mcp.Implementation{Name: "grantkit-interop", Version: "1.0.0"}, nil)
				cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc,
					OAuthHandler: h, DisableStandaloneSSE: true}, nil)
				if err != nil {
					t.Fatalf("Connect: %v", err)
				}
				defer cs.Close()

				// The first request met the 401 challenge, and the handler
				// discovered, registered and authorized from it.
				first := rec.exchanges()
				wantPrefix := []hop{
					{"POST", "/mcp", 401, `Bearer resource_metadata="` + metadataURL + `", scope="mcp:tools"`},
					{"GET", httpapi.WellKnownProtectedResource + "/mcp", 200, ""},
					{"GET", httpapi.WellKnownMetadata, 200, ""},
				}
				if len(first) < len(wantPrefix) {
					t.Fatalf("requests %v, want them to begin with %v", first, wantPrefix)
				}
				if diff := cmp.Diff(wantPrefix, first[:len(wantPrefix)]); diff != "" {
					t.Errorf("the first requests (-want +got):\n%s", diff)
				}
				if f.calls() != 1 {
					t.Fatalf("the fetcher ran %d times to connect, want 1", f.calls())
				}

				me := callWhoami(t, ctx, cs)
				if me.Subject != "alice" || me.SubjectKind != "user" || me.GrantID == "" || me.ClientID == "" ||
					!slices.Equal(me.Scopes, []string{"mcp:tools"}) {
					t.Fatalf("whoami: %+v, want alice's grant with scope mcp:tools", me)
				}
				if got := sessionOf(t, base, me.GrantID); got.ClientID != me.ClientID || got.Resource != endpoint {
					t.Fatalf("session %s: %+v, want client %s and resource %s", me.GrantID, got, me.ClientID, endpoint)
				}
				if reg.clientID != "" && me.ClientID != reg.clientID {
					t.Errorf("client id %q, want %q", me.ClientID, reg.clientID)
				}

				// Step-up: admin needs mcp:admin too.
				mark := len(rec.exchanges())
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "admin", Arguments: map[string]any{}})
				if err != nil || res.IsError {
					t.Fatalf("admin after step-up: %v %+v", err, res)
				}
				stepUp := rec.exchanges()[mark]
				want := hop{"POST", "/mcp", 403, `Bearer error="insufficient_scope", error_description="the access token ` +
					`lacks a scope the request needs", scope="mcp:tools mcp:admin", resource_metadata="` + metadataURL + `"`}
				if diff := cmp.Diff(want, stepUp); diff != "" {
					t.Errorf("the admin call's first answer (-want +got):\n%s", diff)
				}
				if f.calls() != 2 || !sameScopes(f.lastScopes(), "mcp:tools", "mcp:admin") {
					t.Errorf("step-up: %d authorizations, the last for %q; want 2, for mcp:tools mcp:admin", f.calls(), f.lastScopes())
				}
				admin := callWhoami(t, ctx, cs)
				if admin.Subject != "alice" || admin.GrantID == me.GrantID ||
					!sameScopes(admin.Scopes, "mcp:tools", "mcp:admin") {
					t.Fatalf("whoami after step-up: %+v, want a new grant with both scopes", admin)
				}
				if listed := sessionListed(t, base, me.GrantID); listed == reg.supersedes {
					t.Errorf("the first grant listed after step-up: %v, want %v", listed, !reg.supersedes)
				}
				registered := 0
				for _, h := range rec.exchanges() {
					if h.Method == http.MethodPost && h.Path == httpapi.DefaultPaths.Registration {
						registered++
					}
				}
				if registered != reg.registers {
					t.Errorf("%d registrations, want %d (one per authorization, or none)", registered, reg.registers)
				}
				// The server fetched the document once (its cache answered
				// the step-up) or never (dynamic registration).
				if n := docs.fetches() - fetchedBefore; n != reg.fetches {
					t.Errorf("the document was fetched %d times, want %d", n, reg.fetches)
				}

				// alice revokes the session of the token in use.
				revokeSession(t, base, admin.GrantID)
				f.decline()
				mark = len(rec.exchanges())
				if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}}); !errors.Is(err, errDeclined) {
					t.Fatalf("whoami after revocation: %v, want the refused re-authorization (%v)", err, errDeclined)
				}
				refused := rec.exchanges()[mark]
				want = hop{"POST", "/mcp", 401, `Bearer resource_metadata="` + metadataURL + `", scope="mcp:tools"`}
				if diff := cmp.Diff(want, refused); diff != "" {
					t.Errorf("the call after revocation (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// hop is one HTTP request the MCP client sent and its answer.
type hop struct {
	Method, Path string
	Status       int
	Challenge    string // WWW-Authenticate
}

// recorder is the MCP client's transport: http.DefaultTransport, recording
// every exchange.
type recorder struct {
	mu  sync.Mutex
	log []hop
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.log = append(r.log, hop{req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("WWW-Authenticate")})
	r.mu.Unlock()
	return resp, nil
}

func (r *recorder) exchanges() []hop {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// fetcher is the programmatic AuthorizationCodeFetcher: it follows the
// authorization URL without a browser (the dev login approves at once)
// to the redirect URI and returns its code, state and iss — until the user
// declines.
type fetcher struct {
	t        *testing.T
	resource string

	mu       sync.Mutex
	n        int
	scopes   []string
	declined bool
}

func (f *fetcher) fetch(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
	u, err := url.Parse(args.URL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	f.mu.Lock()
	f.n++
	f.scopes = strings.Fields(q.Get("scope"))
	declined := f.declined
	f.mu.Unlock()
	if declined {
		return nil, errDeclined
	}
	if q.Get("resource") != f.resource || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		return nil, fmt.Errorf("authorization URL %s: want resource %s and an S256 challenge", args.URL, f.resource)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	next := args.URL
	for i := 0; i < 8; i++ {
		if strings.HasPrefix(next, mcpCallback+"?") {
			r, _ := url.Parse(next)
			rq := r.Query()
			if rq.Get("error") != "" {
				return nil, fmt.Errorf("authorization refused: %s %s", rq.Get("error"), rq.Get("error_description"))
			}
			return &auth.AuthorizationResult{Code: rq.Get("code"), State: rq.Get("state"), Iss: rq.Get("iss")}, nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if resp.Header.Get("Location") == "" || err != nil {
			return nil, fmt.Errorf("authorize hop %d: status %d, no redirect", i, resp.StatusCode)
		}
		next = loc.String()
	}
	return nil, errors.New("the authorization did not reach the redirect URI")
}

func (f *fetcher) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// sameScopes reports whether got holds exactly the scopes want, in any
// order: a scope parameter is a set (RFC 6749 §3.3), and the SDK's union
// of the old and the challenged scopes has no fixed order.
func sameScopes(got []string, want ...string) bool {
	return cmp.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

func (f *fetcher) lastScopes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scopes
}

func (f *fetcher) decline() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.declined = true
}

// identity is the whoami tool's structured answer.
type identity struct {
	Subject     string   `json:"subject"`
	SubjectKind string   `json:"subject_kind"`
	ClientID    string   `json:"client_id"`
	GrantID     string   `json:"grant_id"`
	Scopes      []string `json:"scopes"`
}

func callWhoami(t *testing.T, ctx context.Context, cs *mcp.ClientSession) identity {
	t.Helper()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "whoami", Arguments: map[string]any{}})
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %+v", err, res)
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		t.Fatalf("whoami answered %s: %v", b, err)
	}
	return id
}

// listedSession is the part of a sessions API entry the test reads.
type listedSession struct {
	ID       string `json:"id"`
	ClientID string `json:"client_id"`
	Resource string `json:"resource"`
}

// sessionListed reports whether session id is on the sessions API of
// the -dev-login user.
func sessionListed(t *testing.T, base, id string) bool {
	t.Helper()
	for _, s := range listSessions(t, base) {
		if s.ID == id {
			return true
		}
	}
	return false
}

// listSessions returns the -dev-login user's sessions (no cookie: the dev
// login is the caller).
func listSessions(t *testing.T, base string) []listedSession {
	t.Helper()
	resp, err := http.Get(base + "/api/sessions?limit=100")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Sessions []listedSession `json:"sessions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/sessions: %d %v", resp.StatusCode, err)
	}
	return page.Sessions
}

// sessionOf returns session id on the sessions API of the -dev-login
// user, failing if it is not listed.
func sessionOf(t *testing.T, base, id string) listedSession {
	t.Helper()
	sessions := listSessions(t, base)
	for _, s := range sessions {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("session %s is not listed: %+v", id, sessions)
	return listedSession{}
}

// revokeSession revokes session id as the -dev-login user: 204.
func revokeSession(t *testing.T, base, id string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, base+"/api/sessions/"+url.PathEscape(id), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE /api/sessions/%s: %d, want 204", id, resp.StatusCode)
	}
}

// documentServer serves the MCP client's Client ID Metadata Document over
// TLS on loopback and counts the fetches.
type documentServer struct {
	clientID string // the document's URL
	caFile   string // PEM of the server's certificate, for -cimd-ca

	mu sync.Mutex
	n  int
}

func newDocumentServer(t *testing.T) *documentServer {
	t.Helper()
	d := &documentServer{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/mcp-client.json" {
			http.NotFound(w, r)
			return
		}
		d.mu.Lock()
		d.n++
		d.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"client_id": d.clientID, "client_name": "grantkit interop MCP client (CIMD)",
			"redirect_uris": []string{mcpCallback}, "token_endpoint_auth_method": "none",
			"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		})
	}))
	t.Cleanup(srv.Close)
	d.clientID = srv.URL + "/mcp-client.json"
	d.caFile = filepath.Join(t.TempDir(), "ca.pem")
	block := &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}
	if err := os.WriteFile(d.caFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *documentServer) fetches() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}
