package httpapi_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
)

// lockedBuffer is a log sink safe for the handlers' goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNoTokenInLogs fails every store call of a code exchange and of a
// refresh with a logger that records everything: the server errors are
// logged, and the log never holds the code, the refresh token or the
// client secret presented.
func TestNoTokenInLogs(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		var logs lockedBuffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		e := &env{Env: testenv.New(t, db, testenv.WithGrantConfig(func(c *grant.Config) { c.Logger = logger }))}
		c := e.Client(testenv.Confidential)
		code := e.Authorize(c, "alice").Code
		sess := e.Login(c, "bob")
		secrets := []string{code, sess.Resp.RefreshToken, c.Secret}
		reqs := []req{
			post("/token", form(codeForm(code, testenv.RedirectURI)...)).basic(c.ID, c.Secret),
			post("/token", form("grant_type", "refresh_token", "refresh_token", sess.Resp.RefreshToken,
				"client_id", c.ID, "client_secret", c.Secret)),
		}
		for _, r := range reqs {
			for k := 1; k <= 8; k++ {
				if rec := serve(e.MuxOver(faultstore.Wrap(e.Store, k)), r); rec.Code < 500 && rec.Code != 200 {
					t.Fatalf("failure at call %d: status %d", k, rec.Code)
				}
			}
		}
		out := logs.String()
		if !strings.Contains(out, "httpapi: request failed") {
			t.Fatalf("no server error was logged; the test proves nothing:\n%s", out)
		}
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("the log holds a credential (%.8s…):\n%s", s, out)
			}
		}
	})
}
