package mcpauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/interop/mcpauth"
	"github.com/grantkit/grantkit/token"
)

// TestTokenVerifier runs the adapter over a real Verifier on each
// database: an accepted token becomes the TokenInfo the SDK reads; every
// refusal of the Verifier is auth.ErrInvalidToken (the SDK's 401) and keeps
// grantkit's cause; a store failure during the grant check is
// ErrUnavailable and not auth.ErrInvalidToken (the SDK's 500).
func TestTokenVerifier(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		tests := []struct {
			name string
			// setup returns the verifier to adapt and the token to present.
			setup   func(t *testing.T, e *testenv.Env, sess testenv.Session) (mcpauth.Verifier, string)
			want    *auth.TokenInfo // nil: refused
			invalid bool            // refused as auth.ErrInvalidToken
			cause   error           // the error the refusal wraps
		}{
			{
				name: "valid",
				setup: func(t *testing.T, e *testenv.Env, sess testenv.Session) (mcpauth.Verifier, string) {
					return e.Verifier, sess.Resp.AccessToken
				},
				want: &auth.TokenInfo{Scopes: []string{"read", "write"}, UserID: "alice",
					Extra: map[string]any{"client_id": "", "grant_id": "", "subject_kind": "user"}},
			},
			{
				name: "expired",
				setup: func(t *testing.T, e *testenv.Env, sess testenv.Session) (mcpauth.Verifier, string) {
					e.Clock.Advance(token.DefaultAccessTTL + token.DefaultLeeway)
					return e.Verifier, sess.Resp.AccessToken
				},
				invalid: true, cause: token.ErrAccessTokenExpired,
			},
			{
				name: "wrong audience",
				setup: func(t *testing.T, e *testenv.Env, sess testenv.Session) (mcpauth.Verifier, string) {
					other := e.VerifierOver(e.Store, func(c *token.VerifierConfig) { c.Resource = "https://other.example/mcp" })
					return other, sess.Resp.AccessToken
				},
				invalid: true, cause: token.ErrAudience,
			},
			{
				name: "revoked grant",
				setup: func(t *testing.T, e *testenv.Env, sess testenv.Session) (mcpauth.Verifier, string) {
					if _, err := e.Manager.Revoke(t.Context(), []string{sess.Grant.ID}, grant.ReasonTokenRevoked, "alice"); err != nil {
						t.Fatal(err)
					}
					return e.Verifier, sess.Resp.AccessToken
				},
				invalid: true, cause: token.ErrGrantInactive,
			},
			{
				name: "garbage",
				setup: func(t *testing.T, e *testenv.Env, sess testenv.Session) (mcpauth.Verifier, string) {
					return e.Verifier, "not-a-jwt"
				},
				invalid: true, cause: token.ErrMalformed,
			},
			{
				name: "store failure",
				setup: func(t *testing.T, e *testenv.Env, sess testenv.Session) (mcpauth.Verifier, string) {
					// The grant check's read is the failing store's first step.
					return e.VerifierOver(faultstore.Wrap(e.Store, 1)), sess.Resp.AccessToken
				},
				cause: faultstore.ErrInjected,
			},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := testenv.New(t, db)
				sess := e.Login(e.Client(), "alice")
				v, raw := tc.setup(t, e, sess)
				info, err := mcpauth.TokenVerifier(v)(context.Background(), raw, nil)
				if tc.want == nil {
					if err == nil {
						t.Fatalf("accepted, want a refusal wrapping %v", tc.cause)
					}
					if got := errors.Is(err, auth.ErrInvalidToken); got != tc.invalid {
						t.Errorf("errors.Is(%v, auth.ErrInvalidToken) = %t, want %t", err, got, tc.invalid)
					}
					if got := errors.Is(err, mcpauth.ErrUnavailable); got == tc.invalid {
						t.Errorf("errors.Is(%v, ErrUnavailable) = %t, want %t", err, got, !tc.invalid)
					}
					if !errors.Is(err, tc.cause) {
						t.Errorf("error %v does not wrap %v", err, tc.cause)
					}
					if !tc.invalid && err.Error() != mcpauth.ErrUnavailable.Error() {
						t.Errorf("a store failure reads %q, want only %q (the SDK writes it to the body)", err, mcpauth.ErrUnavailable)
					}
					return
				}
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				want := *tc.want
				want.Expiration = e.Clock.Now().Add(token.DefaultAccessTTL).Truncate(time.Second)
				want.Extra = map[string]any{"client_id": sess.Client.ID, "grant_id": sess.Grant.ID, "subject_kind": "user"}
				if diff := cmp.Diff(&want, info); diff != "" {
					t.Errorf("TokenInfo (-want +got):\n%s", diff)
				}
			})
		}
	})
}
