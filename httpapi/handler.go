package httpapi

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/grantkit/grantkit/cimd"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/token"
)

// Endpoint names, as logged and as keys of Paths' defaults.
const (
	endpointAuthorize  = "authorize"
	endpointToken      = "token"
	endpointRevoke     = "revocation"
	endpointIntrospect = "introspection"
	endpointRegister   = "registration"
	endpointMetadata   = "metadata"
	endpointJWKS       = "jwks"
	endpointSessions   = "sessions"
	endpointPage       = "connected_clients"
)

// Paths are where Mount puts the endpoints, relative to the issuer; the
// metadata document advertises Issuer + path. Empty fields take the
// defaults of DefaultPaths.
type Paths struct {
	Authorize     string
	Token         string
	Revocation    string
	Introspection string
	Registration  string
	JWKS          string
	Sessions      string
	Page          string
}

// DefaultPaths are the endpoints' default paths.
var DefaultPaths = Paths{
	Authorize:     "/authorize",
	Token:         "/token",
	Revocation:    "/revoke",
	Introspection: "/introspect",
	Registration:  "/register",
	JWKS:          "/jwks.json",
	Sessions:      "/sessions",
	Page:          "/connected-clients",
}

// Config configures a Handler. Grants, Tokens and Minter are required.
type Config struct {
	// Grants is the wiring root: store, clock, logger, observer.
	Grants *grant.Manager
	// Tokens answers the token endpoint's grants.
	Tokens *token.Server
	// Minter signs access tokens; its issuer is the default Issuer, its
	// key set the JWKS, and revocation and introspection verify access
	// tokens with its keys.
	Minter *token.Minter
	// Issuer is the authorization server's issuer identifier (RFC 8414
	// §2): an https URL (http only for a loopback host) without query or
	// fragment. Default: Minter.Issuer(), which it must equal, since it is
	// the iss of the tokens.
	Issuer string
	// Paths of the endpoints; zero fields take DefaultPaths'.
	Paths Paths

	// Authorizer is the host's login and consent (RFC 6749 §4.1.1: how
	// the user is authenticated and asked is the server's own business).
	// Mount puts Authorize and Decision on the mux only when it is set.
	Authorizer Authorizer
	// DecisionPath is where Mount puts Decision, relative to the issuer;
	// default DefaultDecisionPath.
	DecisionPath string
	// AuthorizeErrorPage renders an authorization error that must be shown
	// to the user rather than redirected to the client (RFC 6749
	// §4.1.2.1: an unknown client, an unregistered redirect URI, a
	// request that does not parse, a decision for another user's
	// request). err maps with ErrorCode; its message describes a 4xx
	// refusal and may be shown, a 5xx one's must not be. Default: a
	// plain-text page with the code and description.
	AuthorizeErrorPage func(w http.ResponseWriter, r *http.Request, err error)
	// ClientIDMetadata, when set, resolves client ids that are https URLs
	// (cimd.IsClientIDURL) at the authorization endpoint by fetching their
	// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-
	// document), and the metadata advertises
	// client_id_metadata_document_supported. The clients it stores are
	// dynamic and public; the token endpoint finds them like any other.
	ClientIDMetadata *cimd.Resolver
	// Resources, when set, are the only RFC 8707 resource indicators an
	// authorization request may name (others are invalid_target); when it
	// holds exactly one, a request naming none gets that one.
	Resources []string
	// ScopesSupported, when set, is advertised in the metadata (RFC 8414
	// §2 scopes_supported) and bounds the scopes a dynamically registered
	// client may register (RFC 7591 §2 scope); such a client registering
	// none gets them all.
	ScopesSupported []string
	// RegistrationLimit is the host's rate limit on dynamic client
	// registration, called before anything else — before the method,
	// headers or body are looked at — with the body unread. A non-nil
	// error refuses the request through ErrorCode: ErrRateLimited (or an
	// error wrapping it) answers 429 slow_down, anything else 500. nil:
	// no limit, which an internet-facing server should not run with.
	RegistrationLimit func(*http.Request) error
	// DisableRegistration leaves dynamic client registration unmounted
	// and out of the metadata, for a server whose clients are all
	// registered by the host (grant.Manager.RegisterClient).
	DisableRegistration bool
	// Sessions serves the connected-clients JSON API (Handler.Sessions)
	// and page (Handler.Page) of SPEC §6; nil mounts neither. Its
	// IsMember, IsAdmin and DisplayNames hooks decide what a caller sees.
	Sessions *session.Service
	// Caller authenticates the caller of the sessions API and page from
	// the request (the host's cookie, session or API key): required with
	// Sessions. An error wrapping ErrUnauthenticated, or a Caller with an
	// empty Subject, is answered 401; any other error 500.
	Caller func(r *http.Request) (session.Caller, error)
	// PageTemplate, when set, replaces the connected-clients page's
	// default template (page.html). It is executed with a PageData and
	// must escape what it shows, as html/template does; see PageData for
	// the forms it must contain.
	PageTemplate *template.Template
	// CrossOrigin refuses unsafe cross-origin browser requests to the
	// sessions API (DELETE) and page (POST) before anything else runs.
	// Default: http.NewCrossOriginProtection(), which trusts only the
	// request's own origin; set one with AddTrustedOrigin for a front end
	// served from elsewhere.
	CrossOrigin *http.CrossOriginProtection
}

// Handler serves grantkit's HTTP endpoints. Build it with New; it is safe
// for concurrent use.
type Handler struct {
	cfg    Config
	grants *grant.Manager
	tokens *token.Server
	minter *token.Minter
	log    *slog.Logger
	issuer string
	realm  string
	paths  Paths
}

// New checks cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Grants == nil || cfg.Tokens == nil || cfg.Minter == nil {
		return nil, errors.New("httpapi: Config needs Grants, Tokens and Minter")
	}
	if cfg.Issuer == "" {
		cfg.Issuer = cfg.Minter.Issuer()
	}
	if cfg.Issuer != cfg.Minter.Issuer() {
		return nil, errors.New("httpapi: Issuer differs from the Minter's issuer")
	}
	if cfg.Sessions != nil && cfg.Caller == nil {
		return nil, errors.New("httpapi: Config.Sessions needs a Caller to authenticate its callers")
	}
	if cfg.PageTemplate == nil {
		cfg.PageTemplate = defaultPage
	}
	if cfg.CrossOrigin == nil {
		cfg.CrossOrigin = http.NewCrossOriginProtection()
	}
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		!(u.Scheme == "https" || u.Scheme == "http" && loopbackHost(u.Hostname())) {
		return nil, errors.New("httpapi: Issuer must be an https URL without query or fragment (RFC 8414 §2)")
	}
	h := &Handler{
		cfg: cfg, grants: cfg.Grants, tokens: cfg.Tokens, minter: cfg.Minter,
		log: cfg.Grants.Logger(), issuer: strings.TrimSuffix(cfg.Issuer, "/"), realm: u.Host,
		paths: withDefaults(cfg.Paths),
	}
	for _, p := range []string{h.paths.Sessions, h.paths.Page} {
		if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.ContainsAny(p, "{} \t") {
			return nil, fmt.Errorf("httpapi: path %q must begin with / and neither end with / nor hold a wildcard or space", p)
		}
	}
	if h.paths.Sessions == h.paths.Page {
		return nil, errors.New("httpapi: the sessions API and page need paths of their own")
	}
	return h, nil
}

// loopbackHost reports whether host is a loopback name or address.
func loopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// withDefaults fills p's empty fields from DefaultPaths.
func withDefaults(p Paths) Paths {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&p.Authorize, DefaultPaths.Authorize)
	def(&p.Token, DefaultPaths.Token)
	def(&p.Revocation, DefaultPaths.Revocation)
	def(&p.Introspection, DefaultPaths.Introspection)
	def(&p.Registration, DefaultPaths.Registration)
	def(&p.JWKS, DefaultPaths.JWKS)
	def(&p.Sessions, DefaultPaths.Sessions)
	def(&p.Page, DefaultPaths.Page)
	return p
}

// Mount registers every configured endpoint on mux at its path. Methods
// are checked by the handlers themselves, so that a wrong one gets this
// package's JSON error (and no-store headers) rather than the mux's text.
func (h *Handler) Mount(mux *http.ServeMux) {
	mux.Handle(h.paths.Token, h.Token())
	mux.Handle(h.paths.Revocation, h.Revocation())
	mux.Handle(h.paths.Introspection, h.Introspection())
	if !h.cfg.DisableRegistration {
		mux.Handle(h.paths.Registration, h.Registration())
	}
	mux.Handle(h.MetadataPath(), h.Metadata())
	mux.Handle(h.paths.JWKS, h.JWKS())
	if h.cfg.Authorizer != nil {
		mux.Handle(h.paths.Authorize, h.Authorize())
		mux.Handle(h.decisionPath(), h.Decision())
	}
	if h.cfg.Sessions != nil {
		sessions := h.Sessions()
		mux.Handle(h.paths.Sessions, sessions)
		mux.Handle(h.paths.Sessions+"/", sessions)
		mux.Handle(h.paths.Page, h.Page())
	}
}
