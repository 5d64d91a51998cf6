package demohost

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/grantkit/grantkit/httpapi"
)

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Authorize — grantkit demo</title></head>
<body>
<h1>Authorize “{{.Client}}”{{if not .Verified}} <small>(unverified name)</small>{{end}}?</h1>
<p>Logged in as <strong>{{.Subject}}</strong>.</p>
{{if not .Verified}}<p>This client registered itself: its name is its own claim, not checked by this server.</p>{{end}}
{{if .LocalhostOnly}}<p><strong>Warning:</strong> this client only sends you back to <code>localhost</code>: the authorization goes to whatever program runs on your computer, whatever name it claims. Approve only if you started it yourself.</p>{{end}}
<dl>
<dt>Client id</dt><dd><code>{{.ClientID}}</code></dd>
<dt>Sends you back to</dt><dd><code>{{.RedirectHost}}</code></dd>
<dt>Scopes</dt><dd>{{range .Scopes}}<code>{{.}}</code> {{else}}none{{end}}</dd>
<dt>Resource</dt><dd>{{if .Resource}}<code>{{.Resource}}</code>{{else}}none{{end}}</dd>
</dl>
{{if .Reused}}<p>You approved this before.</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="{{.RequestField}}" value="{{.RequestID}}">
<button type="submit" name="{{.DecisionField}}" value="{{.Approve}}">Approve</button>
<button type="submit" name="{{.DecisionField}}" value="{{.Deny}}">Deny</button>
</form>
</body>
</html>
`))

// consentData is what consentPage is executed with.
type consentData struct {
	Client, ClientID, Subject, RedirectHost, Resource string
	Verified, Reused, LocalhostOnly                   bool
	Scopes                                            []string
	Action, RequestField, RequestID                   string
	DecisionField, Approve, Deny                      string
}

// ShowConsent answers with the consent page for p: the client's name
// (marked unverified for a dynamically registered one), the host its
// redirect URI points to, a warning when every redirect URI of the client
// is a localhost one, the scopes and resource, and the form that posts
// the decision to p.DecisionURL.
func ShowConsent(w http.ResponseWriter, p httpapi.Pending) {
	origin := ""
	if u, err := url.Parse(p.Request.RedirectURI); err == nil {
		if u.Host != "" {
			origin = u.Scheme + "://" + u.Host
		} else {
			origin = u.Scheme + ":"
		}
	}
	d := consentData{
		Client: p.Request.Client.Name, ClientID: p.Request.Client.ID, Subject: p.Login.Subject,
		RedirectHost: p.RedirectHost, Resource: p.Request.Resource, Verified: p.Request.Client.NameVerified,
		Reused: p.Reused, Scopes: p.Request.Scopes, LocalhostOnly: p.LocalhostOnly,
		Action: p.DecisionURL, RequestField: httpapi.DecisionRequestField, RequestID: p.ID,
		DecisionField: httpapi.DecisionField, Approve: httpapi.DecisionApprove, Deny: httpapi.DecisionDeny,
	}
	if d.Client == "" {
		d.Client = p.Request.Client.ID
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", consentCSP(origin))
	w.Header().Set("X-Frame-Options", "DENY")
	_ = consentPage.Execute(w, d)
}

// consentCSP is the consent page's Content-Security-Policy: no script,
// no framing (clickjacking the Approve button), and the form posted only
// to this origin — whose answer redirects to the client, so its
// redirect URI's origin (or private-use scheme) is allowed too, as
// browsers apply form-action to the redirects that follow a submission.
// An origin that could break out of the source list is left out: the
// redirect is then blocked, never the policy widened.
func consentCSP(redirectOrigin string) string {
	formAction := "'self'"
	if redirectOrigin != "" && !strings.ContainsFunc(redirectOrigin, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || strings.ContainsRune(";,'\"", r)
	}) {
		formAction += " " + redirectOrigin
	}
	return "default-src 'none'; form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
}
