package cimd_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit"
	"github.com/grantkit/grantkit/cimd"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
)

// TestResolverRefuses runs every refusal: each returns its sentinel,
// maps to invalid_client 401, stores no client, and — for the address
// checks — sends no request at all.
func TestResolverRefuses(t *testing.T) {
	resolveTo := func(addrs ...string) func(*cimd.Config) {
		return func(c *cimd.Config) {
			c.AllowAddr = nil // the default: public unicast only
			c.LookupIP = func(context.Context, string) ([]netip.Addr, error) {
				var out []netip.Addr
				for _, a := range addrs {
					out = append(out, netip.MustParseAddr(a))
				}
				return out, nil
			}
		}
	}
	withDoc := func(mut func(id string, d map[string]any)) func(string) http.HandlerFunc {
		return func(id string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				d := doc(id)
				mut(id, d)
				serveJSON(w, d, "")
			}
		}
	}
	valid := withDoc(func(string, map[string]any) {})
	tests := []struct {
		name    string
		serve   func(id string) http.HandlerFunc
		id      func(base string) string // default base + /client.json
		cfg     func(*cimd.Config)
		want    error
		fetches int64
	}{
		{name: "document id mismatch", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(id string, d map[string]any) { d["client_id"] = id + "x" })},
		{name: "document id differs only in case", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(id string, d map[string]any) { d["client_id"] = strings.Replace(id, "example", "EXAMPLE", 1) })},
		{name: "no client_id", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { delete(d, "client_id") })},
		{name: "missing client_name", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { delete(d, "client_name") })},
		{name: "missing redirect_uris", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { delete(d, "redirect_uris") })},
		{name: "empty redirect_uris", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { d["redirect_uris"] = []string{} })},
		{name: "redirect URI grantkit refuses", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { d["redirect_uris"] = []string{"http://evil.example/cb"} })},
		{name: "unsupported grant type", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { d["grant_types"] = []string{"client_credentials"} })},
		{name: "client_name of the wrong type", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { d["client_name"] = 42 })},
		{name: "client_secret present", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { d["client_secret"] = "s3cret" })},
		{name: "client_secret_expires_at present", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { d["client_secret_expires_at"] = 0 })},
		{name: "private_key_jwt unsupported", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { d["token_endpoint_auth_method"] = "private_key_jwt" })},
		{name: "client_secret_basic forbidden", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { d["token_endpoint_auth_method"] = "client_secret_basic" })},
		{name: "non-JSON content type", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: func(id string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprintf(w, `{"client_id":%q,"client_name":"x","redirect_uris":["https://app.example/cb"]}`, id)
				}
			}},
		{name: "JSON content type, not an object", want: cimd.ErrInvalidDocument, fetches: 1,
			serve: func(string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) { serveJSON(w, []string{"a"}, "") }
			}},
		{name: "too large", want: cimd.ErrTooLarge, fetches: 1,
			serve: withDoc(func(_ string, d map[string]any) { d["padding"] = strings.Repeat("a", cimd.DefaultMaxBytes) })},
		{name: "too large, streamed without length", want: cimd.ErrTooLarge, fetches: 1,
			serve: func(id string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					for range 10 {
						fmt.Fprint(w, strings.Repeat(" ", 1024))
						w.(http.Flusher).Flush()
					}
				}
			}},
		{name: "too slow", want: cimd.ErrFetch, fetches: 1,
			cfg: func(c *cimd.Config) { c.Timeout = 200 * time.Millisecond },
			serve: func(id string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-time.After(5 * time.Second):
					case <-r.Context().Done():
					}
					serveJSON(w, doc(id), "")
				}
			}},
		{name: "redirect not followed", want: cimd.ErrFetch, fetches: 1,
			serve: func(id string) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/client.json" {
						http.Redirect(w, r, "/moved.json", http.StatusFound)
						return
					}
					serveJSON(w, doc(id), "")
				}
			}},
		{name: "status 404", want: cimd.ErrFetch, fetches: 1,
			serve: func(string) http.HandlerFunc { return http.NotFound }},
		{name: "http URL", want: cimd.ErrNotClientIDURL, serve: valid,
			id: func(base string) string { return strings.Replace(base, "https:", "http:", 1) + "/client.json" }},
		{name: "root path", want: cimd.ErrNotClientIDURL, serve: valid,
			id: func(base string) string { return base + "/" }},
		{name: "host does not resolve", want: cimd.ErrFetch, serve: valid,
			id: func(base string) string {
				return strings.Replace(base, testHost, "nowhere.example", 1) + "/client.json"
			}},
		{name: "loopback target (default AllowAddr)", want: cimd.ErrForbiddenAddress, serve: valid, cfg: resolveTo("127.0.0.1")},
		{name: "private target (default AllowAddr)", want: cimd.ErrForbiddenAddress, serve: valid, cfg: resolveTo("10.1.2.3")},
		{name: "link-local target (default AllowAddr)", want: cimd.ErrForbiddenAddress, serve: valid, cfg: resolveTo("169.254.169.254")},
		{name: "unique-local target (default AllowAddr)", want: cimd.ErrForbiddenAddress, serve: valid, cfg: resolveTo("fd00::1")},
		{name: "IPv4-mapped loopback target (default AllowAddr)", want: cimd.ErrForbiddenAddress, serve: valid, cfg: resolveTo("::ffff:127.0.0.1")},
		{name: "one public and one private address", want: cimd.ErrForbiddenAddress, serve: valid,
			cfg: resolveTo("93.184.215.14", "192.168.0.10")},
		{name: "no address", want: cimd.ErrForbiddenAddress, serve: valid, cfg: resolveTo()},
		{name: "IP-literal loopback host (default AllowAddr)", want: cimd.ErrForbiddenAddress, serve: valid,
			cfg: func(c *cimd.Config) { c.AllowAddr = nil },
			id:  func(base string) string { return strings.Replace(base, testHost, "127.0.0.1", 1) + "/client.json" }},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := testenv.New(t, db)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				var d *docServer
				var id string
				d = newDocServer(t, func(w http.ResponseWriter, r *http.Request) { tc.serve(id)(w, r) })
				id = d.id("/client.json")
				if tc.id != nil {
					id = tc.id(d.base)
				}
				cfg := d.config(e)
				if tc.cfg != nil {
					tc.cfg(&cfg)
				}
				r := newResolver(t, cfg)
				c, err := r.Client(context.Background(), id)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Client(%s) = %+v, %v; want %v", id, c, err, tc.want)
				}
				t.Logf("refused: %v", err)
				if code, status := grantkit.ErrorCode(err); code != grantkit.CodeInvalidClient || status != http.StatusUnauthorized {
					t.Errorf("ErrorCode = %s %d, want invalid_client 401", code, status)
				}
				if got := d.requests.Load(); got != tc.fetches {
					t.Errorf("the server got %d requests, want %d", got, tc.fetches)
				}
				wantNoClient(t, e, id)
				// The refusal is remembered for MinAge: no second fetch.
				if _, err2 := r.Client(context.Background(), id); !errors.Is(err2, tc.want) {
					t.Errorf("second Client = %v, want %v", err2, tc.want)
				}
				if got := d.requests.Load(); got != tc.fetches {
					t.Errorf("after a second call the server got %d requests, want %d", got, tc.fetches)
				}
				wantNoClient(t, e, id)
			})
		}
	})
}

// storedView is what the tests compare of a stored client.
type storedView struct {
	ID, Name                                        string
	RedirectURIs, GrantTypes, ResponseTypes, Scopes []string
	Dynamic, Public                                 bool
}

func view(c store.Client) storedView {
	return storedView{ID: c.ID, Name: c.Name, RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes,
		ResponseTypes: c.ResponseTypes, Scopes: c.Scopes, Dynamic: c.Dynamic, Public: c.Public()}
}

// TestResolverStoresClient resolves a valid document: the client is
// stored as a dynamic public client whose id is the URL, unknown members
// ignored, and a second call is a cache hit that sends no request.
func TestResolverStoresClient(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := testenv.New(t, db)
		var id string
		d := newDocServer(t, func(w http.ResponseWriter, r *http.Request) { serveJSON(w, doc(id), "max-age=3600") })
		id = d.id("/client.json")
		r := newResolver(t, d.config(e))
		want := storedView{ID: id, Name: "Example MCP client", RedirectURIs: []string{testenv.RedirectURI},
			GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
			Scopes: []string{"read", "write"}, Dynamic: true, Public: true}
		for i := range 3 {
			c, err := r.Client(context.Background(), id)
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if diff := cmp.Diff(want, view(c)); diff != "" {
				t.Errorf("call %d: client (-want +got):\n%s", i, diff)
			}
		}
		if got := d.requests.Load(); got != 1 {
			t.Errorf("the server got %d requests, want 1 (later calls are cache hits)", got)
		}
		stored, err := e.Store.GetClient(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, view(stored)); diff != "" {
			t.Errorf("stored client (-want +got):\n%s", diff)
		}
	})
}

// TestResolverLifetime checks how long a fetch is trusted, by the
// response's cache headers clamped to [MinAge, MaxAge] (defaults 1 min
// and 24 h): the clock is advanced to just before the end (no request)
// and then past it (a refetch).
func TestResolverLifetime(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		life   time.Duration
	}{
		{"max-age", http.Header{"Cache-Control": {"public, max-age=120"}}, 120 * time.Second},
		{"s-maxage wins", http.Header{"Cache-Control": {"max-age=120, s-maxage=300"}}, 300 * time.Second},
		{"no-store is MinAge", http.Header{"Cache-Control": {"no-store"}}, time.Minute},
		{"no-cache is MinAge", http.Header{"Cache-Control": {"no-cache, max-age=9999"}}, time.Minute},
		{"max-age 0 is MinAge", http.Header{"Cache-Control": {"max-age=0"}}, time.Minute},
		{"huge max-age is MaxAge", http.Header{"Cache-Control": {"max-age=99999999999"}}, 24 * time.Hour},
		{"Expires", http.Header{"Date": {"Sat, 14 Mar 2026 15:09:26 GMT"}, "Expires": {"Sat, 14 Mar 2026 15:19:26 GMT"}},
			10 * time.Minute},
		{"no header is MinAge", http.Header{}, time.Minute},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := testenv.New(t, db)
				var id string
				d := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
					for k, v := range tc.header {
						w.Header()[k] = v
					}
					serveJSON(w, doc(id), "")
				})
				id = d.id("/client.json")
				r := newResolver(t, d.config(e))
				resolve := func(wantRequests int64) {
					t.Helper()
					if _, err := r.Client(context.Background(), id); err != nil {
						t.Fatal(err)
					}
					if got := d.requests.Load(); got != wantRequests {
						t.Fatalf("at %s the server got %d requests, want %d", e.Clock.Now().Sub(testenv.T0), got, wantRequests)
					}
				}
				resolve(1)
				e.Clock.Advance(tc.life - time.Second)
				resolve(1)
				e.Clock.Advance(2 * time.Second)
				resolve(2)
			})
		}
	})
}

// TestResolverDocumentChanges refetches a changed document once the
// cached one expired: the stored client is updated, and since its
// redirect URIs changed (a material change) the grant issued under the
// old registration is revoked. An unchanged document changes nothing.
func TestResolverDocumentChanges(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := testenv.New(t, db)
		var (
			id        string
			mu        sync.Mutex
			redirects = []string{testenv.RedirectURI}
		)
		d := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			doc := doc(id)
			doc["redirect_uris"] = redirects
			serveJSON(w, doc, "max-age=60")
		})
		id = d.id("/client.json")
		r := newResolver(t, d.config(e))
		ctx := context.Background()
		c, err := r.Client(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ap := e.Authorize(testenv.Client{Client: c}, "alice")

		e.Clock.Advance(61 * time.Second) // same document: nothing changes
		if _, err := r.Client(ctx, id); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.Store.GetClient(ctx, id); !got.UpdatedAt.Equal(c.UpdatedAt) {
			t.Errorf("an unchanged document updated the client: UpdatedAt %v, was %v", got.UpdatedAt, c.UpdatedAt)
		}
		if g := e.Grant(ap.Grant.ID); g.Status != store.GrantActive {
			t.Errorf("an unchanged document left the grant %s", g.Status)
		}

		mu.Lock()
		redirects = []string{testenv.OtherRedirectURI}
		mu.Unlock()
		e.Clock.Advance(61 * time.Second)
		updated, err := r.Client(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{testenv.OtherRedirectURI}, updated.RedirectURIs); diff != "" {
			t.Errorf("updated redirect URIs (-want +got):\n%s", diff)
		}
		if got, _ := e.Store.GetClient(ctx, id); !cmp.Equal(got.RedirectURIs, []string{testenv.OtherRedirectURI}) {
			t.Errorf("stored redirect URIs = %v", got.RedirectURIs)
		}
		if g := e.Grant(ap.Grant.ID); g.Status != store.GrantRevoked {
			t.Errorf("after a material change the grant is %s, want revoked", g.Status)
		}
		if d.requests.Load() != 3 {
			t.Errorf("the server got %d requests, want 3", d.requests.Load())
		}
	})
}

// TestResolverSharesFetch runs concurrent Client calls for one id: they
// share one fetch and get the same client.
func TestResolverSharesFetch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := testenv.New(t, db)
		var id string
		d := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(100 * time.Millisecond)
			serveJSON(w, doc(id), "max-age=600")
		})
		id = d.id("/client.json")
		r := newResolver(t, d.config(e))
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Go(func() {
				c, err := r.Client(context.Background(), id)
				if err == nil && c.ID != id {
					err = fmt.Errorf("got client %s", c.ID)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if got := d.requests.Load(); got != 1 {
			t.Errorf("the server got %d requests, want 1", got)
		}
	})
}

// TestResolverBoundedCache resolves CacheSize*3 distinct ids: the cache
// never holds more than CacheSize, and an evicted id is fetched again.
func TestResolverBoundedCache(t *testing.T) {
	const size = 4
	e := testenv.New(t, testdb.DB{Name: "sqlite", Harness: testdb.SQLite()})
	var base string
	d := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
		serveJSON(w, doc(base+r.URL.Path), "max-age=3600")
	})
	base = d.base
	cfg := d.config(e)
	cfg.CacheSize = size
	r := newResolver(t, cfg)
	for i := range size * 3 {
		if _, err := r.Client(context.Background(), d.id(fmt.Sprintf("/c%d.json", i))); err != nil {
			t.Fatal(err)
		}
		if n := cimd.CacheLen(r); n > size {
			t.Fatalf("after %d ids the cache holds %d, want at most %d", i+1, n, size)
		}
	}
	if n := cimd.CacheLen(r); n != size {
		t.Errorf("the cache holds %d, want %d", n, size)
	}
	before := d.requests.Load()
	if _, err := r.Client(context.Background(), d.id(fmt.Sprintf("/c%d.json", size*3-1))); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Client(context.Background(), d.id("/c0.json")); err != nil {
		t.Fatal(err)
	}
	if got := d.requests.Load() - before; got != 1 {
		t.Errorf("a recent id and an evicted one cost %d requests, want 1 (the evicted one)", got)
	}
}

// TestResolverFetchLimit: a flood of distinct ids whose servers hang
// holds at most MaxFetches fetches; the next distinct id fails at once
// with ErrBusy (temporarily_unavailable), stores and remembers nothing,
// while a caller of an id already being fetched still shares that fetch.
// A client whose fetch succeeded and expired less than MaxStale ago keeps
// working on its stored metadata; one expired longer, or evicted, gets
// ErrBusy too.
func TestResolverFetchLimit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := testenv.New(t, db)
		release := make(chan struct{})
		free := sync.OnceFunc(func() { close(release) })
		t.Cleanup(free) // a failure before the release must not hang the server's Close
		var base string
		d := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
			if path := r.URL.Path; path != "/after.json" && path != "/known.json" && path != "/other.json" {
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
			}
			serveJSON(w, doc(base+r.URL.Path), "max-age=600")
		})
		base = d.base
		cfg := d.config(e)
		cfg.MaxFetches = 2
		cfg.CacheSize = 2
		cfg.MaxStale = 5 * time.Minute
		r := newResolver(t, cfg)
		ctx := context.Background()
		known, other := d.id("/known.json"), d.id("/other.json")
		for _, id := range []string{other, known} {
			if _, err := r.Client(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		e.Clock.Advance(601 * time.Second) // both documents said max-age=600

		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { _, errs[i] = r.Client(ctx, d.id(fmt.Sprintf("/hang%d.json", i))) })
		}
		for end := time.Now().Add(10 * time.Second); d.requests.Load() < 4; time.Sleep(time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("the server got %d requests, want 2 hanging", d.requests.Load())
			}
		}
		if _, err := r.Client(ctx, d.id("/after.json")); !errors.Is(err, cimd.ErrBusy) {
			t.Fatalf("a third distinct id with two fetches hanging: %v, want ErrBusy", err)
		}
		wantNoClient(t, e, d.id("/after.json"))
		if c, err := r.Client(ctx, known); err != nil || c.ID != known {
			t.Errorf("a client expired 1 s ago while busy: %+v, %v; want it from the store", c, err)
		}
		e.Clock.Advance(cfg.MaxStale)
		if _, err := r.Client(ctx, known); !errors.Is(err, cimd.ErrBusy) {
			t.Errorf("a client expired MaxStale ago while busy: %v, want ErrBusy", err)
		}
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if _, err := r.Client(short, d.id("/hang0.json")); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("an id being fetched: %v, want to wait for that fetch (here: the deadline)", err)
		}
		free()
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Client(ctx, d.id("/after.json")); err != nil {
			t.Errorf("after the fetches ended: %v, want the client (ErrBusy is not remembered)", err)
		}
		if got := d.requests.Load(); got != 5 {
			t.Errorf("the server got %d requests, want 5 (two documents, two hanging, one after)", got)
		}
	})
}

// TestResolverHostClient leaves a client the host registered itself
// under a URL id alone: it is returned without any fetch.
func TestResolverHostClient(t *testing.T) {
	e := testenv.New(t, testdb.DB{Name: "sqlite", Harness: testdb.SQLite()})
	d := newDocServer(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	id := d.id("/client.json")
	c := e.Client(func(md *grant.ClientMetadata) { md.ID = id })
	r := newResolver(t, d.config(e))
	got, err := r.Client(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(view(c.Client), view(got)); diff != "" {
		t.Errorf("client (-want +got):\n%s", diff)
	}
	if d.requests.Load() != 0 {
		t.Errorf("the server got %d requests, want none", d.requests.Load())
	}
}

// TestResolverStoreFailure fails each store step of a first resolution in
// turn: the error stays server_error (never invalid_client, never a cimd
// sentinel), no client is stored, and the failure is not remembered — the
// next call, with the store healthy, resolves.
func TestResolverStoreFailure(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := testenv.New(t, db)
		var base string
		d := newDocServer(t, func(w http.ResponseWriter, r *http.Request) {
			serveJSON(w, doc(base+r.URL.Path), "max-age=600")
		})
		base = d.base
		for failAt := 1; ; failAt++ {
			if failAt > 20 {
				t.Fatal("a resolution never succeeded")
			}
			fs := faultstore.Wrap(e.Store, failAt)
			cfg := d.config(e)
			cfg.Grants = e.ManagerOver(fs)
			r := newResolver(t, cfg)
			id := d.id(fmt.Sprintf("/fail%d.json", failAt))
			_, err := r.Client(context.Background(), id)
			if err == nil {
				if failAt == 1 {
					t.Fatal("no store step was failed")
				}
				break
			}
			if !errors.Is(err, faultstore.ErrInjected) {
				t.Fatalf("failAt %d: %v, want the injected failure", failAt, err)
			}
			for _, s := range []error{cimd.ErrFetch, cimd.ErrInvalidDocument, cimd.ErrForbiddenAddress, cimd.ErrTooLarge} {
				if errors.Is(err, s) {
					t.Errorf("failAt %d: a store failure wraps %v", failAt, s)
				}
			}
			if code, status := grantkit.ErrorCode(err); code != grantkit.CodeServerError || status != http.StatusInternalServerError {
				t.Errorf("failAt %d: ErrorCode = %s %d, want server_error 500", failAt, code, status)
			}
			wantNoClient(t, e, id)
			// The wrapper fails one step only: a retry, not answered from a
			// remembered failure, resolves.
			if _, err := r.Client(context.Background(), id); err != nil {
				t.Errorf("failAt %d: retry: %v", failAt, err)
			}
		}
	})
}
