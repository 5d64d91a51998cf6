package cimd

import "net/netip"

// refusedPrefixes are the special-purpose ranges (RFC 6890 and the IANA
// registries) that PublicAddr refuses besides what netip's predicates
// name: this network, carrier-grade NAT, IETF protocol assignments, the
// documentation and benchmarking ranges, the reserved 240/4 with the
// limited broadcast address, and the IPv6 forms that embed or translate
// to an IPv4 address (IPv4-compatible, NAT64, 6to4, Teredo), the discard
// prefix, deprecated site-local and the documentation prefixes.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("3fff::/20"),
	netip.MustParsePrefix("fec0::/10"),
}

// PublicAddr reports whether a is a public unicast address, the default
// Config.AllowAddr (the draft's server-side request forgery
// considerations): it refuses the unspecified, loopback, private (RFC 1918
// and the unique-local fc00::/7), link-local, multicast and broadcast
// addresses, a zoned address, and the special-purpose ranges of
// refusedPrefixes; an IPv4-mapped IPv6 address is judged as its IPv4
// address.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.Zone() != "" || !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() ||
		a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range refusedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
