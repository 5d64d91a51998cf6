package demohost

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grantkit/grantkit/httpapi"
)

// TestConsentPage renders the consent page for a self-registered
// (CIMD) client: the redirect host is shown, the localhost-only warning
// appears only when every redirect URI is a localhost one, the claimed
// name is escaped and marked unverified, and the CSP is set.
func TestConsentPage(t *testing.T) {
	for _, localOnly := range []bool{false, true} {
		p := httpapi.Pending{ID: "req-1", DecisionURL: "https://auth.example/authorize/decision",
			RedirectHost: "127.0.0.1:5555", LocalhostOnly: localOnly,
			Request: httpapi.AuthorizeRequest{RedirectURI: "http://127.0.0.1:5555/cb",
				Client: httpapi.ClientInfo{ID: "https://tool.example/client.json", Name: "<b>Google</b>"}},
			Login: httpapi.Login{Subject: "alice"}}
		rec := httptest.NewRecorder()
		ShowConsent(rec, p)
		body := rec.Body.String()
		for _, want := range []string{"<code>127.0.0.1:5555</code>", "&lt;b&gt;Google&lt;/b&gt;", "(unverified name)"} {
			if !strings.Contains(body, want) {
				t.Errorf("LocalhostOnly %v: the page lacks %q:\n%s", localOnly, want, body)
			}
		}
		if strings.Contains(body, "<b>Google</b>") {
			t.Errorf("the client name is not escaped:\n%s", body)
		}
		if got := strings.Contains(body, "only sends you back to <code>localhost</code>"); got != localOnly {
			t.Errorf("LocalhostOnly %v: warning shown = %v", localOnly, got)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") ||
			!strings.Contains(csp, "form-action 'self' http://127.0.0.1:5555") {
			t.Errorf("CSP = %q", csp)
		}
	}
}
