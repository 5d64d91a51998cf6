package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// The httpapi tests run on testenv's fixture (a store per test, SQLite
// always and PostgreSQL when configured, through testdb.Each); this file
// adds the Handler and the requests and assertions the endpoint tests
// share.

// env is one test's testenv.Env with a Handler over it.
type env struct {
	*testenv.Env
	H *httpapi.Handler
	// Mux has every endpoint of H mounted (Handler.Mount).
	Mux *http.ServeMux
	// muts are newEnv's config adjustments, which MuxOver applies too.
	muts []func(*httpapi.Config)
}

// newEnv opens a fresh store on db and a Handler over its lifecycle; mut
// adjusts the Handler's config (Grants, Tokens and Minter already set).
func newEnv(t *testing.T, db testdb.DB, mut ...func(*httpapi.Config)) *env {
	t.Helper()
	e := &env{Env: testenv.New(t, db), muts: mut}
	e.H = e.handler(e.Env, mut...)
	e.Mux = http.NewServeMux()
	e.H.Mount(e.Mux)
	return e
}

// MuxOver returns a mux with every endpoint of handlerOver(s) mounted.
func (e *env) MuxOver(s store.Store) *http.ServeMux {
	e.T.Helper()
	mux := http.NewServeMux()
	e.handlerOver(s).Mount(mux)
	return mux
}

// handler builds a Handler over te's components.
func (e *env) handler(te *testenv.Env, mut ...func(*httpapi.Config)) *httpapi.Handler {
	e.T.Helper()
	return e.handlerOf(te.Manager, te.Server, mut...)
}

// handlerOf builds a Handler over m and srv with e's Minter.
func (e *env) handlerOf(m *grant.Manager, srv *token.Server, mut ...func(*httpapi.Config)) *httpapi.Handler {
	e.T.Helper()
	cfg := httpapi.Config{Grants: m, Tokens: srv, Minter: e.Minter}
	for _, fn := range mut {
		fn(&cfg)
	}
	h, err := httpapi.New(cfg)
	if err != nil {
		e.T.Fatal(err)
	}
	return h
}

// req is a request to send; build it with post or get.
type req struct {
	method, target, contentType, body string
	header                            http.Header
}

// post is a form POST of body (already encoded) to target.
func post(target, body string) req {
	return req{method: http.MethodPost, target: target, contentType: "application/x-www-form-urlencoded",
		body: body, header: http.Header{}}
}

// form encodes kv (name, value, name, value…) in the given order, so a
// name may repeat.
func form(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// basic sets HTTP Basic client authentication (RFC 6749 §2.3.1).
func (r req) basic(id, secret string) req {
	r.header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
		[]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
	return r
}

// serve sends r to h and returns the recorded response.
func serve(h http.Handler, r req) *httptest.ResponseRecorder {
	hr := httptest.NewRequest(r.method, r.target, strings.NewReader(r.body))
	if r.contentType != "" {
		hr.Header.Set("Content-Type", r.contentType)
	}
	for k, v := range r.header {
		hr.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, hr)
	return rec
}

// jsonBody decodes rec's body as a JSON object.
func jsonBody(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, rec.Body)
	}
	return m
}

// wantNoStore fails unless rec carries Cache-Control: no-store and
// Pragma: no-cache (RFC 6749 §5.1).
func wantNoStore(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	got := [2]string{rec.Header().Get("Cache-Control"), rec.Header().Get("Pragma")}
	if got != [2]string{"no-store", "no-cache"} {
		t.Errorf("Cache-Control, Pragma = %q, want no-store, no-cache", got)
	}
}

// wantError fails unless rec is a JSON OAuth error with status and code,
// and without any token in it.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	m := jsonBody(t, rec)
	if m["error"] != code {
		t.Errorf("error = %v, want %q; body %s", m["error"], code, rec.Body)
	}
	for _, k := range []string{"access_token", "refresh_token"} {
		if _, ok := m[k]; ok {
			t.Errorf("an error response holds %s: %s", k, rec.Body)
		}
	}
}

// unchanged fails if the database differs from before.
func unchanged(t *testing.T, before, after testenv.Snap) {
	t.Helper()
	if d := cmp.Diff(before, after); d != "" {
		t.Errorf("the request changed the database (-before +after):\n%s", d)
	}
}

// tokenResponse decodes a successful token response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// tokens decodes rec as a successful token response, failing otherwise.
func tokens(t *testing.T, rec *httptest.ResponseRecorder) tokenResponse {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.AccessToken == "" || tr.TokenType != "Bearer" {
		t.Fatalf("not a token response: %s", rec.Body)
	}
	return tr
}

// codeForm is the token request body redeeming ap for client c (the
// client's credentials are added by the caller: client_id in the body for
// a public client, basic or client_secret for a confidential one).
func codeForm(code, redirectURI string) []string {
	return []string{"grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI,
		"code_verifier", testenv.PKCEVerifier}
}

// newEnvWith is newEnv with testenv options: a token server configured
// differently (testenv.WithServerConfig), for instance.
func newEnvWith(t *testing.T, db testdb.DB, opts []testenv.Option, mut ...func(*httpapi.Config)) *env {
	t.Helper()
	e := &env{Env: testenv.New(t, db, opts...), muts: mut}
	e.H = e.handler(e.Env, mut...)
	e.Mux = http.NewServeMux()
	e.H.Mount(e.Mux)
	return e
}

// handlerOver returns a Handler configured like e.H (newEnv's config
// adjustments included) whose manager and token server run over s, a
// wrapper around e.Store such as a faultstore (testenv's ServerOver).
func (e *env) handlerOver(s store.Store) *httpapi.Handler {
	e.T.Helper()
	m, srv := e.ServerOver(s)
	return e.handlerOf(m, srv, e.muts...)
}

// badForm is a malformed request to a form endpoint and the error it must
// get.
type badForm struct {
	name   string
	r      req
	status int
	code   string
}

// badForms are the malformed requests every form POST endpoint taking a
// token parameter (revocation, introspection) refuses, for target, with
// client c's credentials and tok as an otherwise valid token: a wrong
// method, another content type, missing, empty and duplicate parameters,
// bad escapes, NUL bytes, invalid UTF-8, a body beyond MaxBodyBytes,
// unknown and malformed client authentication.
func badForms(target string, c testenv.Client, tok string) []badForm {
	creds := []string{"client_id", c.ID, "client_secret", c.Secret}
	withCreds := func(kv ...string) string { return form(append(append([]string{}, creds...), kv...)...) }
	get := post(target, "")
	get.method, get.contentType = http.MethodGet, ""
	put := post(target, withCreds("token", tok))
	put.method = http.MethodPut
	asJSON := post(target, `{"token":"`+tok+`"}`)
	asJSON.contentType = "application/json"
	noType := post(target, withCreds("token", tok))
	noType.contentType = ""
	return []badForm{
		{"GET", get, http.StatusMethodNotAllowed, "invalid_request"},
		{"PUT", put, http.StatusMethodNotAllowed, "invalid_request"},
		{"JSON body", asJSON, http.StatusBadRequest, "invalid_request"},
		{"no content type", noType, http.StatusBadRequest, "invalid_request"},
		{"no token", post(target, withCreds()), http.StatusBadRequest, "invalid_request"},
		{"empty token", post(target, withCreds("token", "")), http.StatusBadRequest, "invalid_request"},
		{"token twice", post(target, withCreds("token", tok, "token", tok)), http.StatusBadRequest, "invalid_request"},
		{"client_id twice", post(target, withCreds("client_id", c.ID, "token", tok)), http.StatusBadRequest, "invalid_request"},
		{"hint twice", post(target, withCreds("token", tok, "token_type_hint", "access_token", "token_type_hint", "access_token")),
			http.StatusBadRequest, "invalid_request"},
		{"bad escape", post(target, withCreds()+"&token=%zz"), http.StatusBadRequest, "invalid_request"},
		{"NUL in token", post(target, withCreds("token", tok+"\x00")), http.StatusBadRequest, "invalid_request"},
		{"NUL in client_id", post(target, form("client_id", c.ID+"\x00", "client_secret", c.Secret, "token", tok)),
			http.StatusBadRequest, "invalid_request"},
		{"invalid UTF-8", post(target, withCreds()+"&token=%ff%fe"), http.StatusBadRequest, "invalid_request"},
		{"2 MiB body", post(target, withCreds("token", strings.Repeat("a", 2<<20))), http.StatusRequestEntityTooLarge, "invalid_request"},
		{"no client authentication", post(target, form("token", tok)), http.StatusUnauthorized, "invalid_client"},
		{"unknown client", post(target, form("client_id", "nobody", "client_secret", "x", "token", tok)),
			http.StatusUnauthorized, "invalid_client"},
		{"empty client_id", post(target, form("client_id", "", "client_secret", c.Secret, "token", tok)),
			http.StatusUnauthorized, "invalid_client"},
		{"Basic and client_secret", post(target, form("client_secret", c.Secret, "token", tok)).basic(c.ID, c.Secret),
			http.StatusBadRequest, "invalid_request"},
		{"Basic and another client_id", post(target, form("client_id", "other", "token", tok)).basic(c.ID, c.Secret),
			http.StatusBadRequest, "invalid_request"},
		{"malformed Basic", func() req {
			r := post(target, form("token", tok))
			r.header.Set("Authorization", "Basic !!!")
			return r
		}(), http.StatusUnauthorized, "invalid_client"},
		{"Bearer instead of Basic", func() req {
			r := post(target, form("token", tok))
			r.header.Set("Authorization", "Bearer "+tok)
			return r
		}(), http.StatusUnauthorized, "invalid_client"},
	}
}
