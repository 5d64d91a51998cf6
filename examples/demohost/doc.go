// Package demohost is what the example servers (examples/server and
// interop/examples/mcp) share: their command line (Flags), their life
// (Run: listen, open the store, start the workers, serve, shut down
// gracefully), grantkit wired as their authorization server
// (NewAuthServer), and the host side of it — a demo login (any username,
// no password) kept in a session cookie, the httpapi.Authorizer with its
// consent page and the -dev-login shortcut, the caller of the sessions
// API, an in-memory rate limit for dynamic registration (RFC 7591), the
// Client ID Metadata Document resolver's flags, and the -db flag's store
// opener. A real host brings its own login and consent; these are
// deliberately small, and only examples import them.
package demohost

// The paths the demo's pages and API live on.
const (
	LoginPath    = "/login"
	PagePath     = "/connected-clients"
	SessionsPath = "/api/sessions"
)
