package token_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// revocable is what a revocation test revokes: a session of alice and
// the request that presents one of its tokens.
type revocable struct {
	sess testenv.Session
	req  token.RevocationRequest
}

// revokeAs is the revocation of raw by sess's client with hint.
func revokeAs(c testenv.Client, raw, hint string) token.RevocationRequest {
	return token.RevocationRequest{ClientID: c.ID, ClientSecret: c.Secret, Token: raw, TokenTypeHint: hint}
}

// otherResource authorizes alice with c for a resource other than the
// Verifier's and returns an access token of that grant with its claims.
func otherResource(e *env, c testenv.Client) (store.Grant, string, token.Claims) {
	e.T.Helper()
	req := testenv.Request(c.ID, "alice")
	req.Resource = "https://other.example/api"
	g := e.ActiveGrant(req).Grant
	raw, claims, err := e.Minter.Mint(g, []string{"read"}, token.SourceOAuthClient, e.Clock.Now())
	if err != nil {
		e.T.Fatal(err)
	}
	return g, raw, claims
}

// TestRevoke is Revoke's table test (RFC 7009 §2): a refresh or access
// token of the authenticated client, whatever the hint says, revokes its
// whole grant through the cascade (reason token_revoked, actor the
// client, one grant.revoked event), after which the refresh token is
// invalid_grant and the access token fails the Verifier; an unknown,
// malformed, foreign-signed or already revoked token returns nil and
// changes nothing; another client's token, bad credentials, a missing
// token and an unsupported hint are refused with their sentinel and
// change nothing either.
func TestRevoke(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(e *env) revocable
		// want is Revoke's error; revoked says the session's grant must be
		// revoked afterwards (otherwise the database must be unchanged).
		want    error
		revoked bool
	}{
		{name: "refresh token, public client", revoked: true, setup: func(e *env) revocable {
			s := e.login("alice")
			return revocable{s, revokeAs(s.Client, s.Resp.RefreshToken, "")}
		}},
		{name: "refresh token, confidential client, hint refresh_token", revoked: true, setup: func(e *env) revocable {
			s := e.login("alice", testenv.Confidential)
			return revocable{s, revokeAs(s.Client, s.Resp.RefreshToken, token.HintRefreshToken)}
		}},
		{name: "refresh token with hint access_token", revoked: true, setup: func(e *env) revocable {
			s := e.login("alice", testenv.Confidential)
			return revocable{s, revokeAs(s.Client, s.Resp.RefreshToken, token.HintAccessToken)}
		}},
		{name: "access token, hint access_token", revoked: true, setup: func(e *env) revocable {
			s := e.login("alice", testenv.Confidential)
			return revocable{s, revokeAs(s.Client, s.Resp.AccessToken, token.HintAccessToken)}
		}},
		{name: "access token with hint refresh_token", revoked: true, setup: func(e *env) revocable {
			s := e.login("alice")
			return revocable{s, revokeAs(s.Client, s.Resp.AccessToken, token.HintRefreshToken)}
		}},
		{name: "expired access token", revoked: true, setup: func(e *env) revocable {
			s := e.login("alice")
			e.Clock.Advance(e.Minter.TTL() + time.Hour)
			return revocable{s, revokeAs(s.Client, s.Resp.AccessToken, "")}
		}},
		{name: "access token minted by a refresh", revoked: true, setup: func(e *env) revocable {
			s := e.login("alice")
			resp := e.MustRefresh(s.Client, s.Resp.RefreshToken)
			return revocable{s, revokeAs(s.Client, resp.AccessToken, "")}
		}},
		{name: "expired refresh token", revoked: true, setup: func(e *env) revocable {
			s := e.login("alice")
			e.Clock.Advance(token.DefaultRefreshIdleTTL + time.Hour)
			return revocable{s, revokeAs(s.Client, s.Resp.RefreshToken, "")}
		}},
		{name: "unknown refresh token", setup: func(e *env) revocable {
			s := e.login("alice")
			return revocable{s, revokeAs(s.Client, "gk_rt_unknown", token.HintRefreshToken)}
		}},
		{name: "malformed token", setup: func(e *env) revocable {
			s := e.login("alice")
			return revocable{s, revokeAs(s.Client, "not a token", "")}
		}},
		{name: "access token with a bad signature", setup: func(e *env) revocable {
			s := e.login("alice")
			return revocable{s, revokeAs(s.Client, tamper(t, s.Resp.AccessToken), token.HintAccessToken)}
		}},
		{name: "access token of another issuer", setup: func(e *env) revocable {
			s := e.login("alice")
			claims := claimMap(e.Env, s.Grant, "read")
			claims["iss"] = "https://evil.example"
			return revocable{s, revokeAs(s.Client, sign(t, token.EdDSA, e.Key.Private, e.Key.ID, token.TypeATJWT, claims), "")}
		}},
		{name: "access token signed by an unknown key", setup: func(e *env) revocable {
			s := e.login("alice")
			k := testenv.NewKey(t, token.EdDSA)
			claims := claimMap(e.Env, s.Grant, "read")
			return revocable{s, revokeAs(s.Client, sign(t, token.EdDSA, k.Private, k.ID, token.TypeATJWT, claims), "")}
		}},
		{name: "access token without typ at+jwt", setup: func(e *env) revocable {
			s := e.login("alice")
			claims := claimMap(e.Env, s.Grant, "read")
			return revocable{s, revokeAs(s.Client, sign(t, token.EdDSA, e.Key.Private, e.Key.ID, "JWT", claims), "")}
		}},
		{name: "refresh token rotated away", setup: func(e *env) revocable {
			s := e.login("alice")
			e.MustRefresh(s.Client, s.Resp.RefreshToken)
			return revocable{s, revokeAs(s.Client, s.Resp.RefreshToken, "")}
		}},
		{name: "refresh token of a revoked grant", setup: func(e *env) revocable {
			s := e.login("alice")
			if _, err := e.Manager.Revoke(context.Background(), []string{s.Grant.ID}, grant.ReasonUserRevoked, "alice"); err != nil {
				t.Fatal(err)
			}
			return revocable{s, revokeAs(s.Client, s.Resp.RefreshToken, "")}
		}},
		{name: "access token of a revoked grant", setup: func(e *env) revocable {
			s := e.login("alice")
			if _, err := e.Manager.Revoke(context.Background(), []string{s.Grant.ID}, grant.ReasonUserRevoked, "alice"); err != nil {
				t.Fatal(err)
			}
			return revocable{s, revokeAs(s.Client, s.Resp.AccessToken, "")}
		}},
		{name: "another client's refresh token", want: grant.ErrUnauthorizedClient, setup: func(e *env) revocable {
			s := e.login("alice")
			other := e.client(testenv.Confidential)
			return revocable{s, revokeAs(other, s.Resp.RefreshToken, "")}
		}},
		{name: "another client's access token", want: grant.ErrUnauthorizedClient, setup: func(e *env) revocable {
			s := e.login("alice")
			other := e.client()
			return revocable{s, revokeAs(other, s.Resp.AccessToken, "")}
		}},
		{name: "another client's rotated refresh token", want: grant.ErrUnauthorizedClient, setup: func(e *env) revocable {
			s := e.login("alice")
			e.MustRefresh(s.Client, s.Resp.RefreshToken)
			return revocable{s, revokeAs(e.client(), s.Resp.RefreshToken, "")}
		}},
		{name: "wrong secret", want: grant.ErrInvalidClient, setup: func(e *env) revocable {
			s := e.login("alice", testenv.Confidential)
			req := revokeAs(s.Client, s.Resp.RefreshToken, "")
			req.ClientSecret = "gk_cs_wrong"
			return revocable{s, req}
		}},
		{name: "confidential client without its secret", want: grant.ErrInvalidClient, setup: func(e *env) revocable {
			s := e.login("alice", testenv.Confidential)
			req := revokeAs(s.Client, s.Resp.RefreshToken, "")
			req.ClientSecret = ""
			return revocable{s, req}
		}},
		{name: "public client with a secret", want: grant.ErrInvalidClient, setup: func(e *env) revocable {
			s := e.login("alice")
			req := revokeAs(s.Client, s.Resp.RefreshToken, "")
			req.ClientSecret = "gk_cs_guess"
			return revocable{s, req}
		}},
		{name: "unknown client", want: grant.ErrInvalidClient, setup: func(e *env) revocable {
			s := e.login("alice")
			req := revokeAs(s.Client, s.Resp.RefreshToken, "")
			req.ClientID = "nobody"
			return revocable{s, req}
		}},
		{name: "no token", want: grant.ErrInvalidRequest, setup: func(e *env) revocable {
			s := e.login("alice")
			return revocable{s, revokeAs(s.Client, "", "")}
		}},
		{name: "unsupported hint", want: token.ErrUnsupportedTokenType, setup: func(e *env) revocable {
			s := e.login("alice")
			return revocable{s, revokeAs(s.Client, s.Resp.RefreshToken, "id_token")}
		}},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db)
				r := tt.setup(e)
				before, heard := e.Snapshot(), len(e.Events.Types())
				err := e.Server.Revoke(context.Background(), r.req)
				if !testenv.Is(err, tt.want) {
					t.Fatalf("Revoke: %v, want %v", err, tt.want)
				}
				if tt.want != nil {
					if code := errCode(err); code == "server_error" {
						t.Errorf("Revoke refused with %v, answered server_error", err)
					}
				}
				if !tt.revoked {
					unchangedDB(t, before, e.Snapshot())
					if got := e.Events.Types(); len(got) != heard {
						t.Errorf("the observer heard %v", got[heard:])
					}
					return
				}
				g := e.Grant(r.sess.Grant.ID)
				if g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonTokenRevoked {
					t.Errorf("grant is %s (%q), want revoked (%q)", g.Status, g.RevokeReason, grant.ReasonTokenRevoked)
				}
				revokedRows := testenv.AuditRows(e.Snapshot(), grant.EventGrantRevoked)
				var actors []any
				for _, row := range revokedRows {
					actors = append(actors, row["actor"])
				}
				if diff := cmp.Diff([]any{r.sess.Client.ID}, actors); diff != "" {
					t.Errorf("grant.revoked audit actors (-want +got):\n%s", diff)
				}
				if got := e.Events.Types()[heard:]; !cmp.Equal(got, []string{grant.EventGrantRevoked}) {
					t.Errorf("the observer heard %v, want grant.revoked", got)
				}
				if _, err := e.Refresh(r.sess.Client, r.sess.Resp.RefreshToken); !errors.Is(err, token.ErrInvalidGrant) {
					t.Errorf("refresh after revocation: %v, want invalid_grant", err)
				}
				if _, err := e.Verify(r.sess.Resp.AccessToken); err == nil {
					t.Error("the access token still verifies after revocation")
				}
				// Revoking again is a no-op: nil, and no second event.
				after := e.Snapshot()
				if err := e.Server.Revoke(context.Background(), r.req); err != nil {
					t.Errorf("second Revoke: %v", err)
				}
				unchangedDB(t, after, e.Snapshot())
			})
		}
	})
}

// TestRevokeAnyResource revokes the grant of an access token whose
// audience is not the Verifier's resource: the authorization server
// revokes tokens of every resource it serves.
func TestRevokeAnyResource(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := newEnv(t, db)
		c := e.client()
		g, raw, _ := otherResource(e, c)
		if err := e.Server.Revoke(context.Background(), revokeAs(c, raw, "")); err != nil {
			t.Fatal(err)
		}
		if got := e.Grant(g.ID); got.Status != store.GrantRevoked {
			t.Errorf("grant is %s, want revoked", got.Status)
		}
	})
}

// unchangedDB fails if the database differs from before.
func unchangedDB(t *testing.T, before, after testenv.Snap) {
	t.Helper()
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the database changed (-before +after):\n%s", diff)
	}
}
