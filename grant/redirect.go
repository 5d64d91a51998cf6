package grant

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/grantkit/grantkit/store"
)

// refusedSchemes are never accepted as redirect URI schemes, whatever the
// rest of the URI holds: a user agent runs or reads these locally
// (javascript:, vbscript:, data:, blob:, file:) instead of delivering the
// authorization response to a client's endpoint. They hold no dot, so the
// private-use rule would refuse them too; they are named so that the error
// says why, and so that the rule cannot be loosened by accident.
var refusedSchemes = []string{"javascript", "data", "vbscript", "file", "blob"}

// checkRedirectURI applies grantkit's registration rules to one redirect
// URI (RFC 6749 §3.1.2, RFC 8252 §7, RFC 9700 §2.1), in this order:
//
//   - at most MaxRedirectURILength bytes;
//   - not a javascript, data, vbscript, file or blob URI, whatever else it
//     holds;
//   - no fragment, not even an empty one: no '#' anywhere in the string
//     (RFC 6749 §3.1.2; url.Parse drops an empty trailing '#', so the raw
//     string is checked);
//   - only characters RFC 3986 §2 allows in a URI, and '%' only as a
//     percent-encoding: no spaces, control bytes or non-ASCII bytes;
//   - an absolute URI (RFC 3986 §4.3) that url.Parse accepts;
//   - no userinfo in the authority (RFC 3986 §3.2.1), not even an empty
//     one: https://app.example@evil.example/cb reads as app.example but
//     sends the user to evil.example;
//   - scheme https with a host, or http only with a loopback host given
//     exactly as 127.0.0.1, [::1] or localhost (RFC 8252 §7.3, §8.3), an
//     optional port being a decimal number from 1 to 65535; or else a
//     private-use scheme holding a dot, a reverse domain name such as
//     com.example.app (RFC 8252 §7.1).
//
// Refusals wrap ErrInvalidRedirectURI and say which rule failed.
func checkRedirectURI(raw string) error {
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidRedirectURI, fmt.Sprintf(format, args...), clip(raw))
	}
	if len(raw) > MaxRedirectURILength {
		return refuse("longer than %d bytes", MaxRedirectURILength)
	}
	if s, ok := rawScheme(raw); ok {
		for _, r := range refusedSchemes {
			if strings.EqualFold(s, r) {
				return refuse("the %s scheme is never allowed", r)
			}
		}
	}
	if strings.IndexByte(raw, '#') >= 0 {
		return refuse("a fragment is not allowed, not even an empty one")
	}
	if err := uriChars(raw); err != "" {
		return refuse("%s", err)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return refuse("not an absolute URI")
	}
	authority, hasAuthority := rawAuthority(raw)
	if strings.IndexByte(authority, '@') >= 0 || u.User != nil {
		return refuse("userinfo is not allowed")
	}
	switch u.Scheme {
	case "https", "http":
		host, port, hasPort := splitHostPort(authority)
		switch {
		case !hasAuthority || host == "":
			return refuse("an %s URI needs a host", u.Scheme)
		case u.Scheme == "http" && host != "127.0.0.1" && host != "[::1]" && host != "localhost":
			return refuse("http is allowed only for a loopback host written 127.0.0.1, [::1] or localhost; use https")
		case hasPort && !canonicalPort(port):
			return refuse("the port must be a decimal number from 1 to 65535 without leading zeros")
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return refuse("a private-use scheme must be a reverse domain name holding a dot, such as com.example.app")
		}
	}
	return nil
}

// rawScheme returns the scheme of raw as RFC 3986 §3.1 spells it (a letter,
// then letters, digits, '+', '-' or '.', then ':'), if it has one.
func rawScheme(raw string) (string, bool) {
	i := strings.IndexByte(raw, ':')
	if i < 1 {
		return "", false
	}
	for k := 0; k < i; k++ {
		c := raw[k]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case k > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return "", false
		}
	}
	return raw[:i], true
}

// uriChars returns why raw holds a byte RFC 3986 §2 does not allow in a
// URI (unreserved, reserved, or '%' followed by two hex digits), or "".
func uriChars(raw string) string {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0:
		case c == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "'%' must start a percent-encoding of two hex digits"
			}
		default:
			return fmt.Sprintf("byte 0x%02x at offset %d is not allowed in a URI (RFC 3986 §2)", c, i)
		}
	}
	return ""
}

// isHex reports whether c is a hex digit (RFC 3986 §2.1 HEXDIG).
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// rawAuthority returns the authority of raw as written (RFC 3986 §3.2):
// what follows "scheme://" up to the first '/', '?' or '#'; ok is false
// when raw has no "//" right after its scheme.
func rawAuthority(raw string) (authority string, ok bool) {
	scheme, _ := rawScheme(raw)
	rest, ok := strings.CutPrefix(raw[len(scheme):], "://")
	if scheme == "" || !ok {
		return "", false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest, true
}

// splitHostPort splits an authority without userinfo into its host as
// written (with the brackets of an IP literal) and its port, if it has a
// ':' after the host (hasPort, port possibly empty).
func splitHostPort(authority string) (host, port string, hasPort bool) {
	if strings.HasPrefix(authority, "[") {
		i := strings.IndexByte(authority, ']')
		if i < 0 {
			return "", "", false
		}
		host, rest := authority[:i+1], authority[i+1:]
		if rest == "" {
			return host, "", false
		}
		if rest[0] != ':' {
			return "", "", false
		}
		return host, rest[1:], true
	}
	return strings.Cut(authority, ":")
}

// canonicalPort reports whether p is a port number from 1 to 65535 written
// in decimal without leading zeros.
func canonicalPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == p
}

// loopbackPrefixes are the loopback IP-literal origins, without a port,
// whose redirect URIs match any port (RFC 8252 §7.3). localhost is not one
// of them: RFC 8252 §8.3 recommends the IP literals, since a name can be
// resolved elsewhere or be bound by another application.
var loopbackPrefixes = []string{"http://127.0.0.1", "http://[::1]"}

// matchRedirectURI reports whether requested, the redirect_uri of an
// authorization request, matches registered, one of the client's redirect
// URIs (RFC 6749 §3.1.2.3, RFC 9700 §2.1): by exact string comparison,
// except that a registered loopback IP-literal URI (http://127.0.0.1 or
// http://[::1], with or without a port) also matches a requested URI that
// differs from it only in the port (RFC 8252 §7.3): a native client listens
// on whatever port the operating system gives it. The requested port is
// absent or a canonical decimal number from 1 to 65535; scheme, host, path
// and query must be identical strings. localhost URIs, https URIs and
// private-use URIs match exactly only.
func matchRedirectURI(registered, requested string) bool {
	if registered == requested {
		return true
	}
	rp, rrest, ok := splitLoopback(registered)
	if !ok {
		return false
	}
	qp, qrest, ok := splitLoopback(requested)
	return ok && rp == qp && rrest == qrest
}

// splitLoopback splits a loopback IP-literal http URI into its origin
// without the port (one of loopbackPrefixes) and what follows the port
// ("" or starting with '/' or '?'); ok is false for any other string,
// including one whose port is not canonical.
func splitLoopback(s string) (prefix, rest string, ok bool) {
	for _, p := range loopbackPrefixes {
		after, found := strings.CutPrefix(s, p)
		if !found {
			continue
		}
		if tail, hasPort := strings.CutPrefix(after, ":"); hasPort {
			end := strings.IndexAny(tail, "/?")
			if end < 0 {
				end = len(tail)
			}
			if !canonicalPort(tail[:end]) {
				return "", "", false
			}
			after = tail[end:]
		}
		if after != "" && after[0] != '/' && after[0] != '?' {
			return "", "", false
		}
		return p, after, true
	}
	return "", "", false
}

// registeredRedirect returns the registered redirect URI that requested
// matches (see matchRedirectURI), an exact match first: the grant is bound
// to it, so that a desktop client coming back on another loopback port
// reuses or supersedes its grant instead of adding one per port, while
// the authorization request and its code keep the URI actually requested,
// which the token request must repeat exactly (RFC 6749 §4.1.3).
func registeredRedirect(registered []string, requested string) (string, bool) {
	for _, r := range registered {
		if r == requested {
			return r, true
		}
	}
	for _, r := range registered {
		if matchRedirectURI(r, requested) {
			return r, true
		}
	}
	return "", false
}

// RedirectURIRegistered reports whether uri, the redirect URI of an
// authorization request, is one of c's redirect URIs under Authorize's
// rule (exact, or a loopback IP literal on another port, RFC 8252 §7.3)
// and c is not deleted. A decision's error may be redirected only then
// (RFC 6749 §4.1.2.1): a client deleted or changed since the request no
// longer vouches for the URI.
func RedirectURIRegistered(c store.Client, uri string) bool {
	_, ok := registeredRedirect(c.RedirectURIs, uri)
	return ok && c.DeletedAt.IsZero()
}

// clip quotes s for an error message, shortened so that the quoted form
// stays within 100 bytes however many bytes of s need escaping: a refused
// value cannot make the message itself large.
func clip(s string) string {
	const max = 100
	if q := strconv.Quote(s); len(q) <= max {
		return q
	}
	for n := min(len(s), max); n > 0; n-- {
		if q := strconv.Quote(s[:n]); len(q) <= max {
			return q + "…"
		}
	}
	return `""…`
}
