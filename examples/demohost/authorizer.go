package demohost

import (
	"net/http"
	"net/url"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/session"
)

// SubjectKind is the subject kind of every grant the demo starts.
const SubjectKind = "user"

// Authorizer is the demo's httpapi.Authorizer: the user is the one the
// session cookie names; with -dev-login and no cookie, DevSubject, whose
// authorizations are approved at once, without a page.
type Authorizer struct {
	Logins     *Logins
	DevSubject string
	Handler    *httpapi.Handler // set once httpapi.New returned, before serving
}

// User returns who r's browser is: the cookie's user, else devSubject
// (possibly ""); dev reports the latter.
func (a *Authorizer) User(r *http.Request) (subject string, dev bool) {
	if u := a.Logins.User(r); u != "" {
		return u, false
	}
	return a.DevSubject, a.DevSubject != ""
}

// Authenticate implements httpapi.Authorizer. A browser without a user
// is sent to the login page, which comes back to the same authorization
// URL; a decision posted without one is refused.
func (a *Authorizer) Authenticate(w http.ResponseWriter, r *http.Request, _ httpapi.AuthorizeRequest) (httpapi.Login, bool, error) {
	subject, _ := a.User(r)
	if subject != "" {
		return httpapi.Login{Subject: subject, SubjectKind: SubjectKind}, true, nil
	}
	if r.Method != http.MethodGet {
		http.Error(w, "log in first, then authorize again", http.StatusUnauthorized)
		return httpapi.Login{}, false, nil
	}
	http.Redirect(w, r, LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
	return httpapi.Login{}, false, nil
}

// Consent implements httpapi.Authorizer: the -dev-login user approves at
// once, everyone else sees the consent page.
func (a *Authorizer) Consent(w http.ResponseWriter, r *http.Request, p httpapi.Pending) {
	if _, dev := a.User(r); dev && p.Login.Subject == a.DevSubject {
		a.Handler.Approve(w, r, p.ID, p.Login)
		return
	}
	ShowConsent(w, p)
}

// Caller authenticates the caller of the sessions API and page as
// Authenticate does: the cookie's user, else the -dev-login subject, else
// httpapi.ErrUnauthenticated.
func (a *Authorizer) Caller(r *http.Request) (session.Caller, error) {
	subject, _ := a.User(r)
	if subject == "" {
		return session.Caller{}, httpapi.ErrUnauthenticated
	}
	return session.Caller{Subject: subject, Kind: SubjectKind}, nil
}
