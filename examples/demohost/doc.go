// Package demohost is the host side the example servers share — a demo
// login (any username, no password) kept in a session cookie, the
// httpapi.Authorizer with its consent page and the -dev-login shortcut,
// the caller of the sessions API, an in-memory rate limit for dynamic
// registration (RFC 7591), and the -db flag's store opener. A real host
// brings its own login and consent; these are deliberately small, and
// only examples import them.
package demohost

// The paths the demo's pages and API live on.
const (
	LoginPath    = "/login"
	PagePath     = "/connected-clients"
	SessionsPath = "/api/sessions"
)
