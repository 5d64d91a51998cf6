package main

import (
	"net/http"
	"net/url"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/session"
)

// subjectKind is the subject kind of every grant the demo starts.
const subjectKind = "user"

// authorizer is the demo's httpapi.Authorizer: the user is the one the
// session cookie names; with -dev-login and no cookie, devSubject, whose
// authorizations are approved at once, without a page.
type authorizer struct {
	logins     *logins
	devSubject string
	handler    *httpapi.Handler // set once httpapi.New returned, before serving
}

// user returns who r's browser is: the cookie's user, else devSubject
// (possibly ""); dev reports the latter.
func (a *authorizer) user(r *http.Request) (subject string, dev bool) {
	if u := a.logins.user(r); u != "" {
		return u, false
	}
	return a.devSubject, a.devSubject != ""
}

// Authenticate implements httpapi.Authorizer. A browser without a user
// is sent to the login page, which comes back to the same authorization
// URL; a decision posted without one is refused.
func (a *authorizer) Authenticate(w http.ResponseWriter, r *http.Request, _ httpapi.AuthorizeRequest) (httpapi.Login, bool, error) {
	subject, _ := a.user(r)
	if subject != "" {
		return httpapi.Login{Subject: subject, SubjectKind: subjectKind}, true, nil
	}
	if r.Method != http.MethodGet {
		http.Error(w, "log in first, then authorize again", http.StatusUnauthorized)
		return httpapi.Login{}, false, nil
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	return httpapi.Login{}, false, nil
}

// Consent implements httpapi.Authorizer: the -dev-login user approves at
// once, everyone else sees the consent page.
func (a *authorizer) Consent(w http.ResponseWriter, r *http.Request, p httpapi.Pending) {
	if _, dev := a.user(r); dev && p.Login.Subject == a.devSubject {
		a.handler.Approve(w, r, p.ID, p.Login)
		return
	}
	showConsent(w, p)
}

// caller authenticates the caller of the sessions API and page as
// Authenticate does: the cookie's user, else the -dev-login subject, else
// httpapi.ErrUnauthenticated.
func (a *authorizer) caller(r *http.Request) (session.Caller, error) {
	subject, _ := a.user(r)
	if subject == "" {
		return session.Caller{}, httpapi.ErrUnauthenticated
	}
	return session.Caller{Subject: subject, Kind: subjectKind}, nil
}
