package cimd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// errRedirect is what CheckRedirect answers: a redirect is never followed
// (the draft's server-side request forgery considerations; the
// document's client_id must equal the URL fetched anyway).
var errRedirect = errors.New("cimd: redirects are not followed")

// newHTTPClient builds the client Config.HTTPClient defaults to: every
// connection dialed by r.dial (resolved, vetted and pinned), TLS 1.2 or
// later verifying the URL's host name against cfg.RootCAs (nil: the
// system roots), no proxy (a proxy would dial the host itself, after our
// check), no cookie jar, bounded headers, and cfg.Timeout for the whole
// exchange.
func (r *Resolver) newHTTPClient() *http.Client {
	t := &http.Transport{
		Proxy:                  nil,
		DialContext:            r.dial,
		TLSClientConfig:        &tls.Config{RootCAs: r.cfg.RootCAs, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    r.cfg.Timeout,
		ResponseHeaderTimeout:  r.cfg.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           16,
		IdleConnTimeout:        30 * time.Second,
	}
	return &http.Client{Transport: t, Timeout: r.cfg.Timeout}
}

// dial is the Transport's DialContext: it resolves addr's host with
// Config.LookupIP (an IP literal is taken as is), refuses it unless every
// address passes Config.AllowAddr, and dials those vetted addresses in
// turn, never the name again, so a DNS answer that changes between the
// check and the connection (DNS rebinding) cannot move it. TLS then
// verifies the certificate against the host name the URL gave.
func (r *Resolver) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	addrs, err := r.vet(ctx, host)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var last error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, fmt.Errorf("%w: %w", ErrFetch, last)
}

// vet returns host's addresses if every one of them is allowed; otherwise
// ErrForbiddenAddress (or ErrFetch when the name does not resolve).
func (r *Resolver) vet(ctx context.Context, host string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		addrs, err = r.cfg.LookupIP(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("%w: resolving %q: %w", ErrFetch, host, err)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: %q resolves to no address", ErrForbiddenAddress, host)
	}
	for _, a := range addrs {
		if !r.cfg.AllowAddr(a) {
			return nil, fmt.Errorf("%w: %q resolves to %s", ErrForbiddenAddress, host, a)
		}
	}
	return addrs, nil
}

// fetched is a client metadata document as the server sent it.
type fetched struct {
	body []byte
	// lifetime is how long it may be cached, within [MinAge, MaxAge].
	lifetime time.Duration
}

// fetch GETs the document at id (draft-ietf-oauth-client-id-metadata-
// document, "Client Metadata Document"): no credentials, cookies or
// redirects; a 200 answer whose Content-Type is application/json or a
// +json type, of at most MaxBytes bytes. ctx bounds the whole exchange.
func (r *Resolver) fetch(ctx context.Context, id string) (fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, id, nil)
	if err != nil {
		return fetched{}, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.http.Do(req)
	if err != nil {
		err = unwrapURL(err)
		if errors.Is(err, ErrForbiddenAddress) || errors.Is(err, ErrFetch) { // refused or failed by dial
			return fetched{}, err
		}
		return fetched{}, fmt.Errorf("%w: %w", ErrFetch, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fetched{}, fmt.Errorf("%w: status %d", ErrFetch, resp.StatusCode)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return fetched{}, fmt.Errorf("%w: Content-Type %q is not JSON", ErrInvalidDocument, resp.Header.Get("Content-Type"))
	}
	if resp.ContentLength > r.cfg.MaxBytes {
		return fetched{}, fmt.Errorf("%w: %d bytes declared, at most %d allowed", ErrTooLarge, resp.ContentLength, r.cfg.MaxBytes)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.cfg.MaxBytes+1))
	if err != nil {
		return fetched{}, fmt.Errorf("%w: reading the body: %w", ErrFetch, err)
	}
	if int64(len(body)) > r.cfg.MaxBytes {
		return fetched{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, r.cfg.MaxBytes)
	}
	return fetched{body: body, lifetime: r.lifetime(resp.Header)}, nil
}

// unwrapURL drops the *url.Error layer, whose message repeats the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// lifetime is how long a response with header h may be cached (RFC 9111
// §4.2.1): no-store or no-cache give MinAge (a document cannot force a
// fetch per request), then s-maxage or max-age, then Expires less Date
// (or now), and otherwise MinAge; the result is clamped to [MinAge,
// MaxAge].
func (r *Resolver) lifetime(h http.Header) time.Duration {
	age, found := time.Duration(0), false
	directives := map[string]string{}
	for _, line := range h.Values("Cache-Control") {
		for _, d := range strings.Split(line, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			directives[strings.ToLower(name)] = strings.Trim(val, `"`)
		}
	}
	_, noStore := directives["no-store"]
	_, noCache := directives["no-cache"]
	switch {
	case noStore || noCache:
		return r.cfg.MinAge
	case directives["s-maxage"] != "" || directives["max-age"] != "":
		v := directives["s-maxage"]
		if v == "" {
			v = directives["max-age"]
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			age, found = time.Duration(min(n, int64(r.cfg.MaxAge/time.Second)+1))*time.Second, true
		}
	case h.Get("Expires") != "":
		if exp, err := http.ParseTime(h.Get("Expires")); err == nil {
			base := r.cfg.Now()
			if d, err := http.ParseTime(h.Get("Date")); err == nil {
				base = d
			}
			age, found = exp.Sub(base), true
		}
	}
	if !found {
		return r.cfg.MinAge
	}
	return min(max(age, r.cfg.MinAge), r.cfg.MaxAge)
}
