package demohost

import (
	"crypto/rand"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"
)

// sessionCookie names the cookie that carries a login session's id.
const sessionCookie = "grantkit_demo_session"

// maxUsername bounds the username the demo login accepts, in bytes.
const maxUsername = 128

// Logins are the demo's login sessions: a random id, kept in a cookie,
// for the subject who logged in. They live in memory, so a restart logs
// everybody out.
type Logins struct {
	secure bool // the cookie's Secure attribute: the issuer is https
	mu     sync.Mutex
	byID   map[string]string
}

// NewLogins returns an empty set of login sessions; secure sets the
// cookie's Secure attribute (an https issuer).
func NewLogins(secure bool) *Logins {
	return &Logins{secure: secure, byID: make(map[string]string)}
}

// User returns the subject r's session cookie names; "" without a
// cookie or for an unknown session.
func (l *Logins) User(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byID[c.Value]
}

// start opens a session for subject and sets its cookie on w.
func (l *Logins) start(w http.ResponseWriter, subject string) {
	id := rand.Text()
	l.mu.Lock()
	l.byID[id] = subject
	l.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: l.secure, SameSite: http.SameSiteLaxMode})
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Log in — grantkit demo</title></head>
<body>
<h1>Log in</h1>
<p>A demo: any username logs in, no password.</p>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="next" value="{{.Next}}">
<label>Username <input name="username" autofocus required maxlength="128"></label>
<button type="submit">Log in</button>
</form>
</body>
</html>
`))

// loginData is what loginPage is executed with.
type loginData struct {
	Next  string
	Error string
}

// Handler serves GET /login (the form) and POST /login (form field
// username; next, a local path to go back to). The POST is refused from
// another origin, so no site can log a browser in as someone else.
func (l *Logins) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	return cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			showLogin(w, http.StatusOK, loginData{Next: localPath(r.URL.Query().Get("next"))})
		case http.MethodPost:
			r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
			if err := r.ParseForm(); err != nil {
				showLogin(w, http.StatusBadRequest, loginData{Error: "The form did not parse."})
				return
			}
			next := localPath(r.PostForm.Get("next"))
			username := strings.TrimSpace(r.PostForm.Get("username"))
			if username == "" || len(username) > maxUsername || !utf8.ValidString(username) ||
				strings.ContainsFunc(username, isControl) {
				showLogin(w, http.StatusBadRequest, loginData{Next: next,
					Error: "Enter a username of at most 128 bytes of printable text."})
				return
			}
			l.start(w, username)
			http.Redirect(w, r, next, http.StatusSeeOther)
		default:
			w.Header().Set("Allow", "GET, HEAD, POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	}))
}

func showLogin(w http.ResponseWriter, status int, d loginData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, d)
}

// localPath returns next if it is a path on this server — it starts
// with "/" but not "//" or "/\", which browsers read as another host —
// and "/connected-clients" otherwise, so the login never redirects
// elsewhere.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsFunc(next, isControl) {
		return PagePath
	}
	return next
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
