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
	// 127.0.0.1/32 for a test's document server.
	Allow string
}

// Register defines -cimd-ca and -cimd-allow on fs.
func (f *CIMDFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.CAFile, "cimd-ca", "", "PEM file of the CAs Client ID Metadata Document servers are verified against, instead of the system roots (tests, private CAs)")
	fs.StringVar(&f.Allow, "cimd-allow", "", "comma-separated address prefixes Client ID Metadata Documents may be fetched from although not public, e.g. 127.0.0.1/32 (tests only: it opens the fetcher to those networks)")
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
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("-cimd-allow: %w", err)
			}
			allowed = append(allowed, p.Masked())
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
