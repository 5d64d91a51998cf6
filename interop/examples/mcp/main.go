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
// such dependencies go. Its login, consent page, authorizer, rate limit
// and store opening are examples/server's, from package
// examples/demohost.
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
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/grantkit/grantkit/examples/demohost"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/sweep"
	"github.com/grantkit/grantkit/token"
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
	build := func(_ context.Context, s store.Store, issuer string) (*http.Server, []demohost.Worker, error) {
		return build(s, o, issuer)
	}
	return demohost.Run(ctx, o, stdout, build, func(w io.Writer, issuer string) {
		fmt.Fprintf(w, "issuer             %s\n", issuer)
		fmt.Fprintf(w, "MCP endpoint       %s%s\n", issuer, mcpPath)
		fmt.Fprintf(w, "resource metadata  %s%s%s\n", issuer, httpapi.WellKnownProtectedResource, mcpPath)
		fmt.Fprintf(w, "connected clients  %s%s\n", issuer, demohost.PagePath)
	})
}

// build wires grantkit and the MCP server on s and returns the HTTP server
// and the workers to start: the token Verifier's last_used_at writer and
// the sweep.
func build(s store.Store, o demohost.Flags, issuer string) (*http.Server, []demohost.Worker, error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	grants, err := grant.New(grant.Config{Store: s, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	key, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		return nil, nil, err
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		return nil, nil, err
	}
	minter, err := token.NewMinter(token.MinterConfig{Issuer: issuer, Keys: keys})
	if err != nil {
		return nil, nil, err
	}
	tokens, err := token.NewServer(grants, token.ServerConfig{Minter: minter})
	if err != nil {
		return nil, nil, err
	}
	resource := issuer + mcpPath
	verifier, err := token.NewVerifier(grants, minter.VerifierConfig(resource))
	if err != nil {
		return nil, nil, err
	}
	sessions, err := session.New(grants, session.Config{})
	if err != nil {
		return nil, nil, err
	}
	sweeper, err := sweep.New(grants, sweep.Config{})
	if err != nil {
		return nil, nil, err
	}

	auth := &demohost.Authorizer{Logins: demohost.NewLogins(strings.HasPrefix(issuer, "https:")), DevSubject: o.DevLogin}
	paths := httpapi.DefaultPaths
	paths.Sessions, paths.Page = demohost.SessionsPath, demohost.PagePath
	// The MCP authorization specification prefers Client ID Metadata
	// Documents to dynamic registration: a client id that is an https URL
	// is resolved by fetching it, from public addresses only unless
	// -cimd-allow adds some.
	clientIDs, err := o.CIMD.Resolver(grants, scopes)
	if err != nil {
		return nil, nil, err
	}
	h, err := httpapi.New(httpapi.Config{
		Grants: grants, Tokens: tokens, Minter: minter, Issuer: issuer, Paths: paths,
		Authorizer: auth, Resources: []string{resource}, ScopesSupported: scopes, ClientIDMetadata: clientIDs,
		RegistrationLimit: demohost.NewRateLimit(o.RegistrationLimit, time.Minute).Allow,
		Sessions:          sessions, Caller: auth.Caller,
	})
	if err != nil {
		return nil, nil, err
	}
	auth.Handler = h

	endpoint, err := newMCPEndpoint(verifier, resource, issuer, logger)
	if err != nil {
		return nil, nil, err
	}
	mux := http.NewServeMux()
	h.Mount(mux)
	endpoint.mount(mux)
	mux.Handle(demohost.LoginPath, auth.Logins.Handler())
	// No ReadTimeout or WriteTimeout: the streamable transport keeps
	// server-sent event streams open for as long as a session lasts.
	srv := &http.Server{
		Handler:           loginFirst(auth, mux),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return srv, []demohost.Worker{verifier, sweeper}, nil
}

// loginFirst sends a browser that opens the connected-clients page
// without a login to the login page, which brings it back.
func loginFirst(auth *demohost.Authorizer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == demohost.PagePath && r.Method == http.MethodGet {
			if u, _ := auth.User(r); u == "" {
				http.Redirect(w, r, demohost.LoginPath+"?next="+url.QueryEscape(demohost.PagePath), http.StatusFound)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
