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
	"net"
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

// shutdownTimeout bounds how long in-flight requests may take to finish
// at shutdown, and then how long the background workers may take to stop.
const shutdownTimeout = 10 * time.Second

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

// options are the command line's flags.
type options struct {
	addr, db, schema, issuer, devLogin string
	registrationLimit                  int
	cimd                               demohost.CIMDFlags
}

func parseFlags(args []string, out io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&o.db, "db", "", `database: "" in-memory SQLite, sqlite:PATH a SQLite file, or a postgres:// DSN`)
	fs.StringVar(&o.schema, "db-schema", "grantkit", "PostgreSQL schema of grantkit's tables")
	fs.StringVar(&o.issuer, "issuer", "", `issuer URL (default "http://" + the address listened on)`)
	fs.StringVar(&o.devLogin, "dev-login", "", "treat a browser without a login as this subject and approve without pages (demos, scripted tests)")
	fs.IntVar(&o.registrationLimit, "registration-limit", 20, "dynamic client registrations per remote IP per minute")
	o.cimd.Register(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if o.registrationLimit < 1 {
		return o, errors.New("-registration-limit must be at least 1")
	}
	return o, nil
}

// run is the server: it listens on -addr, prints "listening on
// http://HOST:PORT" and the other URLs to stdout, serves until ctx ends,
// then shuts down gracefully — in-flight requests finish, the verifier's
// writer and the sweep worker stop, the store closes — and returns nil.
func run(ctx context.Context, args []string, stdout io.Writer) (err error) {
	o, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	defer ln.Close() // after Shutdown, a no-op
	issuer := o.issuer
	if issuer == "" {
		issuer = "http://" + ln.Addr().String()
	}
	if err := checkIssuer(issuer); err != nil {
		return err
	}
	issuer = strings.TrimSuffix(issuer, "/")

	s, closeStore, err := demohost.OpenStore(ctx, o.db, o.schema)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()

	srv, workers, err := build(s, o, issuer)
	if err != nil {
		return err
	}
	bg := context.WithoutCancel(ctx) // the workers run until stopped, after ctx ends
	for i, w := range workers {
		if err := w.Start(bg); err != nil {
			return errors.Join(err, stopAll(workers[:i]))
		}
	}

	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stdout, "issuer             %s\n", issuer)
	fmt.Fprintf(stdout, "MCP endpoint       %s%s\n", issuer, mcpPath)
	fmt.Fprintf(stdout, "resource metadata  %s%s%s\n", issuer, httpapi.WellKnownProtectedResource, mcpPath)
	fmt.Fprintf(stdout, "connected clients  %s%s\n", issuer, demohost.PagePath)
	if o.devLogin != "" {
		fmt.Fprintf(stdout, "dev login          browsers without a login are %q and approve at once\n", o.devLogin)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served: // Serve failed before any shutdown
		return errors.Join(err, stopAll(workers))
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, stopAll(workers))
}

// worker is what runs a goroutine between Start and Stop: the token
// Verifier and the sweep Worker.
type worker interface {
	Start(context.Context) error
	Stop(context.Context) error
}

// stopAll stops workers, newest first, each within shutdownTimeout.
func stopAll(workers []worker) error {
	var errs []error
	for i := len(workers) - 1; i >= 0; i-- {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		errs = append(errs, workers[i].Stop(ctx))
		cancel()
	}
	return errors.Join(errs...)
}

// checkIssuer refuses an issuer that is not an http(s) URL of a host
// alone: the endpoints are mounted at the root.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("-issuer: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("-issuer %q: want http(s)://HOST[:PORT] without a path", issuer)
	}
	return nil
}

// build wires grantkit and the MCP server on s and returns the HTTP server
// and the workers to start: the token Verifier's last_used_at writer and
// the sweep.
func build(s store.Store, o options, issuer string) (*http.Server, []worker, error) {
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

	auth := &demohost.Authorizer{Logins: demohost.NewLogins(strings.HasPrefix(issuer, "https:")), DevSubject: o.devLogin}
	paths := httpapi.DefaultPaths
	paths.Sessions, paths.Page = demohost.SessionsPath, demohost.PagePath
	// The MCP authorization specification prefers Client ID Metadata
	// Documents to dynamic registration: a client id that is an https URL
	// is resolved by fetching it, from public addresses only unless
	// -cimd-allow adds some.
	clientIDs, err := o.cimd.Resolver(grants, scopes)
	if err != nil {
		return nil, nil, err
	}
	h, err := httpapi.New(httpapi.Config{
		Grants: grants, Tokens: tokens, Minter: minter, Issuer: issuer, Paths: paths,
		Authorizer: auth, Resources: []string{resource}, ScopesSupported: scopes, ClientIDMetadata: clientIDs,
		RegistrationLimit: demohost.NewRateLimit(o.registrationLimit, time.Minute).Allow,
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
	return srv, []worker{verifier, sweeper}, nil
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
