package demohost

import (
	"crypto/x509"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/grantkit/grantkit/cimd"
	"github.com/grantkit/grantkit/grant"
)

// CIMDFlags are the command-line settings of the Client ID Metadata
// Document resolver (package cimd). By default the resolver fetches
// documents only from public addresses (cimd.PublicAddr) and verifies
// their servers against the system roots; the flags widen that for tests
// and private deployments, never by default.
type CIMDFlags struct {
	// CAFile is a PEM file of the certificates document servers are
	// verified against instead of the system roots (-cimd-ca).
	CAFile string
	// Allow is a comma-separated list of address prefixes the resolver
	// may connect to although they are not public (-cimd-allow), such as
	// 127.0.0.1/32 for a test's document server or a private network's
	// range; none may be wider than /8 (IPv4) or /16 (IPv6) or cover a
	// cloud metadata endpoint.
	Allow string
}

// Register defines -cimd-ca and -cimd-allow on fs.
func (f *CIMDFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.CAFile, "cimd-ca", "", "PEM file of the CAs Client ID Metadata Document servers are verified against, instead of the system roots (tests, private CAs)")
	fs.StringVar(&f.Allow, "cimd-allow", "", "comma-separated address prefixes Client ID Metadata Documents may be fetched from although not public, e.g. 127.0.0.1/32 for a test (it opens the fetcher to those networks; at most /8 or /16 wide, never a cloud metadata address)")
}

// Resolver builds the resolver the flags describe, for grants, with the
// server's scopes as the most a document may register.
func (f CIMDFlags) Resolver(grants *grant.Manager, scopes []string) (*cimd.Resolver, error) {
	cfg := cimd.Config{Grants: grants, ScopesSupported: scopes}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("-cimd-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-cimd-ca %s: no PEM certificate", f.CAFile)
		}
		cfg.RootCAs = pool
	}
	if f.Allow != "" {
		var allowed []netip.Prefix
		for _, s := range strings.Split(f.Allow, ",") {
			p, err := allowedPrefix(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("-cimd-allow: %w", err)
			}
			allowed = append(allowed, p)
		}
		cfg.AllowAddr = func(a netip.Addr) bool {
			if cimd.PublicAddr(a) {
				return true
			}
			a = a.Unmap()
			for _, p := range allowed {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
	}
	return cimd.New(cfg)
}

// metadataEndpoints are cloud instance metadata addresses (AWS, GCP,
// Azure, and AWS's IPv6 one), which no -cimd-allow prefix may cover: they
// are what an SSRF is after.
var metadataEndpoints = []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")}

// allowedPrefix parses one -cimd-allow prefix, an IPv4-mapped IPv6 one
// as the IPv4 prefix it maps (addresses are compared unmapped), and
// refuses one wider than /8 (IPv4) or /16 (IPv6) or covering a cloud
// metadata endpoint.
func allowedPrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	if (p.Addr().Is4() && p.Bits() < 8) || (!p.Addr().Is4() && p.Bits() < 16) {
		return p, fmt.Errorf("%s is wider than /8 (IPv4) or /16 (IPv6)", p)
	}
	for _, a := range metadataEndpoints {
		if p.Contains(a) {
			return p, fmt.Errorf("%s covers the cloud metadata endpoint %s", p, a)
		}
	}
	return p, nil
}
