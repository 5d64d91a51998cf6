// Command mcp is an MCP server (github.com/modelcontextprotocol/go-sdk)
// whose tools are protected by grantkit, with grantkit's authorization
// server in the same process — what an MCP gateway embedding grantkit looks
// like. On the embedded default, an in-memory SQLite database:
//
//	go run ./interop/examples/mcp
//	go run ./interop/examples/mcp -dev-login alice   # /authorize approves as alice, no pages
//	go run ./interop/examples/mcp -db 'postgres://user@127.0.0.1:5432/db'
//
// It serves:
//
//   - the MCP endpoint /mcp (streamable HTTP), behind the SDK's
//     auth.RequireBearerToken with grantkit's Verifier
//     (mcpauth.TokenVerifier): every request needs an access token for
//     the resource issuer + "/mcp" with scope mcp:tools;
//   - its protected resource metadata (RFC 9728) at
//     /.well-known/oauth-protected-resource/mcp, which names the issuer as
//     its authorization server;
//   - the authorization server (package httpapi): RFC 8414 metadata,
//     /authorize with a demo login and consent page, /token, /revoke,
//     Client ID Metadata Documents (an https client_id is fetched, from
//     public addresses only; -cimd-ca and -cimd-allow widen that for
//     tests), open dynamic registration (RFC 7591, rate-limited per IP),
//     the sessions API at /api/sessions and the page /connected-clients.
//
// Two tools: "whoami" (scope mcp:tools) answers the subject, client and
// grant of the caller's token; "admin" needs mcp:admin too, and a call
// without it is answered before the MCP server sees it with 403
// insufficient_scope naming both scopes and resource_metadata (RFC 6750
// §3.1, RFC 9728 §5.1), the MCP specification's step-up challenge.
//
// It lives in the interop module rather than at examples/mcp because it
// imports the MCP Go SDK, which the library module may not depend on (its
// go.mod keeps exactly five dependencies); the interop module is where
// such dependencies go. Its authorization server, login, consent page,
// flags and life are examples/server's, from package examples/demohost.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/grantkit/grantkit/examples/demohost"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/store"
)

// Scopes.
const (
	// ScopeTools is what every MCP request needs.
	ScopeTools = "mcp:tools"
	// ScopeAdmin is what the admin tool needs in addition.
	ScopeAdmin = "mcp:admin"
)

// scopes are the scopes the server offers: the metadata's
// scopes_supported and what a dynamically registered client may ask for.
var scopes = []string{ScopeTools, ScopeAdmin}

// Paths the example adds to httpapi.DefaultPaths.
const (
	mcpPath = "/mcp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		log.Fatal(err)
	}
}

// run is the server (demohost.Run): it listens on -addr, prints
// "listening on http://HOST:PORT" and the other URLs to stdout, serves
// until ctx ends, then shuts down gracefully — in-flight requests finish,
// the verifier's writer and the sweep worker stop, the store closes — and
// returns nil.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := demohost.ParseFlags("mcp", args, stdout)
	if err != nil {
		return err
	}
	wire := func(ctx context.Context, s store.Store, issuer string) (*http.Server, []demohost.Worker, error) {
		return build(ctx, s, o, issuer)
	}
	return demohost.Run(ctx, o, stdout, wire, func(w io.Writer, issuer string) {
		fmt.Fprintf(w, "issuer             %s\n", issuer)
		fmt.Fprintf(w, "MCP endpoint       %s%s\n", issuer, mcpPath)
		fmt.Fprintf(w, "resource metadata  %s%s%s\n", issuer, httpapi.WellKnownProtectedResource, mcpPath)
		fmt.Fprintf(w, "connected clients  %s%s\n", issuer, demohost.PagePath)
	})
}

// build wires grantkit on s (demohost.NewAuthServer) and the MCP server,
// and returns the HTTP server and the workers to start: the token
// Verifier's last_used_at writer and the sweep.
func build(ctx context.Context, s store.Store, o demohost.Flags, issuer string) (*http.Server, []demohost.Worker, error) {
	resource := issuer + mcpPath
	as, err := demohost.NewAuthServer(ctx, demohost.AuthServerConfig{Store: s, Flags: o,
		Issuer: issuer, Resource: resource, Scopes: scopes})
	if err != nil {
		return nil, nil, err
	}
	endpoint, err := newMCPEndpoint(as.Verifier, resource, issuer, as.Logger)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	as.Mount(mux)
	endpoint.mount(mux)
	// No ReadTimeout or WriteTimeout: the streamable transport keeps
	// server-sent event streams open for as long as a session lasts.
	srv := &http.Server{
		Handler:           as.LoginFirst(mux),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(as.Logger.Handler(), slog.LevelWarn),
	}
	return srv, as.Workers, nil
}
