package httpapi

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
)

// fuzzClient is the registration FuzzAuthorizeQuery checks requests
// against: an https URI, a loopback IP literal (any port) and a
// private-use URI.
var fuzzClient = store.Client{ID: "c1", Name: "Fuzz", RedirectURIs: []string{"https://app.example/cb",
	"http://127.0.0.1/cb", "com.example.app:/cb"}, GrantTypes: []string{grant.GrantTypeAuthorizationCode},
	ResponseTypes: []string{grant.ResponseTypeCode}, Scopes: []string{"read", "write"}}

// FuzzAuthorizeQuery runs the authorize query parser and the checks
// against a client (parseAuthorizeParams, checkAuthorize) on arbitrary
// text. It must never panic; it may only redirect to a redirect URI the
// client registered (by grant.CheckRequest's rule) with a state it may
// echo; and what it accepts must pass grant.CheckRequest once a subject is
// known, with code, S256 and a well-formed resource.
func FuzzAuthorizeQuery(f *testing.F) {
	for _, s := range []string{
		"response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&scope=read+write&state=xyz&resource=https%3A%2F%2Fapi.example%2Fmcp",
		"response_type=token&client_id=c1&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fcb&state=s",
		"client_id=c1&redirect_uri=com.example.app%3A%2Fcb&client_id=c1",
		"client_id=c1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F",
		"client_id=c1&redirect_uri=%zz",
		"client_id=c1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=%00",
		"client_id=c1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&resource=a&resource=b",
		"client_id=c1&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=read%20%20write",
		"",
		"&&&=&=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := parseAuthorizeParams(raw)
		if err != nil {
			var re *RedirectError
			if errors.As(err, &re) {
				t.Fatalf("the parser redirects before the client is known: %v", err)
			}
			return
		}
		if p.clientID == "" || p.redirectURI == "" || !clean(p.clientID) || !clean(p.redirectURI) {
			t.Fatalf("parsed client_id %q, redirect_uri %q", p.clientID, p.redirectURI)
		}
		req, err := checkAuthorize(p, fuzzClient, nil)
		var re *RedirectError
		switch {
		case errors.As(err, &re):
			if !trustedRedirect(fuzzClient, re.RedirectURI) || re.RedirectURI != p.redirectURI {
				t.Fatalf("redirects to %q, not a registered URI", re.RedirectURI)
			}
			if len(re.State) > grant.MaxStateLength || !clean(re.State) {
				t.Fatalf("echoes state %q", re.State)
			}
			return
		case err != nil:
			if trustedRedirect(fuzzClient, p.redirectURI) {
				t.Fatalf("a trusted redirect URI's refusal is not redirected: %v", err)
			}
			return
		}
		if !trustedRedirect(fuzzClient, req.RedirectURI) || req.CodeChallengeMethod != grant.CodeChallengeS256 ||
			p.values.Get("response_type") != grant.ResponseTypeCode {
			t.Fatalf("accepted %+v", req)
		}
		if err := grant.CheckRequest(fuzzClient, req.grantRequest(Login{Subject: "alice"})); err != nil {
			t.Fatalf("accepted a request grant refuses: %v", err)
		}
		if req.Resource != "" {
			if _, err := checkResource([]string{req.Resource}, nil); err != nil || strings.Contains(req.Resource, "#") {
				t.Fatalf("accepted resource %q", req.Resource)
			}
		}
	})
}

// FuzzRegistration runs the registration body parser and the metadata it
// builds (parseRegistration, registrationMetadata) on arbitrary bytes. It
// must never panic; what it accepts is clean text, and parses again to the
// same request once re-encoded.
func FuzzRegistration(f *testing.F) {
	for _, s := range []string{
		`{"redirect_uris":["https://app.example/cb"],"client_name":"Editor","token_endpoint_auth_method":"none","scope":"read write"}`,
		`{"redirect_uris":["http://127.0.0.1/cb"],"grant_types":["authorization_code"],"response_types":["code"]}`,
		`{"redirect_uris":"x"}`,
		`{"a":1,"a":2}`,
		`{"redirect_uris":["a"]} {}`,
		`{"client_name":"\u0000"}`,
		`{"scope":null,"logo_uri":{"x":[1,2,{"y":null}]}}`,
		`[]`,
		`{"client_name":"` + "\xff" + `"}`,
	} {
		f.Add([]byte(s))
	}
	supported := []string{"read", "write"}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseRegistration(body)
		if err != nil {
			return
		}
		if !utf8.Valid(body) {
			t.Fatal("accepted invalid UTF-8")
		}
		texts := append(append(append([]string{req.ClientName, req.Scope, req.AuthMethod}, req.RedirectURIs...),
			req.GrantTypes...), req.ResponseTypes...)
		for _, s := range texts {
			if !clean(s) {
				t.Fatalf("accepted text %q", s)
			}
		}
		again, err := parseRegistration(reencode(t, req))
		if err != nil {
			t.Fatalf("re-encoded request refused: %v", err)
		}
		if d := cmp.Diff(req, again); d != "" {
			t.Fatalf("re-encoding changed the request (-first +again):\n%s", d)
		}
		md, err := registrationMetadata(req, supported)
		if err != nil {
			return
		}
		if !md.Dynamic || md.Confidential == (req.AuthMethod == AuthMethodNone) {
			t.Fatalf("metadata %+v for auth method %q", md, req.AuthMethod)
		}
		for _, sc := range md.Scopes {
			if !slices.Contains(supported, sc) {
				t.Fatalf("scope %q outside the supported ones", sc)
			}
		}
	})
}

// reencode writes req as a registration body.
func reencode(t *testing.T, req registrationRequest) []byte {
	m := map[string]any{}
	if req.RedirectURIs != nil {
		m["redirect_uris"] = req.RedirectURIs
	}
	if req.ClientName != "" {
		m["client_name"] = req.ClientName
	}
	if req.GrantTypes != nil {
		m["grant_types"] = req.GrantTypes
	}
	if req.ResponseTypes != nil {
		m["response_types"] = req.ResponseTypes
	}
	if req.HasScope {
		m["scope"] = req.Scope
	}
	if req.AuthMethod != "" {
		m["token_endpoint_auth_method"] = req.AuthMethod
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
