package httpapi

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/grantkit/grantkit"
	"github.com/grantkit/grantkit/session"
)

//go:embed page.html
var pageHTML string

// defaultPage is the connected-clients page's template unless
// Config.PageTemplate replaces it.
var defaultPage = template.Must(template.New("page.html").Parse(pageHTML))

// Views of the connected-clients page (PageData.View).
const (
	ViewList    = "list"
	ViewConfirm = "confirm"
	ViewError   = "error"
)

// pageCSP is the page's Content-Security-Policy: no script at all, styles
// only inline (the template's own <style>), forms only to this origin, no
// framing (clickjacking a Revoke button).
const pageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; " +
	"base-uri 'none'"

// PageData is what the connected-clients page's template is executed
// with (Config.PageTemplate). Every string is plain text for the template
// to escape.
//
// A replacement template must keep the page's two forms, both
// method="post" to Action: the list view's Revoke form per session, with
// a field id holding PageSession.ID, which shows the confirmation; and the
// confirmation view's form with id and confirm=1, which revokes.
type PageData struct {
	// View is ViewList, ViewConfirm or ViewError.
	View string
	// Action is the page's path: its forms post there, links lead back.
	Action string
	// Sessions are the caller's sessions, newest first (ViewList).
	Sessions []PageSession
	// Next is the link to the next, older page ("" on the last).
	Next string
	// Revoked is true on the page a revocation redirected to.
	Revoked bool
	// Confirm is the session whose revocation awaits confirmation
	// (ViewConfirm).
	Confirm *PageSession
	// Status and Message describe a refusal (ViewError): the HTTP status
	// and a sentence for the user.
	Status  int
	Message string
}

// PageSession is one session as the page shows it.
type PageSession struct {
	ID       string
	ClientID string
	// ClientName is the client's name, self-reported when Verified is
	// false (a dynamically registered client, RFC 7591): the page quotes
	// it and marks it unverified.
	ClientName string
	Verified   bool
	Subject    string
	// SubjectDisplay is the host's name for Subject, if any.
	SubjectDisplay string
	Tenant         string
	Resource       string
	Scopes         []string
	RedirectURI    string
	// RedirectHost is RedirectURI's host (with its port), or its scheme
	// for a private-use URI without one (RFC 8252 §7.1).
	RedirectHost string
	CreatedAt    time.Time
	// LastUsedAt is zero if no access token of the grant was verified.
	LastUsedAt time.Time
	// Created and LastUsed are CreatedAt and LastUsedAt formatted in UTC
	// ("2006-01-02 15:04 UTC"); LastUsed is "" when never used.
	Created  string
	LastUsed string
}

// pageTime is the format of PageSession.Created and LastUsed.
const pageTime = "2006-01-02 15:04 UTC"

// Page returns the connected-clients page, server-rendered with
// html/template (Config.PageTemplate, default page.html) and without any
// script, which Mount registers at Paths.Page:
//
//   - GET lists the caller's sessions (SPEC §6), 25 a page (query cursor
//     for the next): the client's name in quotes, marked unverified for a
//     dynamically registered client, the redirect URI's host, the
//     resource, scopes and tenant, when it was authorized and last used,
//     and a Revoke button.
//   - POST id=… shows the confirmation of that session's revocation, with
//     its exact client id and redirect URI; it changes nothing.
//   - POST id=…&confirm=1 revokes it (session.Service.Revoke) and
//     redirects (303) to the page, which says so.
//
// POSTs are refused with 403 by Config.CrossOrigin when a browser sends
// them from another origin, before the caller is authenticated; the caller
// is Config.Caller's (401 when it wraps ErrUnauthenticated: a host that
// would rather send the user to its login page wraps Page). Errors are
// pages too (ViewError) with ErrorCode's status; a 5xx is logged and
// described generically. Every response carries Cache-Control: no-store, a
// Content-Security-Policy without scripts and frame-ancestors 'none', and
// X-Frame-Options: DENY.
func (h *Handler) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Cache-Control", "no-store")
		hdr.Set("Content-Security-Policy", pageCSP)
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "no-referrer")
		data, err := h.page(w, r)
		if err != nil {
			data = h.pageError(r, err)
			if data.Status == http.StatusMethodNotAllowed {
				hdr.Set("Allow", "GET, HEAD, POST")
			}
		}
		if data == nil { // redirected
			return
		}
		data.Action = h.paths.Page
		h.render(w, r, data)
	})
}

// page serves r and returns what to render, or nil after a redirect.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) (*PageData, error) {
	if err := h.crossOrigin(r); err != nil {
		return nil, err
	}
	if h.cfg.Sessions == nil {
		return nil, errSessionsUnset
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return h.pageList(r)
	case http.MethodPost:
		return h.pagePost(w, r)
	}
	return nil, ErrMethodNotAllowed
}

// pageList lists one page of the caller's sessions.
func (h *Handler) pageList(r *http.Request) (*PageData, error) {
	c, err := h.caller(r)
	if err != nil {
		return nil, err
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &paramError{err: ErrInvalidParameter, name: "query"}
	}
	for _, name := range []string{"cursor", "revoked"} {
		if len(q[name]) > 1 {
			return nil, &paramError{err: ErrDuplicateParameter, name: name}
		}
	}
	cursor := q.Get("cursor")
	if !clean(cursor) {
		return nil, &paramError{err: ErrInvalidParameter, name: "cursor"}
	}
	p, err := h.cfg.Sessions.List(r.Context(), c, session.ListOptions{Limit: DefaultSessionsLimit, Cursor: cursor})
	if err != nil {
		return nil, err
	}
	data := &PageData{View: ViewList, Sessions: make([]PageSession, len(p.Sessions)), Revoked: q.Get("revoked") == "1"}
	for i, s := range p.Sessions {
		data.Sessions[i] = pageSession(s)
	}
	if p.Next != "" {
		data.Next = h.paths.Page + "?" + url.Values{"cursor": {p.Next}}.Encode()
	}
	return data, nil
}

// pagePost shows a revocation's confirmation or, confirmed, revokes.
func (h *Handler) pagePost(w http.ResponseWriter, r *http.Request) (*PageData, error) {
	c, err := h.caller(r)
	if err != nil {
		return nil, err
	}
	form, err := readForm(w, r)
	if err != nil {
		return nil, err
	}
	id := form.Get("id")
	if id == "" {
		return nil, missing("id")
	}
	switch form.Get("confirm") {
	case "":
		s, err := h.findSession(r.Context(), c, id)
		if err != nil {
			return nil, err
		}
		ps := pageSession(s)
		return &PageData{View: ViewConfirm, Confirm: &ps}, nil
	case "1":
		if err := h.cfg.Sessions.Revoke(r.Context(), c, id); err != nil {
			return nil, err
		}
		http.Redirect(w, r, h.paths.Page+"?revoked=1", http.StatusSeeOther)
		return nil, nil
	}
	return nil, &paramError{err: ErrInvalidParameter, name: "confirm"}
}

// findSession returns caller's session id from their listing, page after
// page (the service reads sessions only as listings, which scope them to
// the caller): session.ErrNotFound if it is not there.
func (h *Handler) findSession(ctx context.Context, c session.Caller, id string) (session.Session, error) {
	opt := session.ListOptions{Limit: MaxSessionsLimit}
	for {
		p, err := h.cfg.Sessions.List(ctx, c, opt)
		if err != nil {
			return session.Session{}, err
		}
		for _, s := range p.Sessions {
			if s.GrantID == id {
				return s, nil
			}
		}
		if p.Next == "" {
			return session.Session{}, session.ErrNotFound
		}
		opt.Cursor = p.Next
	}
}

// pageSession is s as the page shows it.
func pageSession(s session.Session) PageSession {
	ps := PageSession{ID: s.GrantID, ClientID: s.ClientID, ClientName: s.ClientName, Verified: s.ClientVerified,
		Subject: s.Subject, SubjectDisplay: s.SubjectName, Tenant: s.Tenant, Resource: s.Resource,
		Scopes: s.Scopes, RedirectURI: s.RedirectURI, RedirectHost: redirectHost(s.RedirectURI),
		CreatedAt: s.CreatedAt.UTC(), Created: s.CreatedAt.UTC().Format(pageTime)}
	if !s.LastUsedAt.IsZero() {
		ps.LastUsedAt = s.LastUsedAt.UTC()
		ps.LastUsed = ps.LastUsedAt.Format(pageTime)
	}
	return ps
}

// redirectHost is the host of uri, or its scheme when it has none (a
// private-use URI such as com.example.app:/cb), or uri itself if it does
// not parse.
func redirectHost(uri string) string {
	u, err := url.Parse(uri)
	switch {
	case err != nil:
		return uri
	case u.Host != "":
		return u.Host
	}
	return u.Scheme + ":"
}

// pageError is the error view of err, with ErrorCode's status; a 5xx is
// logged and described generically.
func (h *Handler) pageError(r *http.Request, err error) *PageData {
	code, status := ErrorCode(err)
	msg := "The request was refused: " + description(err) + "."
	switch {
	case status >= 500:
		h.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: request failed",
			slog.String("endpoint", endpointPage), slog.String("error", err.Error()))
		msg = "Something went wrong on our side; nothing was changed. Please try again later."
	case errors.Is(err, ErrCrossOrigin):
		msg = "This request came from another site and was refused; nothing was changed."
	case status == http.StatusUnauthorized:
		msg = "Please sign in to see your connected clients."
	case code == grantkit.CodeNotFound:
		msg = "That client is not connected (any more)."
	case status == http.StatusForbidden:
		msg = "You may not disconnect that client."
	}
	return &PageData{View: ViewError, Status: status, Message: msg}
}

// render executes the page's template with data into a buffer and sends
// it with data.Status (200 when unset), so that a failing template sends a
// 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, data *PageData) {
	status := data.Status
	if status == 0 {
		status = http.StatusOK
	}
	var buf bytes.Buffer
	if err := h.cfg.PageTemplate.Execute(&buf, data); err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "httpapi: page template failed",
			slog.String("endpoint", endpointPage), slog.String("error", err.Error()))
		w.Header().Del("Allow")
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
