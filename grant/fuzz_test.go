package grant_test

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
)

// The fuzz targets' seed corpora are committed under testdata/fuzz/<name>;
// plain go test runs them as ordinary tests. To fuzz (not in CI):
//
//	go test -run '^$' -fuzz '^FuzzRedirectURI$' -fuzztime 1000000x -parallel 1 ./grant/
//
// The invariants below are checked without the code under test's helpers:
// with url.Parse and regular expressions instead of grantkit's own string
// scanning.

var (
	// fuzzLoopback matches an http URI of a loopback IP literal and splits
	// it into origin, port and the rest (RFC 8252 §7.3).
	fuzzLoopback = regexp.MustCompile(`(?s)^(http://(?:127\.0\.0\.1|\[::1\]))(?::([0-9]*))?((?:[/?].*)?)$`)
	// fuzzHTTPHost matches the authority of an http URI that registration
	// accepts: a loopback host as written, then an optional port.
	fuzzHTTPHost = regexp.MustCompile(`(?s)^[hH][tT][tT][pP]://(?:127\.0\.0\.1|\[::1\]|localhost)(?::([0-9]+))?(?:[/?].*)?$`)
	// fuzzUserinfo matches an authority holding an '@'.
	fuzzUserinfo = regexp.MustCompile(`(?s)^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@`)
	// fuzzURIChars matches a string of the characters RFC 3986 §2 allows,
	// '%' only in a percent-encoding, without '#'.
	fuzzURIChars = regexp.MustCompile(`^(?:[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$`)
	// fuzzChallenge matches an S256 PKCE challenge (RFC 7636 §4.2).
	fuzzChallenge = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// fuzzPortOK reports whether p is a port RFC 8252 §7.3 matching and
// registration accept: "" (none) or 1–65535 in canonical decimal.
func fuzzPortOK(p string, present bool) bool {
	if !present {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == p
}

// FuzzRedirectURI fuzzes the redirect URI registration rules (RFC 6749
// §3.1.2, RFC 8252 §7, RFC 9700 §2.1): no panic, every refusal wraps
// ErrInvalidRedirectURI with a bounded message, and every accepted URI
// satisfies each rule as re-checked here independently.
func FuzzRedirectURI(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		err := grant.CheckRedirectURI(raw)
		if err != nil {
			if !errors.Is(err, grant.ErrInvalidRedirectURI) {
				t.Fatalf("CheckRedirectURI(%q) = %v, not ErrInvalidRedirectURI", raw, err)
			}
			if len(err.Error()) > 400 {
				t.Fatalf("CheckRedirectURI(%q): message of %d bytes", raw, len(err.Error()))
			}
			return
		}
		if len(raw) > grant.MaxRedirectURILength {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		if strings.Contains(raw, "#") {
			t.Fatalf("accepted a fragment: %q", raw)
		}
		if !fuzzURIChars.MatchString(raw) {
			t.Fatalf("accepted a character RFC 3986 does not allow, or a bad percent-encoding: %q", raw)
		}
		u, perr := url.Parse(raw)
		if perr != nil || !u.IsAbs() {
			t.Fatalf("accepted %q, which url.Parse takes for %v (absolute %v)", raw, perr, perr == nil && u.IsAbs())
		}
		if u.User != nil || fuzzUserinfo.MatchString(raw) {
			t.Fatalf("accepted userinfo: %q", raw)
		}
		switch scheme := strings.ToLower(u.Scheme); scheme {
		case "javascript", "data", "vbscript", "file", "blob":
			t.Fatalf("accepted the %s scheme: %q", scheme, raw)
		case "https":
			if u.Opaque != "" || u.Hostname() == "" || !strings.HasPrefix(strings.ToLower(raw), "https://") {
				t.Fatalf("accepted https without a host: %q", raw)
			}
			if p := u.Port(); !fuzzPortOK(p, p != "") {
				t.Fatalf("accepted port %q: %q", p, raw)
			}
		case "http":
			m := fuzzHTTPHost.FindStringSubmatch(raw)
			if m == nil || !fuzzPortOK(m[1], m[1] != "") {
				t.Fatalf("accepted http to a host other than 127.0.0.1, [::1] or localhost, or a bad port: %q", raw)
			}
			if h := u.Hostname(); h != "127.0.0.1" && h != "::1" && h != "localhost" {
				t.Fatalf("accepted http to host %q: %q", h, raw)
			}
		default:
			if !strings.Contains(scheme, ".") {
				t.Fatalf("accepted private-use scheme %q without a dot", scheme)
			}
		}
		if !grant.MatchRedirectURI(raw, raw) {
			t.Fatalf("accepted %q does not match itself", raw)
		}
	})
}

// FuzzRedirectMatch fuzzes authorization-time matching (RFC 6749
// §3.1.2.3, RFC 9700 §2.1, RFC 8252 §7.3): equal strings always match;
// different strings match exactly when they are two loopback IP-literal
// http URIs, same origin, same path and query, that differ only in a
// valid port (absent, or 1–65535 in canonical decimal); matching
// is symmetric; a URI matching a registrable one is registrable too
// (unless the port made it too long); CheckRequest agrees.
func FuzzRedirectMatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, registered, requested string) {
		if !grant.MatchRedirectURI(registered, registered) || !grant.MatchRedirectURI(requested, requested) {
			t.Fatalf("a string does not match itself: %q, %q", registered, requested)
		}
		ok := grant.MatchRedirectURI(registered, requested)
		if ok != grant.MatchRedirectURI(requested, registered) {
			t.Fatalf("MatchRedirectURI(%q, %q) = %v, not symmetric", registered, requested, ok)
		}
		c := store.Client{ID: "c", GrantTypes: []string{grant.GrantTypeAuthorizationCode},
			ResponseTypes: []string{grant.ResponseTypeCode}, Scopes: []string{"read"}, RedirectURIs: []string{registered}}
		req := request("c", "alice")
		req.RedirectURI = requested
		if err := grant.CheckRequest(c, req); errors.Is(err, grant.ErrInvalidRedirectURI) == ok {
			t.Fatalf("CheckRequest = %v, but MatchRedirectURI = %v", err, ok)
		}
		r, q := fuzzLoopback.FindStringSubmatch(registered), fuzzLoopback.FindStringSubmatch(requested)
		if !ok {
			if r != nil && q != nil && r[1] == q[1] && r[3] == q[3] &&
				fuzzPortOK(r[2], strings.HasPrefix(r[0][len(r[1]):], ":")) &&
				fuzzPortOK(q[2], strings.HasPrefix(q[0][len(q[1]):], ":")) {
				t.Fatalf("%q does not match %q, though they differ only in a valid loopback port", requested, registered)
			}
			return
		}
		if registered == requested {
			return
		}
		if r == nil || q == nil {
			t.Fatalf("%q matched %q, but they are not both loopback IP-literal http URIs", requested, registered)
		}
		if r[1] != q[1] || r[3] != q[3] {
			t.Fatalf("%q matched %q: they differ in more than the port", requested, registered)
		}
		for _, m := range [][]string{r, q} {
			if !fuzzPortOK(m[2], strings.HasPrefix(m[0][len(m[1]):], ":")) {
				t.Fatalf("%q matched %q with port %q", requested, registered, m[2])
			}
		}
		if grant.CheckRedirectURI(registered) == nil && len(requested) <= grant.MaxRedirectURILength {
			if err := grant.CheckRedirectURI(requested); err != nil {
				t.Fatalf("%q matched registrable %q but is refused: %v", requested, registered, err)
			}
			u, err := url.Parse(requested)
			if err != nil || u.User != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "::1") {
				t.Fatalf("%q matched %q: url.Parse sees host %q, userinfo %v, error %v", requested, registered,
					u.Hostname(), u.User, err)
			}
		}
	})
}

// FuzzCheckRequest fuzzes CheckRequest (RFC 6749 §4.1.1, §3.1.2.3; RFC 7636
// §4.3) against a client registered once in an in-memory SQLite store: no
// panic, every refusal one of its sentinels, and every accepted request
// within the limits and the registration, as re-checked here.
func FuzzCheckRequest(f *testing.F) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	m, err := grant.New(grant.Config{Store: s, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	c, _, err := m.RegisterClient(ctx, grant.ClientMetadata{Name: "Fuzz", Scopes: []string{"read", "write", "files:read"},
		RedirectURIs: []string{redirectURI, "http://127.0.0.1/cb", "http://[::1]:8080/cb?x=1", "http://localhost/cb",
			"com.example.app:/cb"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, redirect, scope, state, challenge, method, subject string, ctxJSON []byte) {
		req := grant.AuthorizationRequest{ClientID: c.ID, RedirectURI: redirect, State: state,
			CodeChallenge: challenge, CodeChallengeMethod: method, Resource: resource, Subject: subject,
			SubjectKind: "user", Context: ctxJSON}
		if scope != "" {
			req.Scopes = strings.Split(scope, " ")
		}
		err := grant.CheckRequest(c, req)
		if err != nil {
			for _, want := range []error{grant.ErrUnauthorizedClient, grant.ErrInvalidRedirectURI,
				grant.ErrInvalidScope, grant.ErrInvalidRequest} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("CheckRequest = %v, not one of its sentinels", err)
		}
		switch {
		case len(req.Scopes) > grant.MaxScopes:
			t.Fatalf("accepted %d scope values", len(req.Scopes))
		case len(state) > grant.MaxStateLength:
			t.Fatalf("accepted a state of %d bytes", len(state))
		case len(ctxJSON) > grant.MaxContextBytes:
			t.Fatalf("accepted a context of %d bytes", len(ctxJSON))
		case method != grant.CodeChallengeS256:
			t.Fatalf("accepted method %q", method)
		case !fuzzChallenge.MatchString(challenge):
			t.Fatalf("accepted challenge %q", challenge)
		case subject == "":
			t.Fatal("accepted no subject")
		case !utf8.ValidString(state) || !utf8.ValidString(subject) || strings.ContainsRune(state+subject, 0):
			t.Fatalf("accepted unstorable text: %q, %q", state, subject)
		}
		for _, sc := range req.Scopes {
			if len(sc) > grant.MaxScopeLength || !slices.Contains(c.Scopes, sc) {
				t.Fatalf("accepted scope %q", sc)
			}
		}
		if !slices.Contains(c.RedirectURIs, redirect) {
			q := fuzzLoopback.FindStringSubmatch(redirect)
			found := false
			for _, r := range c.RedirectURIs {
				if m := fuzzLoopback.FindStringSubmatch(r); m != nil && q != nil && m[1] == q[1] && m[3] == q[3] {
					found = true
				}
			}
			if !found {
				t.Fatalf("accepted redirect URI %q, registered %q", redirect, c.RedirectURIs)
			}
		}
	})
}
