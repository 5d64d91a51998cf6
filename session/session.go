// Package session is the API behind a "connected clients" page: a
// user lists the clients holding active grants for them and revokes one,
// which ends that client's access at once — its refresh tokens fail and its
// access tokens fail the Verifier.
//
// The host decides who may see what: it confirms tenant membership before a
// tenant filter is honoured, names the admins who may list and revoke other
// subjects' sessions, and resolves display names.
package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
)

// Caller is who asks, as the host authenticated them: a subject of one
// kind. Ownership compares both, so where a host's user ids and API-key
// ids can collide, user "42" neither lists nor revokes the sessions of
// api_key "42". Kind is the subject_kind the host gave the grants
// (grant.AuthorizationRequest.SubjectKind); "" is a kind of its own.
type Caller struct {
	Subject string
	Kind    string
}

// owns reports whether g belongs to c.
func (c Caller) owns(g store.Grant) bool { return g.Subject == c.Subject && g.SubjectKind == c.Kind }

// Config configures a Service. Every field is optional.
type Config struct {
	// IsMember reports whether caller belongs to tenant. A tenant filter is
	// refused unless it says yes (or the caller is an admin). nil refuses
	// every tenant filter.
	IsMember func(ctx context.Context, caller Caller, tenant string) (bool, error)
	// IsAdmin reports whether caller may list and revoke every subject's
	// sessions. nil means nobody is.
	IsAdmin func(ctx context.Context, caller Caller) (bool, error)
	// DisplayNames resolves subjects to names to show, once per page with
	// every subject of the page. nil shows none.
	DisplayNames func(ctx context.Context, subjects []string) (map[string]string, error)
}

// Service lists and revokes sessions. It is safe for concurrent use.
type Service struct {
	cfg    Config
	grants *grant.Manager
	store  store.Store
}

// New returns a Service over the grants of m, which runs the cascade and
// holds the store.
func New(m *grant.Manager, cfg Config) (*Service, error) {
	if m == nil {
		return nil, errors.New("session: nil *grant.Manager")
	}
	return &Service{cfg: cfg, grants: m, store: m.Store()}, nil
}

// Session is one connected client: an active grant as a user sees it.
type Session struct {
	GrantID    string
	ClientID   string
	ClientName string
	// ClientVerified is false when the name was self-reported through
	// dynamic registration (RFC 7591) and must be shown as unverified.
	ClientVerified bool
	Subject        string
	// SubjectName is the host's display name for Subject, if any.
	SubjectName string
	Tenant      string
	Resource    string
	RedirectURI string
	Scopes      []string
	CreatedAt   time.Time
	// LastUsedAt is zero until an access token of the grant was verified.
	LastUsedAt time.Time
}

// ListOptions narrow a listing.
type ListOptions struct {
	// Tenant, when non-nil, lists only that tenant's sessions ("" is the
	// personal tenant). Honoured only after Config.IsMember confirms the
	// caller belongs to it.
	Tenant *string
	// AllSubjects lists every subject's sessions: admins only.
	AllSubjects bool
	// Limit defaults to 25 and may be at most 100.
	Limit int
	// Cursor is "" for the first page and Page.Next afterwards.
	Cursor string
}

// Page is one page of sessions, newest first. Next is "" on the last page.
type Page struct {
	Sessions []Session
	Next     string
}

// List returns one page of caller's sessions (or, for an admin with
// AllSubjects, everyone's), ordered by creation time, newest first, with
// an opaque cursor. It executes one SQL statement per page,
// whatever the page size, and calls DisplayNames once. Errors:
// ErrForbidden, store.ErrInvalidCursor (a forged cursor or one from
// another listing), store.ErrInvalidArgument (a bad limit); anything else
// is a failure of the store or of a host callback.
func (s *Service) List(ctx context.Context, caller Caller, opt ListOptions) (Page, error) {
	if caller.Subject == "" {
		return Page{}, fmt.Errorf("%w: no caller", ErrForbidden)
	}
	f := store.GrantFilter{Subject: caller.Subject, SubjectKind: caller.Kind, Tenant: opt.Tenant}
	if opt.AllSubjects || opt.Tenant != nil {
		admin, err := s.isAdmin(ctx, caller)
		if err != nil {
			return Page{}, err
		}
		switch {
		case opt.AllSubjects && !admin:
			return Page{}, fmt.Errorf("%w: listing every subject needs an admin", ErrForbidden)
		case opt.AllSubjects:
			f = store.GrantFilter{AllSubjects: true, Tenant: opt.Tenant}
		case !admin:
			if err := s.checkMember(ctx, caller, *opt.Tenant); err != nil {
				return Page{}, err
			}
		}
	}
	p, err := s.store.ListActiveGrants(ctx, f, store.Page{Limit: opt.Limit, Cursor: opt.Cursor})
	if err != nil {
		return Page{}, err
	}
	names, err := s.displayNames(ctx, p.Items)
	if err != nil {
		return Page{}, err
	}
	out := Page{Sessions: make([]Session, len(p.Items)), Next: p.Next}
	for i, l := range p.Items {
		out.Sessions[i] = Session{GrantID: l.ID, ClientID: l.ClientID, ClientName: l.ClientName,
			ClientVerified: !l.ClientDynamic, Subject: l.Subject, SubjectName: names[l.Subject], Tenant: l.Tenant,
			Resource: l.Resource, RedirectURI: l.RedirectURI, Scopes: l.Scopes, CreatedAt: l.CreatedAt,
			LastUsedAt: l.LastUsedAt}
	}
	return out, nil
}

func (s *Service) checkMember(ctx context.Context, caller Caller, tenant string) error {
	if s.cfg.IsMember == nil {
		return fmt.Errorf("%w: tenant filter without a membership check", ErrForbidden)
	}
	ok, err := s.cfg.IsMember(ctx, caller, tenant)
	if err != nil {
		return fmt.Errorf("session: membership check: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w: not a member of the tenant", ErrForbidden)
	}
	return nil
}

func (s *Service) isAdmin(ctx context.Context, caller Caller) (bool, error) {
	if s.cfg.IsAdmin == nil {
		return false, nil
	}
	ok, err := s.cfg.IsAdmin(ctx, caller)
	if err != nil {
		return false, fmt.Errorf("session: admin check: %w", err)
	}
	return ok, nil
}

// displayNames resolves the page's subjects with one host call.
func (s *Service) displayNames(ctx context.Context, items []store.GrantListing) (map[string]string, error) {
	if s.cfg.DisplayNames == nil || len(items) == 0 {
		return nil, nil
	}
	var subjects []string
	for _, l := range items {
		if !slices.Contains(subjects, l.Subject) {
			subjects = append(subjects, l.Subject)
		}
	}
	names, err := s.cfg.DisplayNames(ctx, subjects)
	if err != nil {
		return nil, fmt.Errorf("session: display names: %w", err)
	}
	return names, nil
}

// Revoke ends session id on behalf of caller: ErrNotFound if it
// does not exist or is not active; ErrForbidden, with nothing changed, if
// caller is neither its subject (of the same kind) nor an admin; otherwise the grant is
// revoked through the cascade with reason user_revoked and caller as the
// actor, and session.revoked is audited, in one transaction.
func (s *Service) Revoke(ctx context.Context, caller Caller, id string) error {
	// Ownership is checked before the write transaction, so a refused
	// attempt takes no write lock and the host's admin check runs outside
	// it; the revocation itself only revokes a grant still active.
	g, err := s.authorize(ctx, s.store.GetGrant, caller, id)
	if err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx store.Tx) error { return s.revoke(ctx, tx, caller, g) })
}

// RevokeTx is Revoke inside the caller's transaction tx (the store's own or
// a host's joined with an adapter's WithTx); its events reach the observer
// once tx has committed.
func (s *Service) RevokeTx(ctx context.Context, tx store.Tx, caller Caller, id string) error {
	g, err := s.authorize(ctx, tx.GetGrant, caller, id)
	if err != nil {
		return err
	}
	return s.revoke(ctx, tx, caller, g)
}

// authorize reads session id with get and checks that caller may revoke it.
func (s *Service) authorize(ctx context.Context, get func(context.Context, string) (store.Grant, error),
	caller Caller, id string) (store.Grant, error) {
	if caller.Subject == "" {
		return store.Grant{}, fmt.Errorf("%w: no caller", ErrForbidden)
	}
	g, err := get(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && g.Status != store.GrantActive) {
		return store.Grant{}, ErrNotFound
	}
	if err != nil {
		return store.Grant{}, fmt.Errorf("session: reading grant: %w", err)
	}
	if !caller.owns(g) {
		admin, err := s.isAdmin(ctx, caller)
		if err != nil {
			return store.Grant{}, err
		}
		if !admin {
			return store.Grant{}, ErrForbidden
		}
	}
	return g, nil
}

// revoke revokes g through the cascade and audits session.revoked, in tx.
func (s *Service) revoke(ctx context.Context, tx store.Tx, caller Caller, g store.Grant) error {
	revoked, err := s.grants.RevokeTx(ctx, tx, []string{g.ID}, grant.ReasonUserRevoked, caller.Subject)
	if err != nil {
		return err
	}
	if len(revoked) == 0 { // revoked by someone else since it was read
		return ErrNotFound
	}
	return s.grants.RecordTx(ctx, tx, grant.Event{Type: grant.EventSessionRevoked, Reason: grant.ReasonUserRevoked,
		ClientID: g.ClientID, Subject: g.Subject, GrantID: g.ID}, caller.Subject, nil)
}
