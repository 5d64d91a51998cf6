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
	// range; none may be wider than /8 (IPv4) or /16 (IPv6) or overlap
	// link-local, cloud metadata or IPv4-embedding ranges.
	Allow string
}

// Register defines -cimd-ca and -cimd-allow on fs.
func (f *CIMDFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.CAFile, "cimd-ca", "", "PEM file of the CAs Client ID Metadata Document servers are verified against, instead of the system roots (tests, private CAs)")
	fs.StringVar(&f.Allow, "cimd-allow", "", "comma-separated address prefixes Client ID Metadata Documents may be fetched from although not public, e.g. 127.0.0.1/32 for a test (it opens the fetcher to those networks; at most /8 or /16 wide, never link-local, cloud metadata or IPv4-embedding ranges)")
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

// forbiddenRanges are networks no -cimd-allow prefix may overlap: the
// link-local ranges and the cloud instance metadata addresses in them or
// beside them (AWS, GCP, Azure, Alibaba; AWS's and GCP's IPv6 ones), and
// the IPv6 ranges that embed IPv4 addresses (IPv4-compatible, NAT64,
// 6to4), through which they could be reached again.
var forbiddenRanges = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("100.100.100.200/32"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fd00:ec2::/32"),
	netip.MustParsePrefix("fd20:ce::/32"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"),
}

// allowedPrefix parses one -cimd-allow prefix, an IPv4-mapped IPv6 one
// as the IPv4 prefix it maps (addresses are compared unmapped), and
// refuses one wider than /8 (IPv4) or /16 (IPv6) or overlapping
// forbiddenRanges.
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
	for _, f := range forbiddenRanges {
		if p.Overlaps(f) {
			return p, fmt.Errorf("%s overlaps %s (link-local, cloud metadata, or IPv4 embedded in IPv6)", p, f)
		}
	}
	return p, nil
}
