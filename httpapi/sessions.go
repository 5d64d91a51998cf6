package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grantkit/grantkit/session"
)

// MaxSessionsLimit is the largest page the sessions API and page list
// (SPEC §6); DefaultSessionsLimit the page they list without a limit.
const (
	MaxSessionsLimit     = 100
	DefaultSessionsLimit = 25
)

// errSessionsUnset answers the sessions API and page of a Handler built
// without Config.Sessions: a wiring error of the host, server_error 500.
var errSessionsUnset = errors.New("httpapi: Config.Sessions is not set")

// sessionBody is one session as the sessions API shows it. Times are RFC
// 3339 in UTC; last_used_at is null until an access token of the grant
// was verified, subject_display null when the host names no one.
type sessionBody struct {
	ID                 string     `json:"id"`
	ClientID           string     `json:"client_id"`
	ClientName         string     `json:"client_name"`
	ClientNameVerified bool       `json:"client_name_verified"`
	Subject            string     `json:"subject"`
	SubjectDisplay     *string    `json:"subject_display"`
	Tenant             string     `json:"tenant"`
	Resource           string     `json:"resource"`
	Scopes             []string   `json:"scopes"`
	RedirectURI        string     `json:"redirect_uri"`
	CreatedAt          time.Time  `json:"created_at"`
	LastUsedAt         *time.Time `json:"last_used_at"`
}

// sessionsBody is one page of the listing; next_cursor is null on the
// last page.
type sessionsBody struct {
	Sessions   []sessionBody `json:"sessions"`
	NextCursor *string       `json:"next_cursor"`
}

// Sessions returns the connected-clients JSON API of SPEC §6, which Mount
// registers at Paths.Sessions and below it:
//
//   - GET Paths.Sessions lists the caller's active grants, newest first:
//     {"sessions": [{"id", "client_id", "client_name",
//     "client_name_verified", "subject", "subject_display", "tenant",
//     "resource", "scopes", "redirect_uri", "created_at",
//     "last_used_at"}…], "next_cursor"}. Query parameters: limit (an
//     integer in 1..100, default 25), cursor (the previous page's
//     next_cursor; an altered one is 400), tenant (only that tenant's
//     sessions, "" the personal tenant; 403 unless the host's IsMember
//     confirms the caller belongs to it) and all (a boolean: every
//     subject's sessions, admins only, else 403). A parameter given twice
//     is 400.
//   - DELETE Paths.Sessions/{id} revokes session id through the cascade
//     (reason user_revoked, the caller as actor) and answers 204; 404 if
//     it does not exist or is no longer active, 403 if it is another
//     subject's and the caller is not an admin.
//
// The caller is Config.Caller's (401 when it wraps ErrUnauthenticated).
// Unsafe cross-origin browser requests are refused with 403 by
// Config.CrossOrigin before the caller is authenticated. Every response
// carries Cache-Control: no-store (the listing is private); errors are
// JSON {"error", "error_description"} through ErrorCode, so a store
// failure is server_error 500 and changes nothing. A wrong method is 405
// with the Allow of the resource asked for.
func (h *Handler) Sessions() http.Handler {
	return h.noStore(endpointSessions, func(w http.ResponseWriter, r *http.Request) {
		allow, err := h.sessions(w, r)
		if err != nil {
			if allow != "" {
				w = allowWriter{ResponseWriter: w, allow: allow}
			}
			h.writeError(w, r, endpointSessions, err)
		}
	})
}

// allowWriter sets the Allow header of a 405 to the methods of the
// resource asked for (RFC 9110 §10.2.1), the listing's or a session's,
// where writeError would give the endpoint's union.
type allowWriter struct {
	http.ResponseWriter
	allow string
}

func (a allowWriter) WriteHeader(status int) {
	if status == http.StatusMethodNotAllowed {
		a.Header().Set("Allow", a.allow)
	}
	a.ResponseWriter.WriteHeader(status)
}

func (a allowWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// sessions routes r to the listing or a revocation; a wrong method's
// error comes with the Allow of the resource.
func (h *Handler) sessions(w http.ResponseWriter, r *http.Request) (allow string, err error) {
	if err := h.crossOrigin(r); err != nil {
		return "", err
	}
	if h.cfg.Sessions == nil {
		return "", errSessionsUnset
	}
	rest, ok := strings.CutPrefix(r.URL.Path, h.paths.Sessions)
	switch {
	case ok && rest == "":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return "GET, HEAD", ErrMethodNotAllowed
		}
		return "", h.listSessions(w, r)
	case ok && strings.HasPrefix(rest, "/") && len(rest) > 1 && !strings.Contains(rest[1:], "/"):
		if r.Method != http.MethodDelete {
			return http.MethodDelete, ErrMethodNotAllowed
		}
		return "", h.revokeSession(w, r, rest[1:])
	}
	return "", fmt.Errorf("%w: no such resource", session.ErrNotFound)
}

// crossOrigin refuses an unsafe cross-origin browser request
// (http.CrossOriginProtection: Sec-Fetch-Site, else Origin against Host).
func (h *Handler) crossOrigin(r *http.Request) error {
	if err := h.cfg.CrossOrigin.Check(r); err != nil {
		return fmt.Errorf("%w: %v", ErrCrossOrigin, err)
	}
	return nil
}

// caller authenticates r with Config.Caller. A Caller without a subject
// is refused as unauthenticated: it would name nobody's sessions.
func (h *Handler) caller(r *http.Request) (session.Caller, error) {
	c, err := h.cfg.Caller(r)
	if errors.Is(err, ErrUnauthenticated) {
		return session.Caller{}, ErrUnauthenticated // the host's words stay with the host
	}
	if err != nil {
		return session.Caller{}, fmt.Errorf("httpapi: authenticating the caller: %w", err)
	}
	if c.Subject == "" {
		return session.Caller{}, fmt.Errorf("%w: the authenticator named no subject", ErrUnauthenticated)
	}
	return c, nil
}

// listSessions answers GET Paths.Sessions.
func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request) error {
	c, err := h.caller(r)
	if err != nil {
		return err
	}
	opt, err := listOptions(r.URL.RawQuery)
	if err != nil {
		return err
	}
	p, err := h.cfg.Sessions.List(r.Context(), c, opt)
	if err != nil {
		return err
	}
	body := sessionsBody{Sessions: make([]sessionBody, len(p.Sessions))}
	if p.Next != "" {
		body.NextCursor = &p.Next
	}
	for i, s := range p.Sessions {
		b := sessionBody{ID: s.GrantID, ClientID: s.ClientID, ClientName: s.ClientName,
			ClientNameVerified: s.ClientVerified, Subject: s.Subject, Tenant: s.Tenant, Resource: s.Resource,
			Scopes: s.Scopes, RedirectURI: s.RedirectURI, CreatedAt: s.CreatedAt.UTC()}
		if b.Scopes == nil {
			b.Scopes = []string{}
		}
		if s.SubjectName != "" {
			b.SubjectDisplay = &s.SubjectName
		}
		if !s.LastUsedAt.IsZero() {
			t := s.LastUsedAt.UTC()
			b.LastUsedAt = &t
		}
		body.Sessions[i] = b
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// revokeSession answers DELETE Paths.Sessions/{id}.
func (h *Handler) revokeSession(w http.ResponseWriter, r *http.Request, id string) error {
	c, err := h.caller(r)
	if err != nil {
		return err
	}
	if err := h.cfg.Sessions.Revoke(r.Context(), c, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listOptions parses the listing's query: limit, cursor, tenant, all.
// Unknown parameters are ignored; a known one given twice is
// ErrDuplicateParameter, a bad value ErrInvalidParameter. An empty limit
// or cursor is an omitted one (RFC 6749 §3.1's rule); an empty tenant is
// the personal tenant.
func listOptions(rawQuery string) (session.ListOptions, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return session.ListOptions{}, &paramError{err: ErrInvalidParameter, name: "query"}
	}
	opt := session.ListOptions{Limit: DefaultSessionsLimit}
	for _, name := range []string{"limit", "cursor", "tenant", "all"} {
		vals, ok := q[name]
		if !ok {
			continue
		}
		if len(vals) > 1 {
			return session.ListOptions{}, &paramError{err: ErrDuplicateParameter, name: name}
		}
		v := vals[0]
		if !clean(v) {
			return session.ListOptions{}, &paramError{err: ErrInvalidParameter, name: name}
		}
		switch name {
		case "limit":
			if v == "" {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxSessionsLimit {
				return session.ListOptions{}, &paramError{err: ErrInvalidParameter, name: name}
			}
			opt.Limit = n
		case "cursor":
			opt.Cursor = v
		case "tenant":
			opt.Tenant = &v
		case "all":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return session.ListOptions{}, &paramError{err: ErrInvalidParameter, name: name}
			}
			opt.AllSubjects = b
		}
	}
	return opt, nil
}
