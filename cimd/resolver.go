package cimd

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
)

// Defaults of Config.
const (
	DefaultTimeout    = 5 * time.Second
	DefaultMaxBytes   = 5 << 10 // the draft recommends at most 5 kilobytes
	DefaultCacheSize  = 1024
	DefaultMaxAge     = 24 * time.Hour
	DefaultMinAge     = time.Minute
	DefaultMaxFetches = 32
	DefaultMaxStale   = 10 * time.Minute
)

// Actor is the actor of the client.changed audit event a refetched,
// changed document records (grant.Manager.UpdateClient).
const Actor = "cimd"

// Config configures a Resolver. Grants is required; every other zero
// field takes the default its comment names, and a negative value is
// refused by New.
type Config struct {
	// Grants stores the clients (RegisterClient, UpdateClient).
	Grants *grant.Manager
	// HTTPClient fetches the documents. nil (the default, and the only
	// setting the package's SSRF defences hold for): a client built from
	// LookupIP, AllowAddr, RootCAs and Timeout that dials only vetted
	// addresses. A host's own client is used with its redirects refused
	// and its cookie jar dropped, but its transport decides where it
	// connects.
	HTTPClient *http.Client
	// LookupIP resolves a host name; default net.DefaultResolver's
	// LookupNetIP for "ip".
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)
	// AllowAddr decides whether an address may be connected to; every
	// address a host resolves to must pass. Default PublicAddr.
	AllowAddr func(netip.Addr) bool
	// RootCAs verify the documents' servers; nil: the system roots.
	RootCAs *x509.CertPool
	// Timeout bounds one fetch, connection and body included; default
	// DefaultTimeout.
	Timeout time.Duration
	// MaxBytes bounds a document; default DefaultMaxBytes.
	MaxBytes int64
	// CacheSize bounds how many client ids are cached; default
	// DefaultCacheSize.
	CacheSize int
	// MaxFetches bounds the documents being resolved at once — fetched
	// (up to Timeout) and stored — which outlive a caller that gave up. A
	// Client call that would start one more answers the stored client if
	// its last fetch succeeded and expired less than MaxStale ago, and
	// otherwise fails with ErrBusy at once. Default DefaultMaxFetches.
	MaxFetches int
	// MaxStale bounds how long past its lifetime a fetched document is
	// still used while MaxFetches are in flight; default DefaultMaxStale.
	MaxStale time.Duration
	// MaxAge and MinAge bound how long a fetched document is trusted,
	// whatever its cache headers say; defaults DefaultMaxAge and
	// DefaultMinAge. A refused document is remembered for MinAge.
	MaxAge, MinAge time.Duration
	// ScopesSupported, when set, bounds the scopes a document may
	// register (scope); a document naming none gets them all, as a
	// dynamically registered client does (httpapi.Config.ScopesSupported).
	ScopesSupported []string
	// Now is the cache's clock; default time.Now.
	Now func() time.Time
}

// Resolver resolves client identifier URLs to stored clients. Build it
// with New; it is safe for concurrent use.
type Resolver struct {
	cfg  Config
	http *http.Client

	mu    sync.Mutex
	cache *cache
	calls map[string]*call // fetches in flight, by client id
}

// call is one fetch in flight, shared by every Client call for its id.
type call struct {
	done chan struct{}
	c    store.Client
	err  error
}

// New checks cfg, fills in its defaults and returns a Resolver.
func New(cfg Config) (*Resolver, error) {
	if cfg.Grants == nil {
		return nil, errors.New("cimd: Config.Grants is required")
	}
	if cfg.Timeout < 0 || cfg.MaxBytes < 0 || cfg.CacheSize < 0 || cfg.MaxAge < 0 || cfg.MinAge < 0 || cfg.MaxFetches < 0 || cfg.MaxStale < 0 {
		return nil, errors.New("cimd: Config's Timeout, MaxBytes, CacheSize, MaxAge, MinAge, MaxFetches and MaxStale must not be negative")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.Timeout, DefaultTimeout)
	def(&cfg.MaxAge, DefaultMaxAge)
	def(&cfg.MinAge, DefaultMinAge)
	def(&cfg.MaxStale, DefaultMaxStale)
	if cfg.MinAge > cfg.MaxAge {
		return nil, errors.New("cimd: Config.MinAge exceeds MaxAge")
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.MaxFetches == 0 {
		cfg.MaxFetches = DefaultMaxFetches
	}
	if cfg.LookupIP == nil {
		cfg.LookupIP = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if cfg.AllowAddr == nil {
		cfg.AllowAddr = PublicAddr
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Resolver{cfg: cfg, cache: newCache(cfg.CacheSize), calls: make(map[string]*call)}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		c.Jar = nil
		r.http = &c
	} else {
		r.http = r.newHTTPClient()
	}
	r.http.CheckRedirect = func(*http.Request, []*http.Request) error { return errRedirect }
	return r, nil
}

// Client returns the stored client for the client identifier URL
// clientID (draft-ietf-oauth-client-id-metadata-document, "Client
// Information Discovery"). While the last fetch is cached it reads the
// stored client; otherwise it fetches the document, validates it and
// registers it through grant.Manager.RegisterClient as a dynamic public
// client whose id is the URL, or, when the stored one differs,
// UpdateClient (whose material-change rule revokes the client's grants).
// A client the host registered itself under that id (not dynamic, or
// confidential) is returned as it is, never overwritten by a document.
//
// Concurrent calls for one id share one fetch, which is not cancelled by
// a caller's ctx (Config.Timeout bounds it); ctx bounds the wait. Errors:
// ErrNotClientIDURL, ErrFetch, ErrForbiddenAddress, ErrTooLarge and
// ErrInvalidDocument (the latter four remembered for MinAge), ErrBusy
// (MaxFetches documents are being fetched and no recent fetch of this
// one succeeded; not remembered), an error
// wrapping grant.ErrInvalidClient for a client the host deleted, and a
// store failure as is. Nothing is stored when it fails.
func (r *Resolver) Client(ctx context.Context, clientID string) (store.Client, error) {
	if !IsClientIDURL(clientID) {
		return store.Client{}, ErrNotClientIDURL
	}
	r.mu.Lock()
	if e, ok := r.cache.get(clientID, r.cfg.Now()); ok {
		r.mu.Unlock()
		if e.err != nil {
			return store.Client{}, e.err
		}
		return r.stored(ctx, clientID)
	}
	cl, ok := r.calls[clientID]
	if !ok && len(r.calls) >= r.cfg.MaxFetches {
		// A client whose last fetch succeeded and expired less than
		// MaxStale ago keeps working on its stored metadata until a fetch
		// slot is free; any other waits for the flood to pass.
		stale := r.cache.stale(clientID, r.cfg.Now(), r.cfg.MaxStale)
		r.mu.Unlock()
		if stale {
			return r.stored(ctx, clientID)
		}
		return store.Client{}, ErrBusy
	}
	if !ok {
		cl = &call{done: make(chan struct{})}
		r.calls[clientID] = cl
		go r.run(context.WithoutCancel(ctx), clientID, cl)
	}
	r.mu.Unlock()
	select {
	case <-cl.done:
		return cl.c, cl.err
	case <-ctx.Done():
		return store.Client{}, ctx.Err()
	}
}

// run resolves id for cl and caches the outcome before the waiting
// callers see it. A lifetime counts from the request, not the answer (as
// RFC 9111 §4.2.3 ages a response from its request time).
func (r *Resolver) run(ctx context.Context, id string, cl *call) {
	start := r.cfg.Now()
	c, lifetime, err := r.resolve(ctx, id)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil:
		r.cache.put(entry{id: id, expires: start.Add(lifetime)})
	case refusal(err):
		r.cache.put(entry{id: id, expires: start.Add(r.cfg.MinAge), err: err})
	}
	delete(r.calls, id)
	cl.c, cl.err = c, err
	close(cl.done)
}

// refusal reports whether err is the document's fault (and so remembered
// for MinAge) rather than the store's.
func refusal(err error) bool {
	for _, s := range []error{ErrFetch, ErrForbiddenAddress, ErrTooLarge, ErrInvalidDocument} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// stored reads the live client id (a cache hit).
func (r *Resolver) stored(ctx context.Context, id string) (store.Client, error) {
	c, err := r.cfg.Grants.Client(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, fmt.Errorf("%w: client %s was deleted", grant.ErrInvalidClient, id)
	}
	return c, err
}

// resolve fetches and stores id's document, returning the stored client
// and how long the fetch stays valid.
func (r *Resolver) resolve(ctx context.Context, id string) (store.Client, time.Duration, error) {
	s := r.cfg.Grants.Store()
	old, err := s.GetClient(ctx, id)
	found := err == nil
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return store.Client{}, 0, fmt.Errorf("cimd: reading client: %w", err)
	case found && !old.DeletedAt.IsZero():
		return store.Client{}, 0, fmt.Errorf("%w: client %s was deleted", grant.ErrInvalidClient, id)
	case found && (!old.Dynamic || !old.Public()):
		return old, r.cfg.MaxAge, nil // the host's own registration
	}
	fctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	doc, err := r.fetch(fctx, id)
	cancel()
	if err != nil {
		return store.Client{}, 0, err
	}
	md, err := parseDocument(doc.body, id, r.cfg.ScopesSupported)
	if err != nil {
		return store.Client{}, 0, err
	}
	if !found {
		c, _, err := r.cfg.Grants.RegisterClient(ctx, md)
		if !errors.Is(err, store.ErrConflict) {
			return c, doc.lifetime, documentError(err)
		}
		// Another process registered it meanwhile: update that one.
		if old, err = s.GetClient(ctx, id); err != nil {
			return store.Client{}, 0, fmt.Errorf("cimd: reading client: %w", err)
		}
	}
	if sameClient(old.Name, [4][]string{old.RedirectURIs, old.GrantTypes, old.ResponseTypes, old.Scopes}, md) {
		return old, doc.lifetime, nil
	}
	c, _, err := r.cfg.Grants.UpdateClient(ctx, id, md, Actor)
	return c, doc.lifetime, documentError(err)
}

// documentError marks grantkit's refusal of the document's metadata
// (redirect URIs, grant or response types, scopes, limits) as
// ErrInvalidDocument; other errors pass unchanged.
func documentError(err error) error {
	if errors.Is(err, grant.ErrInvalidRedirectURI) || errors.Is(err, grant.ErrInvalidClientMetadata) {
		return fmt.Errorf("%w: %w", ErrInvalidDocument, err)
	}
	return err
}
