package grant_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

// redirectRule is one redirect URI and what registration makes of it:
// rule is "" for a URI it accepts, else a part of the refusal's message
// naming the rule that failed.
type redirectRule struct {
	name, uri, rule string
}

// redirectRules are the registration cases of RFC 6749 §3.1.2, RFC 8252 §7
// and RFC 9700 §2.1.
var redirectRules = []redirectRule{
	// Accepted.
	{"https", "https://app.example/cb", ""},
	{"https with port and query", "https://app.example:8443/cb?tenant=a&x=%20", ""},
	{"https without path", "https://app.example", ""},
	{"http 127.0.0.1", "http://127.0.0.1/cb", ""},
	{"http 127.0.0.1 with port", "http://127.0.0.1:8765/cb", ""},
	{"http [::1]", "http://[::1]/cb", ""},
	{"http [::1] with port and query", "http://[::1]:65535/cb?x=1", ""},
	{"http localhost", "http://localhost/cb", ""},
	{"http localhost with port", "http://localhost:3000/callback", ""},
	{"private-use scheme", "com.example.app:/oauth2redirect/example-provider", ""},
	{"private-use scheme with authority", "com.example.app://cb", ""},
	{"private-use scheme opaque", "com.example.app:cb", ""},
	{"upper-case https scheme", "HTTPS://app.example/cb", ""},

	// Refused schemes, whatever else they hold.
	{"javascript", "javascript:alert(1)", "javascript scheme"},
	{"javascript with authority", "javascript://app.example/%0Aalert(1)", "javascript scheme"},
	{"javascript upper case", "JavaScript:alert(document.cookie)", "javascript scheme"},
	{"javascript with fragment", "javascript:alert(1)#x", "javascript scheme"},
	{"data", "data:text/html,<script>alert(1)</script>", "data scheme"},
	{"data base64", "data:text/html;base64,PHNjcmlwdD4=", "data scheme"},
	{"vbscript", "vbscript:msgbox(1)", "vbscript scheme"},
	{"file", "file:///etc/passwd", "file scheme"},
	{"file with host", "file://app.example/cb", "file scheme"},
	{"blob", "blob:https://app.example/4b2a5c7e-0d1f-4a8e-9c3b-2f6d7e8a9b0c", "blob scheme"},

	// Fragments, even empty.
	{"empty fragment", "https://app.example/cb#", "fragment"},
	{"fragment", "https://app.example/cb#frag", "fragment"},
	{"fragment after query", "https://app.example/cb?x=1#", "fragment"},
	{"fragment on loopback", "http://127.0.0.1:8765/cb#", "fragment"},
	{"fragment on private-use", "com.example.app:/cb#x", "fragment"},

	// Userinfo, even empty.
	{"userinfo lookalike", "https://app.example@evil.example/cb", "userinfo"},
	{"user and password", "https://user:pass@app.example/cb", "userinfo"},
	{"empty userinfo", "https://@app.example/cb", "userinfo"},
	{"userinfo on loopback", "http://user@127.0.0.1/cb", "userinfo"},
	{"port-like userinfo", "http://127.0.0.1:8765@evil.example/cb", "userinfo"},
	{"userinfo on private-use", "com.example.app://user@host/cb", "userinfo"},

	// http to anything but the loopback literals.
	{"http", "http://app.example/cb", "loopback"},
	{"http 127.0.0.2", "http://127.0.0.2/cb", "loopback"},
	{"http 127.1", "http://127.1/cb", "loopback"},
	{"http 0.0.0.0", "http://0.0.0.0/cb", "loopback"},
	{"http decimal IP", "http://2130706433/cb", "loopback"},
	{"http localhost suffix", "http://localhost.evil.example/cb", "loopback"},
	{"http 127.0.0.1 subdomain", "http://127.0.0.1.nip.io/cb", "loopback"},
	{"http [::2]", "http://[::2]/cb", "loopback"},
	{"http mapped IPv4", "http://[::ffff:127.0.0.1]/cb", "loopback"},
	{"http zone", "http://[::1%25eth0]/cb", "loopback"},
	{"http upper-case localhost", "http://LOCALHOST/cb", "loopback"},

	// Private-use schemes without a dot.
	{"private-use without dot", "myapp:/cb", "private-use"},
	{"private-use without dot with authority", "myapp://callback", "private-use"},

	// Not absolute, no host, bad ports, bad characters, too long.
	{"empty", "", "absolute"},
	{"path only", "/cb", "absolute"},
	{"no scheme", "app.example/cb", "absolute"},
	{"network-path reference", "//app.example/cb", "absolute"},
	{"https without authority", "https:/cb", "needs a host"},
	{"https opaque", "https:app.example", "needs a host"},
	{"https empty host", "https:///cb", "needs a host"},
	{"https port without host", "https://:443/cb", "needs a host"},
	{"port 0", "https://app.example:0/cb", "port"},
	{"port too large", "http://127.0.0.1:65536/cb", "port"},
	{"empty port", "http://127.0.0.1:/cb", "port"},
	{"leading zero port", "http://[::1]:080/cb", "port"},
	{"space", "https://app.example/c b", "not allowed in a URI"},
	{"NUL", "https://app.example/cb\x00", "not allowed in a URI"},
	{"newline", "https://app.example/cb\n", "not allowed in a URI"},
	{"non-ASCII", "https://app.example/caf\u00e9", "not allowed in a URI"},
	{"not UTF-8", "https://app.example/\xff", "not allowed in a URI"},
	{"bad percent-encoding", "https://app.example/cb?x=%zz", "percent-encoding"},
	{"truncated percent-encoding", "https://app.example/cb%2", "percent-encoding"},
	{"longest", "https://app.example/" + strings.Repeat("a", grant.MaxRedirectURILength-20), ""},
	{"too long", "https://app.example/" + strings.Repeat("a", grant.MaxRedirectURILength-19), "longer than"},
}

// TestRedirectURIRules checks the redirect URI registration rules (RFC 6749
// §3.1.2, RFC 8252 §7, RFC 9700 §2.1) through RegisterClient and
// UpdateClient: a refusal wraps ErrInvalidRedirectURI, names the rule that
// failed and changes no table; an accepted URI is stored as given.
func TestRedirectURIRules(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		updated := e.client()
		for _, tc := range redirectRules {
			t.Run(tc.name, func(t *testing.T) {
				check := func(op string, c store.Client, err error, before map[string][]map[string]any) {
					t.Helper()
					if tc.rule == "" {
						if err != nil {
							t.Fatalf("%s(%q) = %v, want it accepted", op, tc.uri, err)
						}
						if !cmp.Equal(c.RedirectURIs, []string{tc.uri}) {
							t.Errorf("%s stored redirect URIs %q, want [%q]", op, c.RedirectURIs, tc.uri)
						}
						return
					}
					if !errors.Is(err, grant.ErrInvalidRedirectURI) || !strings.Contains(err.Error(), tc.rule) {
						t.Errorf("%s(%q) = %v, want ErrInvalidRedirectURI naming %q", op, tc.uri, err, tc.rule)
					}
					if d := cmp.Diff(before, e.snapshot()); d != "" {
						t.Errorf("refused %s changed the store (-before +after):\n%s", op, d)
					}
				}

				before := e.snapshot()
				c, plain, err := e.m.RegisterClient(ctx, grant.ClientMetadata{Name: "App",
					RedirectURIs: []string{tc.uri}, Scopes: []string{"read"}, Dynamic: true})
				if err != nil && (c.ID != "" || plain != "") {
					t.Errorf("RegisterClient returned client %q with its error", c.ID)
				}
				check("RegisterClient", c, err, before)
				if err == nil {
					if got, err := e.s.GetClient(ctx, c.ID); err != nil || !cmp.Equal(got.RedirectURIs, []string{tc.uri}) {
						t.Errorf("stored client %q: redirect URIs %q, %v", c.ID, got.RedirectURIs, err)
					}
				}

				before = e.snapshot()
				c, _, err = e.m.UpdateClient(ctx, updated.ID, grant.ClientMetadata{Name: "App",
					RedirectURIs: []string{tc.uri}, Scopes: updated.Scopes}, "admin")
				check("UpdateClient", c, err, before)
			})
		}
	})
}

// TestRedirectURIMatch checks the matching of an authorization request's
// redirect URI at Start (RFC 6749 §3.1.2.3, RFC 9700 §2.1): exact, except
// that a registered loopback IP-literal URI matches any port (RFC 8252
// §7.3) but not another path, query, host or scheme, and never for
// localhost (RFC 8252 §8.3). A match keeps the requested URI, port
// included, on the grant, the request and the code; a refusal changes no
// table.
func TestRedirectURIMatch(t *testing.T) {
	t.Parallel()
	registered := []string{"http://127.0.0.1/cb", "http://[::1]:8080/cb?x=1", "http://localhost/cb",
		"https://app.example/cb", "com.example.app:/cb"}
	tests := []struct {
		name, uri string
		ok        bool
	}{
		{"127.0.0.1 exact", "http://127.0.0.1/cb", true},
		{"127.0.0.1 random port", "http://127.0.0.1:49152/cb", true},
		{"127.0.0.1 port 1", "http://127.0.0.1:1/cb", true},
		{"127.0.0.1 port 65535", "http://127.0.0.1:65535/cb", true},
		{"127.0.0.1 port 80", "http://127.0.0.1:80/cb", true},
		{"[::1] exact", "http://[::1]:8080/cb?x=1", true},
		{"[::1] other port", "http://[::1]:50123/cb?x=1", true},
		{"[::1] no port", "http://[::1]/cb?x=1", true},
		{"localhost exact", "http://localhost/cb", true},
		{"https exact", "https://app.example/cb", true},
		{"private-use exact", "com.example.app:/cb", true},

		{"localhost with port", "http://localhost:49152/cb", false},
		{"127.0.0.1 other path", "http://127.0.0.1:49152/cb/", false},
		{"127.0.0.1 other path case", "http://127.0.0.1:49152/CB", false},
		{"127.0.0.1 query added", "http://127.0.0.1:49152/cb?x=1", false},
		{"[::1] query missing", "http://[::1]:50123/cb", false},
		{"[::1] query differs", "http://[::1]:50123/cb?x=2", false},
		{"host swapped", "http://[::1]:50123/cb", false},
		{"other loopback host", "http://127.0.0.2:49152/cb", false},
		{"scheme case", "HTTP://127.0.0.1:49152/cb", false},
		{"https loopback", "https://127.0.0.1:49152/cb", false},
		{"port 0", "http://127.0.0.1:0/cb", false},
		{"port too large", "http://127.0.0.1:65536/cb", false},
		{"empty port", "http://127.0.0.1:/cb", false},
		{"leading zero port", "http://127.0.0.1:0080/cb", false},
		{"port not a number", "http://127.0.0.1:80a/cb", false},
		{"userinfo after port", "http://127.0.0.1:49152@evil.example/cb", false},
		{"host suffix", "http://127.0.0.1.evil.example/cb", false},
		{"fragment", "http://127.0.0.1:49152/cb#x", false},
		{"https with port", "https://app.example:443/cb", false},
		{"https trailing slash", "https://app.example/cb/", false},
		{"private-use other path", "com.example.app:/cb2", false},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client(func(md *grant.ClientMetadata) { md.RedirectURIs = registered })
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req := request(c.ID, "alice-"+tc.name)
				req.RedirectURI = tc.uri
				if err := grant.CheckRequest(c, req); (err == nil) != tc.ok {
					t.Errorf("CheckRequest(%q) = %v, want ok %v", tc.uri, err, tc.ok)
				}
				before := e.snapshot()
				a, err := e.m.Start(ctx, req)
				if !tc.ok {
					if !errors.Is(err, grant.ErrInvalidRedirectURI) {
						t.Errorf("Start(%q) = %v, want ErrInvalidRedirectURI", tc.uri, err)
					}
					if d := cmp.Diff(before, e.snapshot()); d != "" {
						t.Errorf("refused Start changed the store (-before +after):\n%s", d)
					}
					return
				}
				if err != nil {
					t.Fatalf("Start(%q) = %v, want it accepted", tc.uri, err)
				}
				// The grant is bound to the registered URI that matched, so a
				// client back on another loopback port is the same binding.
				bound := tc.uri
				switch {
				case strings.HasPrefix(tc.uri, "http://127.0.0.1"):
					bound = "http://127.0.0.1/cb"
				case strings.HasPrefix(tc.uri, "http://[::1]"):
					bound = "http://[::1]:8080/cb?x=1"
				}
				if g := e.grant(a.Grant.ID); g.RedirectURI != bound {
					t.Errorf("stored grant's redirect URI %q, want the registered %q", g.RedirectURI, bound)
				}
				if r, err := e.s.GetAuthRequest(ctx, a.Request.ID); err != nil || r.RedirectURI != tc.uri {
					t.Errorf("stored request's redirect URI %q (%v), want %q", r.RedirectURI, err, tc.uri)
				}
				ap, err := e.m.Approve(ctx, a.Request.ID, nil)
				if err != nil {
					t.Fatalf("Approve: %v", err)
				}
				if ap.RedirectURI != tc.uri {
					t.Errorf("Approval.RedirectURI %q, want %q", ap.RedirectURI, tc.uri)
				}
				// The token endpoint compares the code's redirect URI
				// exactly with the one the client presents (RFC 6749
				// §4.1.3): it must be the one the request used.
				if code, err := e.s.GetAuthCode(ctx, secret.Hash(ap.Code)); err != nil || code.RedirectURI != tc.uri {
					t.Errorf("stored code's redirect URI %q (%v), want %q", code.RedirectURI, err, tc.uri)
				}
			})
		}
	})
}

// TestRedirectURIMatchFunc checks the matching rule on its own, both
// ways round where it is symmetric, and that only a registered loopback
// IP-literal URI gets the port exception.
func TestRedirectURIMatchFunc(t *testing.T) {
	t.Parallel()
	tests := []struct {
		registered, requested string
		want                  bool
	}{
		{"http://127.0.0.1/cb", "http://127.0.0.1/cb", true},
		{"http://127.0.0.1/cb", "http://127.0.0.1:5000/cb", true},
		{"http://127.0.0.1:5000/cb", "http://127.0.0.1:6000/cb", true},
		{"http://127.0.0.1:5000/cb", "http://127.0.0.1/cb", true},
		{"http://127.0.0.1", "http://127.0.0.1:5000", true},
		{"http://127.0.0.1?x", "http://127.0.0.1:5000?x", true},
		{"http://[::1]/cb", "http://[::1]:5000/cb", true},
		{"http://127.0.0.1", "http://127.0.0.1:5000/", false},
		{"http://127.0.0.1/cb", "http://[::1]:5000/cb", false},
		{"http://localhost/cb", "http://localhost:5000/cb", false},
		{"http://localhost:4000/cb", "http://localhost:5000/cb", false},
		{"https://127.0.0.1/cb", "https://127.0.0.1:5000/cb", false},
		{"http://127.0.0.1:0/cb", "http://127.0.0.1:5000/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:99999/cb", false},
		{"http://127.0.0.1/cb", "http://127.0.0.1:5000:6000/cb", false},
		{"http://127.0.0.1.example/cb", "http://127.0.0.1.example:5000/cb", false},
		{"https://app.example/cb", "https://app.example:443/cb", false},
		{"", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.registered+" "+tc.requested, func(t *testing.T) {
			if got := grant.MatchRedirectURI(tc.registered, tc.requested); got != tc.want {
				t.Errorf("MatchRedirectURI(%q, %q) = %v, want %v", tc.registered, tc.requested, got, tc.want)
			}
		})
	}
}

// TestLoopbackPortsShareABinding: a desktop client registered with
// http://127.0.0.1/cb comes back on a new random port for every
// authorization (RFC 8252 §7.3). Its grants are bound to the registered
// URI, so an identical authorization reuses the active grant and a changed
// one supersedes it — active grants do not pile up one per port — while
// each code keeps the port its request used.
func TestLoopbackPortsShareABinding(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client(func(md *grant.ClientMetadata) { md.RedirectURIs = []string{"http://127.0.0.1/cb"} })
		first := request(c.ID, "alice")
		first.RedirectURI = "http://127.0.0.1:49152/cb"
		g1 := e.activeGrant(first).Grant

		same := first
		same.RedirectURI = "http://127.0.0.1:50001/cb"
		a, err := e.m.Start(ctx, same)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Reused || a.Grant.ID != g1.ID {
			t.Errorf("an identical authorization on another port: reused=%v grant %s, want grant %s reused", a.Reused, a.Grant.ID, g1.ID)
		}
		ap, err := e.m.Approve(ctx, a.Request.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if code, err := e.s.GetAuthCode(ctx, secret.Hash(ap.Code)); err != nil || code.RedirectURI != same.RedirectURI {
			t.Errorf("code's redirect URI %q (%v), want the one requested, %q", code.RedirectURI, err, same.RedirectURI)
		}

		wider := first
		wider.RedirectURI = "http://127.0.0.1:50002/cb"
		wider.Scopes = []string{"read", "write"}
		g2 := e.activeGrant(wider).Grant
		if g := e.grant(g1.ID); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonSuperseded {
			t.Errorf("old grant after a changed authorization on another port: %s (%s), want revoked (superseded)", g.Status, g.RevokeReason)
		}
		if g2.RedirectURI != "http://127.0.0.1/cb" {
			t.Errorf("grant bound to %q, want the registered http://127.0.0.1/cb", g2.RedirectURI)
		}
	})
}
