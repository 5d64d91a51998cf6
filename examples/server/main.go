// Command server is grantkit's runnable authorization server: the OAuth
// 2.0 endpoints of httpapi, a demo login and consent page, the
// connected-clients page and API, and a protected API (/api/whoami) that
// accepts the access tokens it issues. On the embedded default, an
// in-memory SQLite database:
//
//	go run ./examples/server
//	go run ./examples/server -dev-login alice   # /authorize approves as alice, no pages
//	go run ./examples/server -db sqlite:grantkit.db
//	go run ./examples/server -db 'postgres://user@127.0.0.1:5432/db'
//
// At start it registers the public client "demo" (redirect URI
// http://127.0.0.1:8765/callback) unless the database holds it already.
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
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/store"
)

// The demo client every start registers (or finds).
const (
	demoClientID   = "demo"
	demoClientName = "Demo client"
	demoRedirect   = "http://127.0.0.1:8765/callback"
)

// scopes are the scopes the server offers: metadata's scopes_supported,
// the demo client's, and the bound of dynamically registered ones.
var scopes = []string{"mcp:tools", "mcp:resources"}

// Paths the demo adds to httpapi.DefaultPaths.
const (
	whoamiPath = "/api/whoami"
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
	o, err := demohost.ParseFlags("server", args, stdout)
	if err != nil {
		return err
	}
	wire := func(ctx context.Context, s store.Store, issuer string) (*http.Server, []demohost.Worker, error) {
		return build(ctx, s, o, issuer)
	}
	return demohost.Run(ctx, o, stdout, wire, func(w io.Writer, issuer string) {
		fmt.Fprintf(w, "issuer             %s\n", issuer)
		fmt.Fprintf(w, "metadata           %s%s\n", issuer, httpapi.WellKnownMetadata)
		fmt.Fprintf(w, "authorize          %s%s (client %q, redirect URI %s)\n", issuer,
			httpapi.DefaultPaths.Authorize, demoClientID, demoRedirect)
		fmt.Fprintf(w, "login              %s%s\n", issuer, demohost.LoginPath)
		fmt.Fprintf(w, "connected clients  %s%s\n", issuer, demohost.PagePath)
		fmt.Fprintf(w, "protected API      %s%s\n", issuer, whoamiPath)
	})
}

// build wires grantkit on s (demohost.NewAuthServer, with the demo
// client) and the protected API, and returns the HTTP server and the
// workers to start: the token Verifier's last_used_at writer and the
// sweep.
func build(ctx context.Context, s store.Store, o demohost.Flags, issuer string) (*http.Server, []demohost.Worker, error) {
	resource := issuer + "/api"
	as, err := demohost.NewAuthServer(ctx, demohost.AuthServerConfig{Store: s, Flags: o, Issuer: issuer,
		Resource: resource, Scopes: scopes, Setup: ensureDemoClient})
	if err != nil {
		return nil, nil, err
	}
	pr, err := httpapi.NewProtectedResource(httpapi.ProtectedResourceConfig{Resource: resource,
		AuthorizationServers: []string{issuer}, ScopesSupported: scopes, ResourceName: "grantkit demo API"})
	if err != nil {
		return nil, nil, err
	}
	bearer, err := httpapi.NewBearer(httpapi.BearerConfig{Verifier: as.Verifier,
		ResourceMetadata: pr.MetadataURL(), Logger: as.Logger})
	if err != nil {
		return nil, nil, err
	}

	mux := http.NewServeMux()
	as.Mount(mux)
	mountAPI(mux, pr, bearer)
	srv := &http.Server{
		Handler:           as.LoginFirst(mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(as.Logger.Handler(), slog.LevelWarn),
	}
	return srv, as.Workers, nil
}

// ensureDemoClient registers the demo client unless the store holds it
// already (a second start on a persistent database).
func ensureDemoClient(ctx context.Context, grants *grant.Manager) error {
	_, err := grants.Client(ctx, demoClientID)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	_, _, err = grants.RegisterClient(ctx, grant.ClientMetadata{ID: demoClientID, Name: demoClientName,
		RedirectURIs: []string{demoRedirect},
		GrantTypes:   []string{grant.GrantTypeAuthorizationCode, grant.GrantTypeRefreshToken},
		Scopes:       scopes})
	if err != nil {
		// Another instance on the same database may have won the race.
		if _, again := grants.Client(ctx, demoClientID); again == nil {
			return nil
		}
		return fmt.Errorf("registering the demo client: %w", err)
	}
	return nil
}
