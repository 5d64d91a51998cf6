package httpapi

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/grantkit/grantkit/cimd"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// AuthorizeRequest is an authorization request (RFC 6749 §4.1.1) that
// ParseAuthorize validated against its client's registration: what the host
// shows on its login and consent pages. Who the user is comes from the
// host's Authorizer.
type AuthorizeRequest struct {
	// Client is the registered client that asks.
	Client ClientInfo
	// RedirectURI is the redirect_uri as the request gave it: one of the
	// client's, or a registered loopback IP-literal URI on another port
	// (RFC 8252 §7.3).
	RedirectURI string
	// Scopes are the requested scope values (RFC 6749 §3.3), each
	// registered for the client; none when the request names none.
	Scopes []string
	// State is the client's opaque value, returned with the answer.
	State string
	// CodeChallenge is the S256 PKCE challenge (RFC 7636 §4.3);
	// CodeChallengeMethod is always grant.CodeChallengeS256.
	CodeChallenge       string
	CodeChallengeMethod string
	// Resource is the RFC 8707 resource indicator; "" when the request
	// names none and Config.Resources does not supply one.
	Resource string
}

// ClientInfo is what a consent page may show about a client.
type ClientInfo struct {
	ID   string
	Name string
	// NameVerified is false for a client that registered itself (RFC 7591
	// §5): its name is self-reported and must be shown as unverified.
	NameVerified bool
}

// clientInfo describes c for the host's pages.
func clientInfo(c store.Client) ClientInfo {
	return ClientInfo{ID: c.ID, Name: c.Name, NameVerified: !c.Dynamic}
}

// RedirectError is an authorization error to be sent to the client at its
// redirect URI (RFC 6749 §4.1.2.1, with iss per RFC 9207 §2): the request
// named a known client and one of its registered redirect URIs, so that URI
// is trusted. Every other error of ParseAuthorize — an unknown client, a
// missing, unregistered or ambiguous redirect_uri, a request that does not
// parse — must be shown to the user and never redirected; Handler.Authorize
// does both.
type RedirectError struct {
	// Err is the refusal; ErrorCode maps it to the error code.
	Err error
	// RedirectURI is where to send it (the request's redirect_uri).
	RedirectURI string
	// State is the request's state, echoed back; "" when the request had
	// none or its state was itself refused.
	State string
}

func (e *RedirectError) Error() string { return e.Err.Error() }
func (e *RedirectError) Unwrap() error { return e.Err }

// Errors of the authorization endpoint that grantkit.ErrorCode maps
// through the sentinel they wrap.
var (
	// ErrUnknownClient reports an authorization request whose client_id
	// names no live client (RFC 6749 §4.1.2.1: shown to the user, never
	// redirected).
	ErrUnknownClient = fmt.Errorf("%w: unknown client", grant.ErrInvalidClient)
	// ErrUntrustedRedirectURI reports an authorization request whose
	// redirect_uri is missing, given twice or not registered for the
	// client (RFC 6749 §3.1.2.3, §4.1.2.1: shown to the user, never
	// redirected).
	ErrUntrustedRedirectURI = fmt.Errorf("%w: missing, repeated or not registered for this client",
		grant.ErrInvalidRedirectURI)
)

// ParseAuthorize reads and validates an authorization request (RFC 6749
// §4.1.1): the query of a GET, or the form body of a POST (RFC 6749 §3.1,
// application/x-www-form-urlencoded, at most MaxBodyBytes). Empty values
// count as absent (§3.1).
//
// It first establishes the client and its redirect URI: a request that
// does not parse (a bad percent-escape, a NUL byte, invalid UTF-8), a
// client_id or redirect_uri that is missing or given twice, an unknown
// client (ErrUnknownClient) or a redirect_uri not registered for it
// (ErrUntrustedRedirectURI, by grant.CheckRequest's rule: exact string
// match, loopback IP literals on any port) is an error to show to the user.
// From then on every refusal is a *RedirectError for the client's redirect
// URI: another parameter given twice (invalid_request), a missing
// response_type (invalid_request) or one other than code
// (ErrUnsupportedResponseType), a missing code_challenge or a
// code_challenge_method other than S256 (invalid_request, RFC 7636 §4.4.1),
// a state longer than grant.MaxStateLength (invalid_request, the state not
// echoed), a scope that is not space-delimited scope-tokens or not
// registered for the client (invalid_scope, RFC 6749 §3.3), a resource that
// is not one absolute URI without fragment (invalid_target, RFC 8707 §2),
// a client not registered for the code flow (unauthorized_client), and the
// rest of grant.CheckRequest. A store failure reading the client is
// returned as is (server_error, shown to the user).
//
// When Config.ClientIDMetadata is set, a client_id that is a client
// identifier URL (cimd.IsClientIDURL) is resolved through it first, which
// may fetch the client's metadata document and store or update the client
// (draft-ietf-oauth-client-id-metadata-document); a document that cannot
// be fetched or is refused is an error wrapping a cimd sentinel
// (invalid_client, or temporarily_unavailable for cimd.ErrBusy; shown to
// the user: no redirect URI is trusted yet).
// Otherwise it touches no state.
func (h *Handler) ParseAuthorize(r *http.Request) (AuthorizeRequest, error) {
	req, _, err := h.parseAuthorize(r)
	return req, err
}

// parseAuthorize is ParseAuthorize, also returning the client.
func (h *Handler) parseAuthorize(r *http.Request) (AuthorizeRequest, store.Client, error) {
	var raw string
	switch r.Method {
	case http.MethodGet:
		raw = r.URL.RawQuery
	case http.MethodPost:
		if !formContentType(r) {
			return AuthorizeRequest{}, store.Client{}, ErrContentType
		}
		body, err := readBody(nil, r)
		if err != nil {
			return AuthorizeRequest{}, store.Client{}, err
		}
		raw = string(body)
	default:
		return AuthorizeRequest{}, store.Client{}, ErrMethodNotAllowed
	}
	p, err := parseAuthorizeParams(raw)
	if err != nil {
		return AuthorizeRequest{}, store.Client{}, err
	}
	if len(p.clientID) > grant.MaxIdentifierLength {
		return AuthorizeRequest{}, store.Client{}, ErrUnknownClient
	}
	var c store.Client
	if h.cfg.ClientIDMetadata != nil && cimd.IsClientIDURL(p.clientID) {
		c, err = h.cfg.ClientIDMetadata.Client(r.Context(), p.clientID)
		if err != nil {
			return AuthorizeRequest{}, store.Client{}, fmt.Errorf("httpapi: resolving the client id metadata document: %w", err)
		}
	} else {
		c, err = h.grants.Client(r.Context(), p.clientID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return AuthorizeRequest{}, store.Client{}, ErrUnknownClient
		case err != nil:
			return AuthorizeRequest{}, store.Client{}, fmt.Errorf("httpapi: reading client: %w", err)
		}
	}
	req, err := checkAuthorize(p, c, h.cfg.Resources)
	return req, c, err
}

// formContentType reports whether r's body is declared
// application/x-www-form-urlencoded.
func formContentType(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// authorizeParams are an authorization request's parameters once its
// client_id and redirect_uri are known to be single: the other
// parameters' problems are reported later, at the redirect URI.
type authorizeParams struct {
	clientID, redirectURI string
	// values holds every other parameter as given, empty values dropped.
	values url.Values
	// malformed names a parameter that held a NUL byte or invalid UTF-8
	// (when it is client_id or redirect_uri, parsing fails instead).
	malformed string
}

// parseAuthorizeParams parses an authorization request's query or form
// text (see ParseAuthorize): a text that does not parse, or a client_id or
// redirect_uri that is missing, repeated or not clean text, is an error to
// show to the user; the other parameters are kept for checkAuthorize.
func parseAuthorizeParams(raw string) (authorizeParams, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return authorizeParams{}, ErrMalformedBody
	}
	var p authorizeParams
	for k, vals := range v {
		// An empty value is an omitted one (RFC 6749 §3.1), but a name
		// given twice is a duplicate whatever its values: counted before
		// the empty one is dropped, as internal/form does.
		if len(vals) == 1 && vals[0] == "" {
			delete(v, k)
			continue
		}
		kept := vals
		if !clean(k) {
			return authorizeParams{}, ErrMalformedBody
		}
		for _, s := range kept {
			if !clean(s) && p.malformed == "" {
				p.malformed = k
			}
		}
	}
	one := func(name string) (string, error) {
		vals := v[name]
		switch {
		case len(vals) == 0:
			return "", missing(name)
		case len(vals) > 1:
			return "", &paramError{err: ErrDuplicateParameter, name: name}
		case !clean(vals[0]):
			return "", &paramError{err: ErrMalformedBody, name: name}
		}
		delete(v, name)
		return vals[0], nil
	}
	if p.clientID, err = one("client_id"); err != nil {
		return authorizeParams{}, err
	}
	if p.redirectURI, err = one("redirect_uri"); err != nil {
		return authorizeParams{}, fmt.Errorf("%w: %w", ErrUntrustedRedirectURI, err)
	}
	p.values = v
	return p, nil
}

// probeChallenge is a well-formed S256 challenge, used to ask
// grant.CheckRequest about a redirect URI alone.
const probeChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

// probeSubject stands for the user, not known before login, when
// grant.CheckRequest validates a parsed request.
const probeSubject = "httpapi:not-yet-authenticated"

// trustedRedirect reports whether uri is one of c's redirect URIs by the
// grant package's own rule (grant.CheckRequest: exact string match, a
// registered loopback IP literal on any port), whatever else c registers.
func trustedRedirect(c store.Client, uri string) bool {
	probe := store.Client{GrantTypes: []string{grant.GrantTypeAuthorizationCode},
		ResponseTypes: []string{grant.ResponseTypeCode}, RedirectURIs: c.RedirectURIs}
	return grant.CheckRequest(probe, grant.AuthorizationRequest{RedirectURI: uri,
		CodeChallenge: probeChallenge, CodeChallengeMethod: grant.CodeChallengeS256, Subject: probeSubject}) == nil
}

// checkAuthorize validates p against client c (see ParseAuthorize);
// resources is Config.Resources.
func checkAuthorize(p authorizeParams, c store.Client, resources []string) (AuthorizeRequest, error) {
	if !trustedRedirect(c, p.redirectURI) {
		return AuthorizeRequest{}, ErrUntrustedRedirectURI
	}
	v := p.values
	state := v.Get("state")
	if len(v["state"]) != 1 || len(state) > grant.MaxStateLength || !clean(state) {
		state = ""
	}
	refuse := func(err error) (AuthorizeRequest, error) {
		return AuthorizeRequest{}, &RedirectError{Err: err, RedirectURI: p.redirectURI, State: state}
	}
	if p.malformed != "" {
		return refuse(&paramError{err: ErrMalformedBody, name: p.malformed})
	}
	for _, name := range sortedKeys(v) {
		if len(v[name]) > 1 && name != "resource" {
			return refuse(&paramError{err: ErrDuplicateParameter, name: name})
		}
	}
	switch rt := v.Get("response_type"); {
	case rt == "":
		return refuse(missing("response_type"))
	case rt != grant.ResponseTypeCode:
		return refuse(ErrUnsupportedResponseType)
	}
	if len(v.Get("state")) > grant.MaxStateLength {
		return refuse(fmt.Errorf("%w: state is longer than %d bytes", grant.ErrInvalidRequest, grant.MaxStateLength))
	}
	if v.Get("code_challenge") == "" {
		return refuse(fmt.Errorf("%w: code_challenge is required (PKCE, RFC 7636)", ErrMissingParameter))
	}
	if v.Get("code_challenge_method") != grant.CodeChallengeS256 {
		return refuse(fmt.Errorf("%w: code_challenge_method must be S256", grant.ErrInvalidRequest))
	}
	scopes, err := parseScope(v.Get("scope"))
	if err != nil {
		return refuse(err)
	}
	resource, err := checkResource(v["resource"], resources)
	if err != nil {
		return refuse(err)
	}
	req := AuthorizeRequest{
		Client: clientInfo(c), RedirectURI: p.redirectURI, Scopes: scopes, State: state,
		CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: grant.CodeChallengeS256, Resource: resource,
	}
	if err := grant.CheckRequest(c, req.grantRequest(Login{Subject: probeSubject})); err != nil {
		return refuse(err)
	}
	return req, nil
}

// sortedKeys returns v's names in order, so the first refusal reported
// does not depend on map order.
func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parseScope splits a scope parameter into its scope-tokens (RFC 6749
// §3.3: separated by single spaces, each of %x21 / %x23-5B / %x5D-7E);
// anything else is grant.ErrInvalidScope. Duplicates are kept for
// grant.CheckRequest's limit.
func parseScope(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	scopes := strings.Split(s, " ")
	for _, sc := range scopes {
		if !scopeToken(sc) {
			return nil, fmt.Errorf("%w: scope must be scope-tokens separated by single spaces", grant.ErrInvalidScope)
		}
	}
	return scopes, nil
}

// checkResource validates the resource parameters of a request (RFC 8707
// §2): at most one (a grant is bound to one resource), an absolute URI
// without fragment of at most grant.MaxResourceLength bytes, and, when
// allowed (Config.Resources) is set, one of those exactly — or, when the
// request names none and allowed holds exactly one, that one. Refusals are
// token.ErrInvalidTarget.
func checkResource(given, allowed []string) (string, error) {
	switch {
	case len(given) > 1:
		return "", fmt.Errorf("%w: one resource per authorization request", token.ErrInvalidTarget)
	case len(given) == 0 && len(allowed) == 1:
		return allowed[0], nil
	case len(given) == 0:
		return "", nil
	}
	res := given[0]
	u, err := url.Parse(res)
	switch {
	case len(res) > grant.MaxResourceLength:
		return "", fmt.Errorf("%w: resource is longer than %d bytes", token.ErrInvalidTarget, grant.MaxResourceLength)
	case err != nil || !u.IsAbs() || strings.Contains(res, "#"):
		return "", fmt.Errorf("%w: resource must be an absolute URI without fragment", token.ErrInvalidTarget)
	case len(allowed) > 0 && !slices.Contains(allowed, res):
		return "", fmt.Errorf("%w: unknown resource", token.ErrInvalidTarget)
	}
	return res, nil
}

// grantRequest is req as the grant package starts it for the user login.
func (req AuthorizeRequest) grantRequest(login Login) grant.AuthorizationRequest {
	return grant.AuthorizationRequest{
		ClientID: req.Client.ID, RedirectURI: req.RedirectURI, Scopes: req.Scopes, State: req.State,
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: req.CodeChallengeMethod, Resource: req.Resource,
		Subject: login.Subject, SubjectKind: login.SubjectKind, Tenant: login.Tenant, Context: login.Context,
		ConfigVersion: login.ConfigVersion,
	}
}
