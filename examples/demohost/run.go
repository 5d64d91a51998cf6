package demohost

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/grantkit/grantkit/store"
)

// ShutdownTimeout bounds how long in-flight requests may take to finish
// at shutdown, and then how long each background worker may take to stop.
const ShutdownTimeout = 10 * time.Second

// Flags are the command line both example servers take.
type Flags struct {
	Addr, DB, Schema, Issuer, DevLogin string
	RegistrationLimit                  int
	CIMD                               CIMDFlags
}

// ParseFlags parses the command line args of the program name, writing
// usage to out.
func ParseFlags(name string, args []string, out io.Writer) (Flags, error) {
	var f Flags
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&f.DB, "db", "", `database: "" in-memory SQLite, sqlite:PATH a SQLite file, or a postgres:// DSN`)
	fs.StringVar(&f.Schema, "db-schema", "grantkit", "PostgreSQL schema of grantkit's tables")
	fs.StringVar(&f.Issuer, "issuer", "", `issuer URL (default "http://" + the address listened on)`)
	fs.StringVar(&f.DevLogin, "dev-login", "", "treat a browser without a login as this subject and approve without pages (demos, scripted tests)")
	fs.IntVar(&f.RegistrationLimit, "registration-limit", 20, "dynamic client registrations per remote IP per minute")
	f.CIMD.Register(fs)
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if f.RegistrationLimit < 1 {
		return f, errors.New("-registration-limit must be at least 1")
	}
	return f, nil
}

// Worker is what runs a goroutine between Start and Stop: the token
// Verifier and the sweep Worker.
type Worker interface {
	Start(context.Context) error
	Stop(context.Context) error
}

// Build wires a server on s for issuer (no trailing slash) and returns
// its HTTP server and the workers to start.
type Build func(ctx context.Context, s store.Store, issuer string) (*http.Server, []Worker, error)

// Run is an example server's life. It listens on f.Addr, takes the issuer
// from f.Issuer (default "http://" + the address) and refuses one that is
// not an http(s) URL of a host alone, opens and migrates the store f.DB
// names, builds the server, starts the workers, prints "listening on
// http://HOST:PORT" and then banner's lines to stdout, and serves until
// ctx ends. Then it shuts down gracefully — in-flight requests finish
// (within ShutdownTimeout), the workers stop newest first, the store
// closes — and returns nil.
func Run(ctx context.Context, f Flags, stdout io.Writer, build Build, banner func(w io.Writer, issuer string)) (err error) {
	ln, err := net.Listen("tcp", f.Addr)
	if err != nil {
		return err
	}
	defer ln.Close() // after Shutdown, a no-op
	issuer := f.Issuer
	if issuer == "" {
		issuer = "http://" + ln.Addr().String()
	}
	if err := CheckIssuer(issuer); err != nil {
		return err
	}
	issuer = strings.TrimSuffix(issuer, "/")

	s, closeStore, err := OpenStore(ctx, f.DB, f.Schema)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, closeStore()) }()

	srv, workers, err := build(ctx, s, issuer)
	if err != nil {
		return err
	}
	bg := context.WithoutCancel(ctx) // the workers run until stopped, after ctx ends
	for i, w := range workers {
		if err := w.Start(bg); err != nil {
			return errors.Join(err, StopAll(workers[:i]))
		}
	}

	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	banner(stdout, issuer)
	if f.DevLogin != "" {
		fmt.Fprintf(stdout, "dev login          browsers without a login are %q and approve at once\n", f.DevLogin)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served: // Serve failed before any shutdown
		return errors.Join(err, StopAll(workers))
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, StopAll(workers))
}

// StopAll stops workers, newest first, each within ShutdownTimeout.
func StopAll(workers []Worker) error {
	var errs []error
	for i := len(workers) - 1; i >= 0; i-- {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		errs = append(errs, workers[i].Stop(ctx))
		cancel()
	}
	return errors.Join(errs...)
}

// CheckIssuer refuses an issuer that is not an http(s) URL of a host
// alone (RFC 8414 §2 allows a path, but the examples mount every endpoint
// at the root).
func CheckIssuer(issuer string) error {
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
