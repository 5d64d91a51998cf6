package demohost

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/sweep"
	"github.com/grantkit/grantkit/token"
)

// AuthServer is grantkit wired as both examples' authorization server: a
// Manager on the store, a fresh EdDSA key, the token Server, a Verifier
// for one resource, the connected-clients sessions, the sweep, and the
// httpapi Handler with the demo login and consent, open dynamic
// registration (rate-limited per IP) and Client ID Metadata Documents.
type AuthServer struct {
	Logger     *slog.Logger
	Grants     *grant.Manager
	Minter     *token.Minter
	Verifier   *token.Verifier // for Resource
	Handler    *httpapi.Handler
	Authorizer *Authorizer
	// Workers are the Verifier's last_used_at writer and the sweep, to
	// start (Run starts and stops them).
	Workers []Worker
}

// AuthServerConfig configures NewAuthServer.
type AuthServerConfig struct {
	Store  store.Store
	Flags  Flags
	Issuer string // without a trailing slash
	// Resource is the protected resource (RFC 8707) the Verifier serves
	// and the only one clients may ask for.
	Resource string
	// Scopes are metadata's scopes_supported and the most a dynamic client
	// may register.
	Scopes []string
	// Setup, if set, runs on the Manager before anything else: the server
	// example registers its demo client there.
	Setup func(context.Context, *grant.Manager) error
}

// NewAuthServer wires the authorization server cfg describes.
func NewAuthServer(ctx context.Context, cfg AuthServerConfig) (*AuthServer, error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	grants, err := grant.New(grant.Config{Store: cfg.Store, Logger: logger})
	if err != nil {
		return nil, err
	}
	if cfg.Setup != nil {
		if err := cfg.Setup(ctx, grants); err != nil {
			return nil, err
		}
	}
	key, err := token.GenerateKey(token.EdDSA)
	if err != nil {
		return nil, err
	}
	keys, err := token.NewKeySet(key)
	if err != nil {
		return nil, err
	}
	minter, err := token.NewMinter(token.MinterConfig{Issuer: cfg.Issuer, Keys: keys})
	if err != nil {
		return nil, err
	}
	tokens, err := token.NewServer(grants, token.ServerConfig{Minter: minter})
	if err != nil {
		return nil, err
	}
	verifier, err := token.NewVerifier(grants, minter.VerifierConfig(cfg.Resource))
	if err != nil {
		return nil, err
	}
	sessions, err := session.New(grants, session.Config{})
	if err != nil {
		return nil, err
	}
	sweeper, err := sweep.New(grants, sweep.Config{})
	if err != nil {
		return nil, err
	}
	// MCP clients may use the URL of their Client ID Metadata Document as
	// their client id; the resolver fetches only from public addresses
	// (and those -cimd-allow adds), follows no redirect and bounds size,
	// time, cache and concurrent fetches.
	clientIDs, err := cfg.Flags.CIMD.Resolver(grants, cfg.Scopes)
	if err != nil {
		return nil, err
	}

	auth := &Authorizer{Logins: NewLogins(strings.HasPrefix(cfg.Issuer, "https:")), DevSubject: cfg.Flags.DevLogin}
	paths := httpapi.DefaultPaths
	paths.Sessions, paths.Page = SessionsPath, PagePath
	h, err := httpapi.New(httpapi.Config{
		Grants: grants, Tokens: tokens, Minter: minter, Issuer: cfg.Issuer, Paths: paths,
		Authorizer: auth, Resources: []string{cfg.Resource}, ScopesSupported: cfg.Scopes,
		ClientIDMetadata:  clientIDs,
		RegistrationLimit: NewRateLimit(cfg.Flags.RegistrationLimit, time.Minute).Allow,
		Sessions:          sessions, Caller: auth.Caller,
	})
	if err != nil {
		return nil, err
	}
	auth.Handler = h
	return &AuthServer{Logger: logger, Grants: grants, Minter: minter, Verifier: verifier, Handler: h,
		Authorizer: auth, Workers: []Worker{verifier, sweeper}}, nil
}

// Mount mounts the authorization server's endpoints and the login page
// on mux.
func (a *AuthServer) Mount(mux *http.ServeMux) {
	a.Handler.Mount(mux)
	mux.Handle(LoginPath, a.Authorizer.Logins.Handler())
}

// LoginFirst sends a browser that opens the connected-clients page
// without a login to the login page, which brings it back.
func (a *AuthServer) LoginFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PagePath && r.Method == http.MethodGet {
			if u, _ := a.Authorizer.User(r); u == "" {
				http.Redirect(w, r, LoginPath+"?next="+url.QueryEscape(PagePath), http.StatusFound)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
