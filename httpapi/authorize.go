package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
)

// endpointDecision names the consent decision endpoint in logs.
const endpointDecision = "decision"

// DefaultDecisionPath is where Mount puts Decision unless
// Config.DecisionPath says otherwise.
const DefaultDecisionPath = "/authorize/decision"

// The form fields a consent page posts to Decision.
const (
	// DecisionRequestField holds Pending.ID.
	DecisionRequestField = "request_id"
	// DecisionField holds DecisionApprove or DecisionDeny.
	DecisionField   = "decision"
	DecisionApprove = "approve"
	DecisionDeny    = "deny"
)

// DenyReason is the reason of the authorization.denied audit event Deny
// writes.
const DenyReason = "user_denied"

// Authorizer is the host's part of an authorization (RFC 6749 §4.1.1):
// who the user is, and asking them. Its methods are called on the
// request's goroutine and may write the response.
type Authorizer interface {
	// Authenticate says who the user behind r is, for the validated
	// request req (at Decision: the pending request being decided). It
	// returns ok false once it has answered r itself, e.g. with a
	// redirect to the host's login page that comes back to the same
	// authorization URL; an error is a server_error. The Login's Subject
	// must not be empty.
	Authenticate(w http.ResponseWriter, r *http.Request, req AuthorizeRequest) (login Login, ok bool, err error)
	// Consent answers r with the consent page for p, which posts
	// DecisionRequestField = p.ID and DecisionField = DecisionApprove or
	// DecisionDeny to p.DecisionURL (form-encoded, same origin). A host
	// that needs no page (a first-party client, or p.Reused) may call
	// Handler.Approve instead.
	Consent(w http.ResponseWriter, r *http.Request, p Pending)
}

// Login is what the host's login established: the subject the grant is
// for and what it is bound to (see grant.AuthorizationRequest).
type Login struct {
	Subject     string
	SubjectKind string
	Tenant      string
	// Context is opaque JSON bound to the grant (at most
	// grant.MaxContextBytes).
	Context       json.RawMessage
	ConfigVersion int64
}

// Pending is a started authorization waiting for the user's decision.
type Pending struct {
	// ID is the authorization request's id, posted back to Decision.
	ID string
	// Request is what the client asked for.
	Request AuthorizeRequest
	// Login is the user asked.
	Login Login
	// Reused is true when the user's active grant with the same scopes,
	// context and config version will be reused: the user consented
	// before.
	Reused bool
	// DecisionURL is where the consent form posts (Config.DecisionPath
	// under the issuer).
	DecisionURL string
	// RedirectHost is where the answer goes, for the page to show: the
	// host (and port) of Request.RedirectURI, or its scheme followed by
	// ':' for a private-use URI (RFC 8252 §7.1), as the connected-clients
	// page shows it.
	RedirectHost string
	// LocalhostOnly is true when every redirect URI of the client is an
	// http URI of a loopback host (localhost, 127.0.0.1, [::1]): the
	// code goes to whatever listens on the user's machine, so a page
	// should warn, all the more for a client whose name is self-reported
	// (a Client ID Metadata Document anyone may publish can claim any
	// name).
	LocalhostOnly bool
}

// localhostOnly reports whether every one of uris is an http URI of a
// loopback host (none: false).
func localhostOnly(uris []string) bool {
	for _, raw := range uris {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || !loopbackHost(u.Hostname()) {
			return false
		}
	}
	return len(uris) > 0
}

// Errors of the authorize and decision endpoints, shown to the user.
var (
	// ErrNotRequestOwner reports a decision on an authorization request
	// started for another user (HTTP 403).
	ErrNotRequestOwner = errors.New("httpapi: the authorization request belongs to another user")
	// ErrAccessDenied is the user's refusal as the client learns it (RFC
	// 6749 §4.1.2.1 access_denied).
	ErrAccessDenied = errors.New("httpapi: the user denied the request")
	// errNoAuthorizer is a host misconfiguration: server_error.
	errNoAuthorizer = errors.New("httpapi: Config.Authorizer is not set")
)

// decisionPath is the path of Decision.
func (h *Handler) decisionPath() string {
	if h.cfg.DecisionPath != "" {
		return h.cfg.DecisionPath
	}
	return DefaultDecisionPath
}

// Authorize returns the authorization endpoint (RFC 6749 §3.1, §4.1.1):
// ParseAuthorize, then the Authorizer's Authenticate, then
// grant.Manager.Start, then the Authorizer's Consent with the pending
// authorization. Errors before the redirect URI is trusted are rendered for
// the user (Config.AuthorizeErrorPage); later ones — including a failure to
// authenticate the user or to start (server_error, RFC 6749 §4.1.2.1) — are
// redirected to the client with error, error_description, state and iss
// (RFC 9207 §2). Every response carries Cache-Control: no-store.
func (h *Handler) Authorize() http.Handler {
	return h.noStore(endpointAuthorize, func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.Authorizer == nil {
			h.showError(w, r, endpointAuthorize, errNoAuthorizer)
			return
		}
		req, client, err := h.parseAuthorize(r)
		if err != nil {
			h.authorizeError(w, r, endpointAuthorize, err)
			return
		}
		login, ok, err := h.cfg.Authorizer.Authenticate(w, r, req)
		if err != nil {
			h.authorizeError(w, r, endpointAuthorize, req.refuse(fmt.Errorf("httpapi: authenticating the user: %w", err)))
			return
		}
		if !ok {
			return
		}
		a, err := h.grants.Start(r.Context(), req.grantRequest(login))
		switch {
		case errors.Is(err, grant.ErrInvalidClient) || errors.Is(err, grant.ErrInvalidRedirectURI):
			// The client was deleted or changed since ParseAuthorize: its
			// redirect URI is no longer trusted.
			h.showError(w, r, endpointAuthorize, err)
			return
		case err != nil:
			h.authorizeError(w, r, endpointAuthorize, req.refuse(err))
			return
		}
		h.cfg.Authorizer.Consent(w, r, Pending{ID: a.Request.ID, Request: req, Login: login, Reused: a.Reused,
			DecisionURL: h.issuer + h.decisionPath(), RedirectHost: redirectHost(req.RedirectURI),
			LocalhostOnly: localhostOnly(client.RedirectURIs)})
	})
}

// refuse is err to be redirected to req's client.
func (req AuthorizeRequest) refuse(err error) error {
	return &RedirectError{Err: err, RedirectURI: req.RedirectURI, State: req.State}
}

// Decision returns the consent decision endpoint: a POST of the consent
// page's form (DecisionRequestField, DecisionField), refused from another
// origin (Config.CrossOrigin, as for the sessions API and page:
// Sec-Fetch-Site, else Origin against Host). It reads the pending request, authenticates the user again with
// the Authorizer, and runs Approve or Deny, which check that the request
// is that user's. A missing or unknown request, a bad decision value or a
// cross-origin post is shown to the user, never redirected.
func (h *Handler) Decision() http.Handler {
	cop := h.cfg.CrossOrigin
	return h.noStore(endpointDecision, func(w http.ResponseWriter, r *http.Request) {
		if h.cfg.Authorizer == nil {
			h.showError(w, r, endpointDecision, errNoAuthorizer)
			return
		}
		if err := cop.Check(r); err != nil {
			h.showError(w, r, endpointDecision, fmt.Errorf("%w: %v", ErrCrossOrigin, err))
			return
		}
		form, err := readForm(w, r)
		if err != nil {
			h.showError(w, r, endpointDecision, err)
			return
		}
		id, decision := form.Get(DecisionRequestField), form.Get(DecisionField)
		switch {
		case id == "":
			h.showError(w, r, endpointDecision, missing(DecisionRequestField))
			return
		case decision != DecisionApprove && decision != DecisionDeny:
			h.showError(w, r, endpointDecision, fmt.Errorf("%w: %s must be %s or %s", grant.ErrInvalidRequest,
				DecisionField, DecisionApprove, DecisionDeny))
			return
		}
		req, err := h.pendingRequest(r.Context(), id)
		if err != nil {
			h.showError(w, r, endpointDecision, err)
			return
		}
		login, ok, err := h.cfg.Authorizer.Authenticate(w, r, req)
		if err != nil {
			h.showError(w, r, endpointDecision, fmt.Errorf("httpapi: authenticating the user: %w", err))
			return
		}
		if !ok {
			return
		}
		if decision == DecisionApprove {
			h.Approve(w, r, id, login)
		} else {
			h.Deny(w, r, id, login)
		}
	})
}

// errUnknownRequest reports a request id that names no authorization
// request (404, shown to the user).
var errUnknownRequest = fmt.Errorf("%w: no such authorization request", store.ErrNotFound)

// requestID refuses an id that cannot name an authorization request (ids
// are canonical UUIDs; PostgreSQL would fail on anything else).
func requestID(id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return errUnknownRequest
	}
	return nil
}

// pendingRequest reads authorization request id as the AuthorizeRequest
// the user is deciding.
func (h *Handler) pendingRequest(ctx context.Context, id string) (AuthorizeRequest, error) {
	if err := requestID(id); err != nil {
		return AuthorizeRequest{}, err
	}
	s := h.grants.Store()
	ar, err := s.GetAuthRequest(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return AuthorizeRequest{}, errUnknownRequest
	}
	if err != nil {
		return AuthorizeRequest{}, fmt.Errorf("httpapi: reading authorization request: %w", err)
	}
	c, err := s.GetClient(ctx, ar.ClientID)
	if err != nil {
		return AuthorizeRequest{}, fmt.Errorf("httpapi: reading client: %w", err)
	}
	return AuthorizeRequest{Client: clientInfo(c), RedirectURI: ar.RedirectURI, Scopes: ar.Scopes, State: ar.State,
		CodeChallenge: ar.CodeChallenge, CodeChallengeMethod: ar.CodeChallengeMethod, Resource: ar.Resource}, nil
}

// Approve approves authorization request requestID for login's user (RFC
// 6749 §4.1.2) and answers with the redirect carrying code, state and iss
// (RFC 9207 §2). In one transaction it checks that the request was started
// for that subject and subject kind (ErrNotRequestOwner otherwise) and
// runs grant.Manager.ApproveTx: the grant is activated and the code issued
// atomically, and the code is sent only after the commit. An unknown,
// foreign or already decided request, or one whose client was deleted or
// no longer registers its redirect URI, is shown to the user; other
// failures (expired, its grant revoked meanwhile, server_error) are
// redirected to the client.
// For hosts that run their own consent handler; Decision calls it.
func (h *Handler) Approve(w http.ResponseWriter, r *http.Request, requestID string, login Login) {
	var ap grant.Approval
	ar, redirectable, err := h.decide(r.Context(), requestID, login, func(ctx context.Context, tx store.Tx) error {
		var err error
		ap, err = h.grants.ApproveTx(ctx, tx, requestID, nil)
		return err
	})
	if err != nil {
		h.decisionError(w, r, ar, redirectable, err)
		return
	}
	q := url.Values{"code": {ap.Code}, "iss": {h.cfg.Issuer}}
	if ap.State != "" {
		q.Set("state", ap.State)
	}
	redirect(w, ap.RedirectURI, q)
}

// Deny records that login's user refused authorization request requestID
// and redirects access_denied with state and iss to the client (RFC 6749
// §4.1.2.1, RFC 9207 §2). It checks ownership as Approve does and runs
// grant.Manager.DenyTx (reason DenyReason, actor the subject), which
// closes the request and writes the authorization.denied audit event —
// nothing else. Errors are answered as for Approve.
func (h *Handler) Deny(w http.ResponseWriter, r *http.Request, requestID string, login Login) {
	ar, redirectable, err := h.decide(r.Context(), requestID, login, func(ctx context.Context, tx store.Tx) error {
		return h.grants.DenyTx(ctx, tx, requestID, DenyReason, login.Subject)
	})
	if err != nil {
		h.decisionError(w, r, ar, redirectable, err)
		return
	}
	h.redirectError(w, r, endpointDecision, &RedirectError{
		Err: ErrAccessDenied, RedirectURI: ar.RedirectURI, State: ar.State})
}

// decide runs fn in one transaction after checking that request id
// belongs to login's subject and subject kind. It returns the request as
// read and whether a failure after that check may be redirected to the
// request's client: the request is the user's, and its client, not
// deleted, still registers its redirect URI (a client changed or deleted
// meanwhile closes its requests, and must not have errors sent to a URI
// it no longer vouches for).
func (h *Handler) decide(ctx context.Context, id string, login Login,
	fn func(ctx context.Context, tx store.Tx) error) (ar store.AuthRequest, redirectable bool, err error) {
	if err := requestID(id); err != nil {
		return store.AuthRequest{}, false, err
	}
	err = h.grants.Store().InTx(ctx, func(tx store.Tx) error {
		redirectable = false // a store may run the function again
		var err error
		if ar, err = tx.GetAuthRequest(ctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errUnknownRequest
			}
			return fmt.Errorf("httpapi: reading authorization request: %w", err)
		}
		g, err := tx.GetGrant(ctx, ar.GrantID)
		if err != nil {
			return fmt.Errorf("httpapi: reading grant: %w", err)
		}
		if login.Subject == "" || g.Subject != login.Subject || g.SubjectKind != login.SubjectKind {
			return ErrNotRequestOwner
		}
		// Shared-locked: a client update or deletion in progress (which
		// locks the client, then the grants it revokes) commits before
		// this reads it, so the redirect URI checked is the one the
		// decision's outcome follows from.
		c, err := tx.GetClientForShare(ctx, ar.ClientID)
		switch {
		case err == nil:
			redirectable = grant.RedirectURIRegistered(c, ar.RedirectURI)
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("httpapi: reading client: %w", err)
		}
		return fn(ctx, tx)
	})
	return ar, redirectable, err
}

// decisionError answers a failed Approve or Deny: redirected to the
// request's client when decide allows it (the user's request, its
// redirect URI still the client's) and the request was not already
// decided; otherwise shown to the user.
func (h *Handler) decisionError(w http.ResponseWriter, r *http.Request, ar store.AuthRequest, redirectable bool, err error) {
	if !redirectable || errors.Is(err, grant.ErrRequestClosed) || errors.Is(err, store.ErrNotFound) {
		h.showError(w, r, endpointDecision, err)
		return
	}
	h.redirectError(w, r, endpointDecision, &RedirectError{Err: err, RedirectURI: ar.RedirectURI, State: ar.State})
}

// authorizeError answers err: a *RedirectError at the client's redirect
// URI, anything else on a page for the user.
func (h *Handler) authorizeError(w http.ResponseWriter, r *http.Request, endpoint string, err error) {
	var re *RedirectError
	if errors.As(err, &re) {
		h.redirectError(w, r, endpoint, re)
		return
	}
	h.showError(w, r, endpoint, err)
}

// redirectError sends re to its redirect URI (RFC 6749 §4.1.2.1) with
// error, error_description, state and iss (RFC 9207 §2). A server_error is
// logged and described generically.
func (h *Handler) redirectError(w http.ResponseWriter, r *http.Request, endpoint string, re *RedirectError) {
	code, status := ErrorCode(re.Err)
	desc := description(re.Err)
	if status >= 500 {
		h.logFailure(r, endpoint, re.Err)
		desc = "the server could not complete the request"
	}
	q := url.Values{"error": {code}, "error_description": {desc}, "iss": {h.cfg.Issuer}}
	if re.State != "" {
		q.Set("state", re.State)
	}
	redirect(w, re.RedirectURI, q)
}

// showError renders err for the user (Config.AuthorizeErrorPage, or a
// plain-text page): never a redirect.
func (h *Handler) showError(w http.ResponseWriter, r *http.Request, endpoint string, err error) {
	code, status := ErrorCode(err)
	desc := description(err)
	if status >= 500 {
		h.logFailure(r, endpoint, err)
		desc = "the server could not complete the request"
	}
	if h.cfg.AuthorizeErrorPage != nil {
		h.cfg.AuthorizeErrorPage(w, r, err)
		return
	}
	switch status {
	case http.StatusUnauthorized: // invalid_client: no client authenticated here
		status = http.StatusBadRequest
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", map[string]string{endpointAuthorize: "GET, POST", endpointDecision: "POST"}[endpoint])
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "%s: %s\n", code, desc)
}

// logFailure logs a server-side failure of endpoint: at Error, or at
// Warn for a 503 (temporarily_unavailable, an overload).
func (h *Handler) logFailure(r *http.Request, endpoint string, err error) {
	level := slog.LevelError
	if _, status := ErrorCode(err); status == http.StatusServiceUnavailable {
		level = slog.LevelWarn // overload (cimd.ErrBusy, sweep.ErrBusy): a flood must not be a flood of errors
	}
	h.log.LogAttrs(r.Context(), level, "httpapi: request failed",
		slog.String("endpoint", endpoint), slog.String("error", err.Error()))
}

// redirect answers 302 Found to uri with q added to its query (RFC 6749
// §4.1.2: a query the registered URI has is kept). The URI is sent as
// registered plus the parameters, not re-encoded; Referrer-Policy keeps the
// authorization URL from leaking to the client's page.
func redirect(w http.ResponseWriter, uri string, q url.Values) {
	sep := "?"
	switch {
	case strings.HasSuffix(uri, "?") || strings.HasSuffix(uri, "&"):
		sep = ""
	case strings.Contains(uri, "?"):
		sep = "&"
	}
	w.Header().Set("Location", uri+sep+q.Encode())
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusFound)
}
