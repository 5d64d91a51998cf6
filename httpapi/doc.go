// Package httpapi is grantkit's plain net/http surface (SPEC §8): the
// OAuth 2.0 endpoints an authorization server mounts on its own mux — token
// (RFC 6749 §3.2), revocation (RFC 7009), introspection (RFC 7662), dynamic
// client registration (RFC 7591), authorization server metadata (RFC 8414)
// and JWKS (RFC 7517) — the authorize helpers that hand login and consent to
// the host, the connected-clients JSON API and page, and, for resource
// servers, the bearer middleware (RFC 6750) and protected resource metadata
// (RFC 9728).
//
// Every error is answered through one function, which maps the sentinels
// of the core packages with grantkit.ErrorCode and this package's own
// protocol errors (a wrong method, an unsupported grant type…) with a table
// of its own. A store failure is always server_error and never mints a
// token. The token, revocation, introspection and registration endpoints
// send Cache-Control: no-store and Pragma: no-cache on every response,
// including the 500 a recovered panic becomes.
//
// Nothing in a core package imports httpapi: a host that writes its own
// handlers uses grant, token and session directly with grantkit.ErrorCode.
package httpapi
