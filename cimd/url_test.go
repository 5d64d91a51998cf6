package cimd_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/cimd"
)

// TestIsClientIDURL checks the draft's client identifier URL rules.
func TestIsClientIDURL(t *testing.T) {
	tests := map[string]bool{
		"https://app.example/client.json":                 true,
		"https://app.example/oauth/client":                true,
		"https://app.example:8443/client.json":            true,
		"https://app.example/client.json?v=2":             true,
		"https://[2001:db8::1]/client.json":               true,
		"https://app.example/..client":                    true, // not a dot segment
		"https://app.example":                             false,
		"https://app.example/":                            false,
		"https://app.example?x=1":                         false,
		"http://app.example/client.json":                  false,
		"HTTPS://app.example/client.json":                 false,
		"https:///client.json":                            false,
		"https://app.example/client.json#":                false,
		"https://app.example/client.json#frag":            false,
		"https://user@app.example/client.json":            false,
		"https://user:pw@app.example/client.json":         false,
		"https://app.example/a/./client.json":             false,
		"https://app.example/a/../client.json":            false,
		"https://app.example/a/%2e%2E/client.json":        false,
		"https://app.example/a/%2e/client.json":           false,
		"https://app.example/.":                           false,
		"https://app.example:0/client.json":               false,
		"https://app.example:65536/client.json":           false,
		"https://app.example:/client.json":                false,
		"https://app.example:08443/client.json":           false,
		"https://app.example/client json":                 false,
		"https://app.example/client\x00":                  false,
		"https://app.example/clïent":                      false,
		"https://app.example/" + strings.Repeat("a", 256): false,
		"":          false,
		"client-42": false,
	}
	got := map[string]bool{}
	for id := range tests {
		got[id] = cimd.IsClientIDURL(id)
	}
	if diff := cmp.Diff(tests, got); diff != "" {
		t.Errorf("IsClientIDURL (-want +got):\n%s", diff)
	}
}

// TestPublicAddr checks the default AllowAddr.
func TestPublicAddr(t *testing.T) {
	tests := map[string]bool{
		"93.184.215.14":        true,
		"8.8.8.8":              true,
		"2606:4700::1111":      true,
		"::ffff:93.184.215.14": true,
		"127.0.0.1":            false,
		"127.8.9.10":           false,
		"::1":                  false,
		"10.0.0.1":             false,
		"172.16.5.4":           false,
		"192.168.1.1":          false,
		"169.254.169.254":      false,
		"fe80::1":              false,
		"fe80::1%eth0":         false,
		"fc00::1":              false,
		"fd12:3456::1":         false,
		"0.0.0.0":              false,
		"0.1.2.3":              false,
		"::":                   false,
		"224.0.0.1":            false,
		"ff02::1":              false,
		"255.255.255.255":      false,
		"100.64.0.1":           false,
		"192.0.2.1":            false,
		"198.51.100.7":         false,
		"203.0.113.9":          false,
		"198.18.0.1":           false,
		"2001:db8::1":          false,
		"::ffff:127.0.0.1":     false,
		"::ffff:10.0.0.1":      false,
		"::127.0.0.1":          false,
		"64:ff9b::a00:1":       false,
		"2002:a00:1::1":        false,
		"2001:0:4136:e378::1":  false,
	}
	got := map[string]bool{}
	for s := range tests {
		got[s] = cimd.PublicAddr(netip.MustParseAddr(s))
	}
	if diff := cmp.Diff(tests, got); diff != "" {
		t.Errorf("PublicAddr (-want +got):\n%s", diff)
	}
	if cimd.PublicAddr(netip.Addr{}) {
		t.Error("the zero Addr is allowed")
	}
}
