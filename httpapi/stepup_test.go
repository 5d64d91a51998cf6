package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// challengeScope is the scope parameter of a Bearer challenge.
var challengeScope = regexp.MustCompile(`scope="([^"]*)"`)

// TestStepUp walks the MCP step-up flow (RFC 6750 §3.1, RFC 9728 §5.1):
// a token for "read" calls an operation needing "read write"; the 403
// insufficient_scope challenge names every scope the operation needs and
// the resource metadata; the client re-authorizes on the same binding with
// exactly the challenged scopes and gets a new grant that supersedes the
// old one — the old grant's access and refresh tokens are refused — and
// the new access token passes.
func TestStepUp(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.Client()
		narrow := e.Authorize(c, "alice", "read")
		old := e.Exchange(testenv.CodeRequest(c, narrow))
		b := newBearer(t, e.Verifier)
		op := b.Middleware(b.RequireScopes("read", "write")(&protected{}))

		rec := serve(op, bearerGet("/mcp/tools/write", "Bearer "+old.AccessToken))
		checkRefusal(t, rec, http.StatusForbidden, `Bearer error="insufficient_scope", error_description="`,
			"insufficient_scope")
		m := challengeScope.FindStringSubmatch(rec.Header().Get("WWW-Authenticate"))
		if m == nil {
			t.Fatalf("challenge %q has no scope", rec.Header().Get("WWW-Authenticate"))
		}
		scopes := strings.Fields(m[1])
		if d := cmp.Diff([]string{"read", "write"}, scopes); d != "" {
			t.Fatalf("challenged scopes (-want +got):\n%s", d)
		}

		wide := e.Authorize(c, "alice", scopes...)
		fresh := e.Exchange(testenv.CodeRequest(c, wide))
		if wide.Grant.ID == narrow.Grant.ID {
			t.Fatal("re-authorizing with a wider scope kept the old grant")
		}
		if g := e.Grant(narrow.Grant.ID); g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonSuperseded {
			t.Errorf("old grant: %s (%q), want revoked as superseded", g.Status, g.RevokeReason)
		}
		if g := e.Grant(wide.Grant.ID); g.Status != store.GrantActive || !cmp.Equal(g.Scopes, scopes) {
			t.Errorf("new grant: %s with %v, want active with %v", g.Status, g.Scopes, scopes)
		}
		next := &protected{}
		if rec := serve(b.Middleware(b.RequireScopes("read", "write")(next)), bearerGet("/mcp/tools/write",
			"Bearer "+fresh.AccessToken)); rec.Code != http.StatusTeapot || next.calls.Load() != 1 {
			t.Errorf("the stepped-up token: %d, next called %d times; want it to pass", rec.Code, next.calls.Load())
		}
		rec = serve(op, bearerGet("/mcp/tools/write", "Bearer "+old.AccessToken))
		checkRefusal(t, rec, http.StatusUnauthorized, `Bearer error="invalid_token", error_description="`, "invalid_token")
		if _, err := e.Server.Refresh(ctx, c.RefreshRequest(old.RefreshToken)); !errors.Is(err, token.ErrInvalidGrant) {
			t.Errorf("the superseded grant's refresh token: %v, want invalid_grant", err)
		}
	})
}
