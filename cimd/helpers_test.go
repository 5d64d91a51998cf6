package cimd_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/grantkit/grantkit/cimd"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
)

// The tests serve documents from an httptest TLS server on 127.0.0.1 and
// name it by a host its certificate covers, example.com, which the
// injected LookupIP maps to 127.0.0.1 and the injected AllowAddr allows
// (and nothing else): a fetch that reaches the server proves that the
// connection was dialed to the vetted address, not to what the name
// resolves to on the internet.

// testHost is the host name of the test documents (the httptest
// certificate covers it).
const testHost = "example.com"

// loopback is the test server's address.
var loopback = netip.MustParseAddr("127.0.0.1")

// docServer is a TLS server of client metadata documents that counts
// the requests it gets.
type docServer struct {
	srv      *httptest.Server
	requests atomic.Int64
	// base is https://example.com:port, the origin of the documents' ids.
	base string
}

// newDocServer serves h, counting requests; it is closed when t ends.
func newDocServer(t *testing.T, h http.HandlerFunc) *docServer {
	t.Helper()
	d := &docServer{}
	d.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.requests.Add(1)
		h(w, r)
	}))
	t.Cleanup(d.srv.Close)
	u, err := url.Parse(d.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	d.base = "https://" + testHost + ":" + u.Port()
	return d
}

// id is the client id of the document at path.
func (d *docServer) id(path string) string { return d.base + path }

// config is a resolver config for e that reaches d: example.com resolves
// to 127.0.0.1, the only address allowed, and d's certificate is trusted.
func (d *docServer) config(e *testenv.Env) cimd.Config {
	pool := x509.NewCertPool()
	pool.AddCert(d.srv.Certificate())
	return cimd.Config{
		Grants: e.Manager, RootCAs: pool, Now: e.Clock.Now,
		LookupIP: func(_ context.Context, host string) ([]netip.Addr, error) {
			if host != testHost {
				return nil, errors.New("no such host")
			}
			return []netip.Addr{loopback}, nil
		},
		AllowAddr: func(a netip.Addr) bool { return a == loopback },
	}
}

// newResolver builds a resolver from cfg, failing t on error.
func newResolver(t *testing.T, cfg cimd.Config) *cimd.Resolver {
	t.Helper()
	r, err := cimd.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// doc is a valid document for id, as a map a test may change.
func doc(id string) map[string]any {
	return map[string]any{
		"client_id":     id,
		"client_name":   "Example MCP client",
		"redirect_uris": []string{testenv.RedirectURI},
		"scope":         "read write",
		"grant_types":   []string{"authorization_code", "refresh_token"},
		"software_id":   "ignored-member",
	}
}

// serveJSON writes v as an application/json answer with cacheControl
// (when set).
func serveJSON(w http.ResponseWriter, v any, cacheControl string) {
	w.Header().Set("Content-Type", "application/json")
	if cacheControl != "" {
		w.Header().Set("Cache-Control", cacheControl)
	}
	_ = json.NewEncoder(w).Encode(v)
}

// wantNoClient fails if a client id is stored.
func wantNoClient(t *testing.T, e *testenv.Env, id string) {
	t.Helper()
	if c, err := e.Store.GetClient(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a client was stored for %s: %+v (err %v)", id, c, err)
	}
}
