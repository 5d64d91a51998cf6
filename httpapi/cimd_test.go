package httpapi_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/cimd"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
)

// cimdEnv is authEnv with a Client ID Metadata Document resolver whose
// documents come from an httptest TLS server named example.com (which
// its certificate covers), resolved to and allowed only at 127.0.0.1.
// docs maps a path to the document served there ("client_id" is filled
// in with the document's URL unless the map sets it); others are 404. It
// returns the documents' origin.
func cimdEnv(t *testing.T, db testdb.DB, docs map[string]map[string]any) (*env, *authorizer, string) {
	t.Helper()
	var base string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		out := map[string]any{"client_id": base + r.URL.Path}
		for k, v := range d {
			out[k] = v
		}
		writeTestJSON(w, out)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	base = "https://example.com:" + u.Port()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	loopback := netip.MustParseAddr("127.0.0.1")
	e, a := authEnv(t, db, func(c *httpapi.Config) {
		r, err := cimd.New(cimd.Config{Grants: c.Grants, RootCAs: pool,
			LookupIP:  func(context.Context, string) ([]netip.Addr, error) { return []netip.Addr{loopback}, nil },
			AllowAddr: func(a netip.Addr) bool { return a == loopback }})
		if err != nil {
			t.Fatal(err)
		}
		c.ClientIDMetadata = r
	})
	return e, a, base
}

// TestAuthorizeClientIDMetadata runs an authorization whose client_id is
// a client identifier URL: the document is fetched and its client stored
// as a dynamic one, consent shows its self-reported name as unverified
// with the redirect host (and the localhost-only warning for a client
// whose redirect URIs are all loopback ones), and the code is redeemed at
// the token endpoint by the stored client. A refused document is an
// invalid_client page, never a redirect, and stores nothing.
func TestAuthorizeClientIDMetadata(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		docs := map[string]map[string]any{
			"/good.json": {"client_name": "Claimed Name", "redirect_uris": []string{testenv.RedirectURI}, "scope": "read write"},
			"/local.json": {"client_name": "Local tool", "redirect_uris": []string{"http://127.0.0.1/cb", "http://localhost:8080/cb"},
				"scope": "read write"},
			"/bad.json": {"client_id": "https://elsewhere.example/client.json", "client_name": "Bad",
				"redirect_uris": []string{testenv.RedirectURI}},
		}
		e, a, base := cimdEnv(t, db, docs)
		ctx := context.Background()

		t.Run("consent and token", func(t *testing.T) {
			id := base + "/good.json"
			rec := serve(e.Mux, get("/authorize?"+authorizeQuery(id), "alice"))
			if rec.Code != http.StatusOK {
				t.Fatalf("authorize: %d %s", rec.Code, rec.Body)
			}
			p := a.last(t)
			got := struct {
				Client        httpapi.ClientInfo
				RedirectHost  string
				LocalhostOnly bool
			}{p.Request.Client, p.RedirectHost, p.LocalhostOnly}
			want := got
			want.Client = httpapi.ClientInfo{ID: id, Name: "Claimed Name", NameVerified: false}
			want.RedirectHost, want.LocalhostOnly = "app.example", false
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("pending (-want +got):\n%s", d)
			}
			c, err := e.Store.GetClient(ctx, id)
			if err != nil || !c.Dynamic || !c.Public() {
				t.Fatalf("stored client = %+v, %v; want a dynamic public client", c, err)
			}
			q := location(t, serve(e.Mux, decision(p.ID, httpapi.DecisionApprove, "alice")), testenv.RedirectURI)
			tr := tokens(t, serve(e.Mux, post("/token", form(append(codeForm(q.Get("code"), testenv.RedirectURI),
				"client_id", id)...))))
			if tr.RefreshToken == "" {
				t.Errorf("no refresh token: %+v", tr)
			}
		})

		t.Run("localhost-only client", func(t *testing.T) {
			id := base + "/local.json"
			rec := serve(e.Mux, get("/authorize?"+authorizeQuery(id, "redirect_uri", "http://127.0.0.1:5555/cb"), "alice"))
			if rec.Code != http.StatusOK {
				t.Fatalf("authorize: %d %s", rec.Code, rec.Body)
			}
			if p := a.last(t); p.RedirectHost != "127.0.0.1:5555" || !p.LocalhostOnly {
				t.Errorf("RedirectHost, LocalhostOnly = %q, %v; want 127.0.0.1:5555, true", p.RedirectHost, p.LocalhostOnly)
			}
		})

		for _, path := range []string{"/bad.json", "/missing.json"} {
			t.Run("refused "+path, func(t *testing.T) {
				id := base + path
				before := e.Snapshot()
				rec := serve(e.Mux, get("/authorize?"+authorizeQuery(id), "alice"))
				wantShown(t, rec, http.StatusBadRequest, "invalid_client")
				unchanged(t, before, e.Snapshot())
				if _, err := e.Store.GetClient(ctx, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("a client was stored for %s (%v)", id, err)
				}
			})
		}

		t.Run("metadata", func(t *testing.T) {
			m := jsonBody(t, serve(e.Mux, get(e.H.MetadataPath(), "")))
			if m["client_id_metadata_document_supported"] != true {
				t.Errorf("client_id_metadata_document_supported = %v, want true", m["client_id_metadata_document_supported"])
			}
			plain, _ := authEnv(t, db)
			m = jsonBody(t, serve(plain.Mux, get(plain.H.MetadataPath(), "")))
			if v, ok := m["client_id_metadata_document_supported"]; ok {
				t.Errorf("without a resolver the metadata holds client_id_metadata_document_supported = %v", v)
			}
		})
	})
}
