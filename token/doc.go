// Package token issues and checks grantkit's tokens: the authorization code exchange (RFC 6749 §4.1.3 with PKCE, RFC
// 7636), rotating refresh tokens with reuse detection (RFC 6749 §6, RFC 9700
// §4.14.2), RFC 9068 JWT access tokens signed from a rotating [KeySet], and
// the resource side's [Verifier], which re-checks the grant on every
// request so that a revocation takes effect at once.
package token
