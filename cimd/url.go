package cimd

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/grantkit/grantkit/grant"
)

// IsClientIDURL reports whether id is a client identifier URL
// (draft-ietf-oauth-client-id-metadata-document, "Client Identifier
// URL"): an https URL with a host and a path other than "/", without
// fragment (not even an empty '#'), userinfo, or dot segments ("." or
// "..", percent-encoded or not), with a port, if any, from 1 to 65535. A
// query is allowed, as the draft allows it. The id must also be at most
// grant.MaxIdentifierLength bytes of printable ASCII, as every stored
// client id. The document's client_id is compared with id as a string,
// so no normalisation happens here.
func IsClientIDURL(id string) bool {
	if len(id) > grant.MaxIdentifierLength || !strings.HasPrefix(id, "https://") {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '#' || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "https" || u.Opaque != "" || u.User != nil || u.Hostname() == "" {
		return false
	}
	authority := strings.TrimPrefix(id, "https://")
	if i := strings.IndexAny(authority, "/?"); i >= 0 {
		authority = authority[:i]
	}
	if strings.Contains(authority, "@") {
		return false
	}
	if p := u.Port(); p != "" || strings.HasSuffix(authority, ":") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return false
		}
	}
	path := u.EscapedPath()
	if path == "" || path == "/" {
		return false
	}
	for _, seg := range strings.Split(path, "/") {
		dec, err := url.PathUnescape(seg)
		if err != nil || dec == "." || dec == ".." {
			return false
		}
	}
	return true
}
