package demohost

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/grantkit/grantkit/httpapi"
)

// TestLocalPath checks that the login only ever redirects to a path on
// this server.
func TestLocalPath(t *testing.T) {
	for next, want := range map[string]string{
		"/authorize?client_id=demo": "/authorize?client_id=demo",
		"/":                         "/",
		"":                          PagePath,
		"//evil.example/x":          PagePath,
		"/\\evil.example":           PagePath,
		"https://evil.example/":     PagePath,
		"javascript:alert(1)":       PagePath,
		"/ok\r\nSet-Cookie: x=1":    PagePath,
	} {
		if got := localPath(next); got != want {
			t.Errorf("localPath(%q) = %q, want %q", next, got, want)
		}
	}
}

// TestLoginForm checks the login form's answers: an empty or control
// character username is refused without a cookie, a good one sets an
// HttpOnly SameSite=Lax cookie and redirects to the local next only, and
// a cross-origin POST is refused.
func TestLoginForm(t *testing.T) {
	l := NewLogins(false)
	h := l.Handler()
	post := func(form url.Values, header http.Header) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, name := range []string{"", "   ", "bad\x00name", strings.Repeat("a", maxUsername+1)} {
		if rec := post(url.Values{"username": {name}}, nil); rec.Code != http.StatusBadRequest || rec.Header().Get("Set-Cookie") != "" {
			t.Errorf("username %q: %d, cookie %q; want 400 without a cookie", name, rec.Code, rec.Header().Get("Set-Cookie"))
		}
	}

	rec := post(url.Values{"username": {"erin"}, "next": {"//evil.example/"}}, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != PagePath {
		t.Fatalf("login: %d to %q, want 303 to %s", rec.Code, rec.Header().Get("Location"), PagePath)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != sessionCookie || !cookies[0].HttpOnly ||
		cookies[0].SameSite != http.SameSiteLaxMode || cookies[0].Path != "/" {
		t.Fatalf("cookies %+v, want one HttpOnly SameSite=Lax session cookie", cookies)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(cookies[0])
	if got := l.User(req); got != "erin" {
		t.Fatalf("the session cookie names %q, want erin", got)
	}
	req.Header.Del("Cookie")
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "forged"})
	if got := l.User(req); got != "" {
		t.Fatalf("a forged session id names %q", got)
	}

	rec = post(url.Values{"username": {"mallory"}}, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if rec.Code != http.StatusForbidden || rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("cross-site login: %d, cookie %q; want 403 without a cookie", rec.Code, rec.Header().Get("Set-Cookie"))
	}
}

// TestRateLimit checks the fixed window: limit calls per IP, the next
// refused with httpapi.ErrRateLimited, another IP unaffected, and a new
// window allowing again.
func TestRateLimit(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewRateLimit(2, time.Minute)
	l.now = func() time.Time { return now }
	from := func(addr string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/register", nil)
		r.RemoteAddr = addr
		return r
	}
	for i := range 2 {
		if err := l.Allow(from("192.0.2.1:1000")); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	if err := l.Allow(from("192.0.2.1:2000")); !errors.Is(err, httpapi.ErrRateLimited) {
		t.Fatalf("third call from the same IP: %v, want ErrRateLimited", err)
	}
	if err := l.Allow(from("192.0.2.2:1000")); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	now = now.Add(time.Minute)
	if err := l.Allow(from("192.0.2.1:1000")); err != nil {
		t.Fatalf("next window: %v", err)
	}
}

// TestConsentCSP checks that the consent form may post here and follow
// the redirect to the client, and that an origin that would inject into
// the policy is left out.
func TestConsentCSP(t *testing.T) {
	for origin, want := range map[string]string{
		"http://127.0.0.1:8765": "form-action 'self' http://127.0.0.1:8765;",
		"com.example.app:":      "form-action 'self' com.example.app:;",
		"":                      "form-action 'self';",
		"https://a; script-src": "form-action 'self';",
		"https://a' x":          "form-action 'self';",
	} {
		if got := consentCSP(origin); !strings.Contains(got, want) || !strings.Contains(got, "frame-ancestors 'none'") {
			t.Errorf("consentCSP(%q) = %q, want it to hold %q", origin, got, want)
		}
	}
}
