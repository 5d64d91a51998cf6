package grant

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/store"
)

// Authorization errors. Each maps to one RFC 6749 §4.1.2.1 error code.
var (
	// ErrInvalidRequest reports a malformed request (RFC 6749 §4.1.2.1,
	// §5.2 invalid_request): at authorization a missing subject, a missing
	// or non-S256 PKCE challenge (RFC 7636 §4.2; plain is refused), invalid
	// context JSON, a value over its length limit; at the token endpoint a
	// missing parameter.
	ErrInvalidRequest = errors.New("grant: invalid request")
	// ErrUnauthorizedClient reports a client not registered for the
	// authorization code flow.
	ErrUnauthorizedClient = errors.New("grant: client not allowed to use the authorization code flow")
	// ErrInvalidScope reports a scope the client did not register.
	ErrInvalidScope = errors.New("grant: invalid scope")
	// ErrRequestExpired reports an authorization request past its lifetime.
	ErrRequestExpired = errors.New("grant: authorization request expired")
	// ErrRequestClosed reports an authorization request already approved,
	// denied or revoked.
	ErrRequestClosed = errors.New("grant: authorization request already closed")
)

// CodeChallengeS256 is the only PKCE method grantkit accepts (RFC 7636
// §4.2; RFC 9700 §2.1.1).
const CodeChallengeS256 = "S256"

// AuthorizationRequest is a validated /authorize request (RFC 6749 §4.1.1)
// together with what the host learned at login: who the subject is and
// what the grant is bound to.
type AuthorizationRequest struct {
	ClientID    string
	RedirectURI string // must match one of the client's (see CheckRequest)
	Scopes      []string
	State       string
	// CodeChallenge and CodeChallengeMethod are the PKCE parameters (RFC
	// 7636 §4.3); the method must be S256.
	CodeChallenge       string
	CodeChallengeMethod string
	// Resource is the RFC 8707 resource indicator the tokens are for.
	Resource string

	Subject       string
	SubjectKind   string
	Tenant        string
	Context       json.RawMessage
	ConfigVersion int64
}

// Authorization is a started authorization: the pending (or reused active)
// grant and the authorization request the host approves or denies.
type Authorization struct {
	Grant   store.Grant
	Request store.AuthRequest
	// Reused is true when an active grant with identical scopes, context
	// and config_version already existed on the binding.
	Reused bool
}

// Start begins an authorization (RFC 6749 §4.1.1): it checks the request
// against the client's registration, then either reuses the active grant
// on the binding (when its scopes, context and config_version are
// identical) or creates a pending grant, and records the authorization
// request, in one transaction. Errors: ErrInvalidClient (unknown or
// deleted client), ErrUnauthorizedClient, ErrInvalidRedirectURI,
// ErrInvalidScope, ErrInvalidRequest; any other error is a store failure.
func (m *Manager) Start(ctx context.Context, req AuthorizationRequest) (Authorization, error) {
	req, err := prepare(req)
	if err != nil {
		return Authorization{}, err
	}
	// A cheap refusal first, without a write transaction: invalid requests
	// come from anyone on the internet. The check is repeated under the
	// client's lock inside the transaction.
	if _, err := checkAgainst(ctx, m.store.GetClient, req); err != nil {
		return Authorization{}, err
	}
	var a Authorization
	err = m.inTx(ctx, func(tx store.Tx) error {
		var err error
		a, err = m.start(ctx, tx, req)
		return err
	})
	if err != nil {
		return Authorization{}, err
	}
	return a, nil
}

// StartTx is Start inside the caller's transaction tx.
func (m *Manager) StartTx(ctx context.Context, tx store.Tx, req AuthorizationRequest) (Authorization, error) {
	req, err := prepare(req)
	if err != nil {
		return Authorization{}, err
	}
	return m.start(ctx, tx, req)
}

// prepare normalises req's scopes and context and refuses a context that
// is not storable JSON.
func prepare(req AuthorizationRequest) (AuthorizationRequest, error) {
	if err := checkRequestLimits(req); err != nil {
		return req, err
	}
	req.Scopes = dedupe(req.Scopes)
	if len(req.Context) > 0 {
		var compact bytes.Buffer
		if err := json.Compact(&compact, req.Context); err != nil {
			return req, fmt.Errorf("%w: context is not JSON", ErrInvalidRequest)
		}
		req.Context = compact.Bytes()
	}
	if !storableJSON(req.Context) {
		return req, fmt.Errorf("%w: context holds text that is not UTF-8 or a NUL character", ErrInvalidRequest)
	}
	return req, nil
}

// start runs Start's transaction on tx for a prepared request.
func (m *Manager) start(ctx context.Context, tx store.Tx, req AuthorizationRequest) (Authorization, error) {
	var a Authorization
	err := func() error {
		// The registration is read under a shared lock held to the end:
		// UpdateClient and DeleteClient wait for this transaction, and
		// then revoke what it created if their change is material, so no
		// grant outlives a change its request was not checked against.
		c, err := checkAgainst(ctx, tx.GetClientForShare, req)
		if err != nil {
			return err
		}
		// The grant is bound to the registered redirect URI the request
		// matched: a loopback client back on another port is the same
		// binding. The request keeps the URI it used.
		bound, _ := registeredRedirect(c.RedirectURIs, req.RedirectURI)
		now := m.clock()
		b := store.Binding{ClientID: req.ClientID, Subject: req.Subject, SubjectKind: req.SubjectKind,
			Tenant: req.Tenant, Resource: req.Resource, RedirectURI: bound}
		active, err := tx.FindActiveGrant(ctx, b)
		if err == nil && reusable(active, req) {
			// Lock the grant to reuse it, so that a revocation either
			// commits first (and the grant is not reused) or waits for
			// this request and revokes it with the grant.
			active, err = tx.GetGrantForUpdate(ctx, active.ID)
		}
		switch {
		case err == nil && active.Status == store.GrantActive && reusable(active, req):
			a.Grant, a.Reused = active, true
		case err == nil || errors.Is(err, store.ErrNotFound):
			a.Grant = store.Grant{ID: newID(), ClientID: req.ClientID, Subject: req.Subject,
				SubjectKind: req.SubjectKind, Tenant: req.Tenant, Resource: req.Resource,
				RedirectURI: bound, Scopes: req.Scopes, Context: req.Context,
				ConfigVersion: req.ConfigVersion, Status: store.GrantPending, CreatedAt: now}
			if err := tx.CreateGrant(ctx, a.Grant); err != nil {
				return fmt.Errorf("grant: creating grant: %w", err)
			}
			if err := tx.AppendAuditEvents(ctx, []store.AuditEvent{
				auditEvent(EventGrantCreated, a.Grant, "", req.Subject, now, nil)}); err != nil {
				return fmt.Errorf("grant: writing audit event: %w", err)
			}
		default:
			return fmt.Errorf("grant: finding active grant: %w", err)
		}
		a.Request = store.AuthRequest{ID: newID(), GrantID: a.Grant.ID, ClientID: req.ClientID,
			RedirectURI: req.RedirectURI, Scopes: req.Scopes, State: req.State, CodeChallenge: req.CodeChallenge,
			CodeChallengeMethod: CodeChallengeS256, Resource: req.Resource, CreatedAt: now,
			ExpiresAt: now.Add(m.reqTTL)}
		if err := tx.CreateAuthRequest(ctx, a.Request); err != nil {
			return fmt.Errorf("grant: recording authorization request: %w", err)
		}
		return nil
	}()
	if err != nil {
		return Authorization{}, err
	}
	return a, nil
}

// checkAgainst reads req's client with get and checks req against it:
// ErrInvalidClient for an unknown or deleted client, CheckRequest's errors,
// or a store failure.
func checkAgainst(ctx context.Context, get func(context.Context, string) (store.Client, error),
	req AuthorizationRequest) (store.Client, error) {
	c, err := get(ctx, req.ClientID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !c.DeletedAt.IsZero()):
		return store.Client{}, ErrInvalidClient
	case err != nil:
		return store.Client{}, fmt.Errorf("grant: reading client: %w", err)
	}
	return c, CheckRequest(c, req)
}

// CheckRequest validates an authorization request against client c's
// registration (RFC 6749 §4.1.1, §3.1.2.3; RFC 7636 §4.3): the
// authorization_code grant type and code response type registered, the
// length limits (MaxScopes, MaxScopeLength, MaxStateLength,
// MaxContextBytes), the redirect URI registered, every scope registered, an
// S256 PKCE challenge of the right form, a subject. It touches no state.
//
// The redirect URI must equal one of the client's as a string (RFC 6749
// §3.1.2.3, RFC 9700 §2.1), except that a registered loopback IP-literal
// URI (http://127.0.0.1 or http://[::1], with or without a port) also
// matches one that differs from it only in the port, a decimal number from
// 1 to 65535 (RFC 8252 §7.3: a native client listens on whatever port it
// gets). localhost URIs match exactly only (RFC 8252 §8.3). Start keeps
// the URI as the request gave it, port included, on the grant, the
// authorization request and so the code, which the token endpoint
// compares exactly.
func CheckRequest(c store.Client, req AuthorizationRequest) error {
	if !slices.Contains(c.GrantTypes, GrantTypeAuthorizationCode) || !slices.Contains(c.ResponseTypes, ResponseTypeCode) {
		return ErrUnauthorizedClient
	}
	if err := checkRequestLimits(req); err != nil {
		return err
	}
	if _, ok := registeredRedirect(c.RedirectURIs, req.RedirectURI); !ok {
		return fmt.Errorf("%w: not registered for this client", ErrInvalidRedirectURI)
	}
	for _, s := range req.Scopes {
		if !slices.Contains(c.Scopes, s) {
			return fmt.Errorf("%w: %q is not registered for this client", ErrInvalidScope, s)
		}
	}
	if req.CodeChallengeMethod != CodeChallengeS256 {
		return fmt.Errorf("%w: code_challenge_method must be S256", ErrInvalidRequest)
	}
	if !validChallenge(req.CodeChallenge) {
		return fmt.Errorf("%w: code_challenge must be 43 base64url characters", ErrInvalidRequest)
	}
	if req.Subject == "" {
		return fmt.Errorf("%w: no subject", ErrInvalidRequest)
	}
	if !storable(req.State, req.Subject, req.SubjectKind, req.Tenant, req.Resource) {
		return fmt.Errorf("%w: text that is not UTF-8 or holds a NUL byte", ErrInvalidRequest)
	}
	return nil
}

// storableJSON reports whether the JSON document b (nil allowed) holds
// only storable text: valid UTF-8 without NUL characters, escaped (\u0000,
// which PostgreSQL's jsonb refuses) or not.
func storableJSON(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if !utf8.Valid(b) {
		return false
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return false
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case string:
			return storable(v)
		case []any:
			for _, e := range v {
				if !walk(e) {
					return false
				}
			}
		case map[string]any:
			for k, e := range v {
				if !storable(k) || !walk(e) {
					return false
				}
			}
		}
		return true
	}
	return walk(v)
}

// storable reports whether every s is text both databases store as given:
// valid UTF-8 without NUL bytes (PostgreSQL refuses both in text columns,
// which would otherwise surface as a server error instead of a 4xx).
func storable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

// validChallenge reports whether s is an S256 challenge: the unpadded
// base64url encoding of a SHA-256 digest (RFC 7636 §4.2).
func validChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ""
}

// reusable reports whether active may serve req unchanged: same scopes, context, config_version and subject kind.
func reusable(active store.Grant, req AuthorizationRequest) bool {
	return sameSet(active.Scopes, req.Scopes) && sameJSON(active.Context, req.Context) &&
		active.ConfigVersion == req.ConfigVersion && active.SubjectKind == req.SubjectKind
}

// sameJSON reports whether a and b hold the same JSON value whatever their
// formatting: PostgreSQL's jsonb hands a stored document back re-serialised
// (spaces added, keys reordered), so bytes cannot be compared.
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	return errA == nil && errB == nil && reflect.DeepEqual(va, vb)
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// Approval is the outcome of approving an authorization: the code to send
// to the client's redirect URI with the request's state (RFC 6749 §4.1.2).
type Approval struct {
	Code        string
	RedirectURI string
	State       string
	Grant       store.Grant
}

// ApproveFunc is host work that must commit together with an approval,
// such as finishing an upstream provider step. It runs in the approval's
// transaction after the grant is active and the code exists; an error
// rolls everything back (no active grant, no code).
type ApproveFunc func(ctx context.Context, tx store.Tx, g store.Grant) error

// Approve completes the authorization request id after the host's login
// and consent (RFC 6749 §4.1.2): in one transaction it locks the request's
// grant, closes the request, activates the grant if pending — under the
// binding's lock, revoking through the cascade any other active grant on
// the same binding, reason ReasonSuperseded — issues the single-use
// authorization code (stored as a hash), and runs fn if not nil. Errors:
// store.ErrNotFound (unknown request), ErrRequestExpired, ErrRequestClosed,
// ErrInvalidTransition (the grant was revoked meanwhile), fn's error; any
// other error is a store failure. On error nothing changed.
func (m *Manager) Approve(ctx context.Context, id string, fn ApproveFunc) (Approval, error) {
	var a Approval
	err := m.inTx(ctx, func(tx store.Tx) error {
		var err error
		a, err = m.ApproveTx(ctx, tx, id, fn)
		return err
	})
	if err != nil {
		return Approval{}, err
	}
	return a, nil
}

// ApproveTx is Approve inside the caller's transaction tx (fn, if not nil,
// runs on the same tx); events are reported after its commit, as for
// RevokeTx. The code it returns must not be sent before tx commits.
func (m *Manager) ApproveTx(ctx context.Context, tx store.Tx, id string, fn ApproveFunc) (Approval, error) {
	now := m.clock()
	req, err := tx.GetAuthRequest(ctx, id)
	if err != nil {
		return Approval{}, fmt.Errorf("grant: reading authorization request: %w", err)
	}
	g, prev, err := lockForApproval(ctx, tx, req.GrantID)
	if err != nil {
		return Approval{}, err
	}
	if err := closeRequest(ctx, tx, req, now); err != nil {
		return Approval{}, err
	}
	if g.Status == store.GrantPending {
		if err := m.activate(ctx, tx, &g, prev, now); err != nil {
			return Approval{}, err
		}
	} else if g.Status != store.GrantActive {
		return Approval{}, Transition(g.Status, store.GrantActive)
	}
	code, hash := secret.New(secret.CodePrefix)
	if err := tx.CreateAuthCode(ctx, store.AuthCode{ID: newID(), Hash: hash, GrantID: g.ID, ClientID: req.ClientID,
		RedirectURI: req.RedirectURI, Scopes: req.Scopes, CodeChallenge: req.CodeChallenge,
		CodeChallengeMethod: req.CodeChallengeMethod, CreatedAt: now, ExpiresAt: now.Add(m.codeTTL)}); err != nil {
		return Approval{}, fmt.Errorf("grant: issuing code: %w", err)
	}
	if fn != nil {
		if err := fn(ctx, tx, g); err != nil {
			return Approval{}, err
		}
	}
	return Approval{Code: code, RedirectURI: req.RedirectURI, State: req.State, Grant: g}, nil
}

// lockForApproval locks the grant id an approval closes a request of and,
// when that grant is pending, the binding and the grant active on it (which
// activation supersedes), returned as prev ("" ID when there is none).
// Locks are taken before any row is changed, binding first and then grant
// rows in id order — the order RevokeGrants locks a set in — so an approval
// racing a revocation of several grants queues instead of deadlocking; the
// cascade locks grants before their requests, codes and tokens, and so does
// the approval.
func lockForApproval(ctx context.Context, tx store.Tx, id string) (g, prev store.Grant, err error) {
	g, err = tx.GetGrant(ctx, id) // unlocked: a grant's binding never changes
	if err != nil {
		return g, prev, fmt.Errorf("grant: reading grant: %w", err)
	}
	ids := []string{g.ID}
	if g.Status == store.GrantPending {
		if err := tx.LockBinding(ctx, g.Binding()); err != nil {
			return g, prev, fmt.Errorf("grant: locking binding: %w", err)
		}
		prev, err = tx.FindActiveGrant(ctx, g.Binding())
		switch {
		case err == nil:
			ids = append(ids, prev.ID)
			slices.Sort(ids)
		case !errors.Is(err, store.ErrNotFound):
			return g, prev, fmt.Errorf("grant: finding active grant: %w", err)
		}
	}
	for _, lid := range ids {
		locked, err := tx.GetGrantForUpdate(ctx, lid)
		if err != nil {
			return g, prev, fmt.Errorf("grant: locking grant: %w", err)
		}
		if lid == g.ID {
			g = locked
		}
	}
	return g, prev, nil
}

// activate moves the locked pending grant g to active, superseding prev,
// the grant active on its binding when the binding was locked, if any.
func (m *Manager) activate(ctx context.Context, tx store.Tx, g *store.Grant, prev store.Grant, now time.Time) error {
	if prev.ID != "" {
		if _, err := m.cascade(ctx, tx, []string{prev.ID}, ReasonSuperseded, g.Subject); err != nil {
			return err
		}
	}
	ok, err := tx.ActivateGrant(ctx, g.ID, now)
	if err != nil {
		return fmt.Errorf("grant: activating grant: %w", err)
	}
	if !ok { // unreachable while the row is locked; fail closed all the same
		return Transition(g.Status, store.GrantActive)
	}
	g.Status, g.ActivatedAt = store.GrantActive, now
	if err := tx.AppendAuditEvents(ctx, []store.AuditEvent{
		auditEvent(EventGrantActivated, *g, "", g.Subject, now, nil)}); err != nil {
		return fmt.Errorf("grant: writing audit event: %w", err)
	}
	return nil
}

// openRequest reads request id and closes it, so it can be approved or
// denied once.
func (m *Manager) openRequest(ctx context.Context, tx store.Tx, id string, now time.Time) (store.AuthRequest, error) {
	req, err := tx.GetAuthRequest(ctx, id)
	if err != nil {
		return store.AuthRequest{}, fmt.Errorf("grant: reading authorization request: %w", err)
	}
	if err := closeRequest(ctx, tx, req, now); err != nil {
		return store.AuthRequest{}, err
	}
	return req, nil
}

// closeRequest closes an unexpired, open request (compare-and-set).
func closeRequest(ctx context.Context, tx store.Tx, req store.AuthRequest, now time.Time) error {
	if !now.Before(req.ExpiresAt) {
		return ErrRequestExpired
	}
	ok, err := tx.ConsumeAuthRequest(ctx, req.ID, now)
	if err != nil {
		return fmt.Errorf("grant: closing authorization request: %w", err)
	}
	if !ok {
		return ErrRequestClosed
	}
	return nil
}

// Deny records that the user or the host refused authorization request id
// (RFC 6749 §4.1.2.1 access_denied): it closes the request so it can no
// longer be approved and writes an authorization.denied audit event with
// reason (trimmed to a short printable string). It creates no other state:
// the pending grant is left for the sweep. Errors as for Approve.
func (m *Manager) Deny(ctx context.Context, id, reason, actor string) error {
	return m.inTx(ctx, func(tx store.Tx) error { return m.DenyTx(ctx, tx, id, reason, actor) })
}

// DenyTx is Deny inside the caller's transaction tx; the event is
// reported after its commit, as for RevokeTx.
func (m *Manager) DenyTx(ctx context.Context, tx store.Tx, id, reason, actor string) error {
	now := m.clock()
	req, err := m.openRequest(ctx, tx, id, now)
	if err != nil {
		return err
	}
	g, err := tx.GetGrant(ctx, req.GrantID)
	if err != nil {
		return fmt.Errorf("grant: reading grant: %w", err)
	}
	reason = sanitize(reason)
	details, err := json.Marshal(struct {
		Resource string   `json:"resource,omitempty"`
		Scopes   []string `json:"scopes,omitempty"`
	}{req.Resource, req.Scopes})
	if err != nil {
		return err
	}
	if err := tx.AppendAuditEvents(ctx, []store.AuditEvent{
		auditEvent(EventAuthorizationDenied, g, reason, actor, now, details)}); err != nil {
		return fmt.Errorf("grant: writing audit event: %w", err)
	}
	m.report(tx, Event{Type: EventAuthorizationDenied, Reason: reason, Count: 1, ClientID: g.ClientID,
		Subject: g.Subject, GrantID: g.ID})
	return nil
}

// sanitize keeps a host-supplied reason short and printable, so it cannot
// smuggle request material or control characters into the audit trail.
func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "")
	}
	return s
}
