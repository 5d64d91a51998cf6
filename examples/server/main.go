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
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
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

	s, closeStore, err := demohost.OpenStore(ctx, o.db, o.schema)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()

	srv, workers, err := build(ctx, s, o, issuer)
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
	fmt.Fprintf(stdout, "metadata           %s%s\n", issuer, httpapi.WellKnownMetadata)
	fmt.Fprintf(stdout, "authorize          %s%s (client %q, redirect URI %s)\n", issuer,
		httpapi.DefaultPaths.Authorize, demoClientID, demoRedirect)
	fmt.Fprintf(stdout, "login              %s%s\n", issuer, demohost.LoginPath)
	fmt.Fprintf(stdout, "connected clients  %s%s\n", issuer, demohost.PagePath)
	fmt.Fprintf(stdout, "protected API      %s%s\n", issuer, whoamiPath)
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

// build wires grantkit on s and returns the HTTP server and the workers
// to start: the token Verifier's last_used_at writer and the sweep.
func build(ctx context.Context, s store.Store, o options, issuer string) (*http.Server, []worker, error) {
	issuer = strings.TrimSuffix(issuer, "/")
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	grants, err := grant.New(grant.Config{Store: s, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	if err := ensureDemoClient(ctx, grants); err != nil {
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
	resource := issuer + "/api"
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
	// MCP clients may use the URL of their Client ID Metadata Document as
	// their client id; the resolver fetches only from public addresses
	// (and those -cimd-allow adds), follows no redirect and bounds size,
	// time and cache.
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
	pr, err := httpapi.NewProtectedResource(httpapi.ProtectedResourceConfig{Resource: resource,
		AuthorizationServers: []string{issuer}, ScopesSupported: scopes, ResourceName: "grantkit demo API"})
	if err != nil {
		return nil, nil, err
	}
	bearer, err := httpapi.NewBearer(httpapi.BearerConfig{Verifier: verifier,
		ResourceMetadata: pr.MetadataURL(), Logger: logger})
	if err != nil {
		return nil, nil, err
	}

	mux := http.NewServeMux()
	h.Mount(mux)
	mountAPI(mux, pr, bearer)
	mux.Handle(demohost.LoginPath, auth.Logins.Handler())
	srv := &http.Server{
		Handler:           loginFirst(auth, mux),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
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
