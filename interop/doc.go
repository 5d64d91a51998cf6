// Package interop holds grantkit's interoperability tests: reference OAuth
// 2.0 clients (golang.org/x/oauth2) drive the whole flow against httpapi's
// endpoints on a real HTTP server. It is a module of its own, so that the
// library module's go.mod keeps only the library's dependencies; in the
// repository's workspace (go.work) it builds against the grantkit beside
// it. Nothing imports it.
package interop
