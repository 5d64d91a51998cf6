package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// introspectAs is the introspection of raw by c with hint.
func introspectAs(c testenv.Client, raw, hint string) token.IntrospectionRequest {
	return token.IntrospectionRequest{ClientID: c.ID, ClientSecret: c.Secret, Token: raw, TokenTypeHint: hint}
}

// accessAnswer is the active introspection of an access token with claims c.
func accessAnswer(c token.Claims) token.Introspection {
	in := token.Introspection{Active: true, TokenType: "Bearer", Scope: c.Scope, ClientID: c.ClientID,
		Subject: c.Subject, SubjectKind: c.SubjectKind, Audience: c.Audience, Issuer: c.Issuer, JWTID: c.ID,
		ExpiresAt: c.Expiry.Time(), IssuedAt: c.IssuedAt.Time(), GrantID: c.GrantID}
	if c.NotBefore != nil {
		in.NotBefore = c.NotBefore.Time()
	}
	return in
}

// refreshAnswer is the active introspection of refresh token raw of sess.
func (e *env) refreshAnswer(sess testenv.Session, raw string) token.Introspection {
	e.T.Helper()
	row := e.refreshRow(raw)
	exp := row.ExpiresAt
	if !row.FamilyExpiresAt.IsZero() && (exp.IsZero() || row.FamilyExpiresAt.Before(exp)) {
		exp = row.FamilyExpiresAt
	}
	return token.Introspection{Active: true, TokenType: token.HintRefreshToken, Scope: "read write",
		ClientID: sess.Client.ID, Subject: sess.Grant.Subject, SubjectKind: sess.Grant.SubjectKind,
		Issuer: testenv.Issuer, JWTID: row.ID, ExpiresAt: exp, IssuedAt: row.CreatedAt, GrantID: sess.Grant.ID}
}

// inactive is the answer about every token that is not active.
var inactive = token.Introspection{}

// revokeGrant revokes g as its user would.
func (e *env) revokeGrant(g store.Grant) {
	e.T.Helper()
	if _, err := e.Manager.Revoke(context.Background(), []string{g.ID}, grant.ReasonUserRevoked, g.Subject); err != nil {
		e.T.Fatal(err)
	}
}

// TestIntrospect is Introspect's table test (RFC 7662 §2): the caller's
// own valid access and refresh tokens are active with every §2.2 member,
// whatever the hint; revoked, expired, rotated, foreign-signed and broken
// tokens, tokens whose claims no longer match their grant and other
// clients' tokens are inactive (Introspection{}), unless
// ServerConfig.MayIntrospect lets the caller see the latter; a public or
// unauthenticated caller, a missing token and an unsupported hint are
// refused. Nothing changes in the database either way.
func TestIntrospect(t *testing.T) {
	t.Parallel()
	allowAll := func(c *token.ServerConfig) {
		c.MayIntrospect = func(store.Client, store.Grant) bool { return true }
	}
	// rsOnly lets the client "rs" introspect the grants of testenv.Resource.
	rsOnly := func(c *token.ServerConfig) {
		c.MayIntrospect = func(caller store.Client, g store.Grant) bool {
			return caller.ID == "rs" && g.Resource == testenv.Resource
		}
	}
	resourceServer := func(e *env) testenv.Client {
		return e.client(testenv.Confidential, func(md *grant.ClientMetadata) { md.ID = "rs" })
	}
	cases := []struct {
		name  string
		opts  []func(*token.ServerConfig)
		setup func(e *env) (token.IntrospectionRequest, token.Introspection)
		want  error
	}{
		{name: "own access token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			return introspectAs(s.Client, s.Resp.AccessToken, token.HintAccessToken), accessAnswer(s.Resp.Claims)
		}},
		{name: "own access token, hint refresh_token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			return introspectAs(s.Client, s.Resp.AccessToken, token.HintRefreshToken), accessAnswer(s.Resp.Claims)
		}},
		{name: "own refresh token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			return introspectAs(s.Client, s.Resp.RefreshToken, ""), e.refreshAnswer(s, s.Resp.RefreshToken)
		}},
		{name: "own refresh token, hint access_token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			return introspectAs(s.Client, s.Resp.RefreshToken, token.HintAccessToken), e.refreshAnswer(s, s.Resp.RefreshToken)
		}},
		{name: "refresh token near its absolute expiry", opts: []func(*token.ServerConfig){func(c *token.ServerConfig) {
			c.RefreshAbsoluteTTL = time.Hour
		}}, setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			want := e.refreshAnswer(s, s.Resp.RefreshToken)
			if !want.ExpiresAt.Equal(testenv.T0.Add(time.Hour)) {
				t.Fatalf("exp %v, want the family's expiry", want.ExpiresAt)
			}
			return introspectAs(s.Client, s.Resp.RefreshToken, ""), want
		}},
		{name: "refresh token that never expires", opts: []func(*token.ServerConfig){func(c *token.ServerConfig) {
			c.RefreshIdleTTL, c.RefreshAbsoluteTTL = token.Unlimited, token.Unlimited
		}}, setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			want := e.refreshAnswer(s, s.Resp.RefreshToken)
			if !want.ExpiresAt.IsZero() {
				t.Fatalf("exp %v, want none", want.ExpiresAt)
			}
			return introspectAs(s.Client, s.Resp.RefreshToken, ""), want
		}},
		{name: "access token of another resource", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			c := e.client(testenv.Confidential)
			_, raw, claims := otherResource(e, c)
			return introspectAs(c, raw, ""), accessAnswer(claims)
		}},
		{name: "access token of a revoked grant", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			e.revokeGrant(s.Grant)
			return introspectAs(s.Client, s.Resp.AccessToken, ""), inactive
		}},
		{name: "refresh token of a revoked grant", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			e.revokeGrant(s.Grant)
			return introspectAs(s.Client, s.Resp.RefreshToken, ""), inactive
		}},
		{name: "expired access token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			e.Clock.Advance(e.Minter.TTL())
			return introspectAs(s.Client, s.Resp.AccessToken, ""), inactive
		}},
		{name: "idle-expired refresh token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			e.Clock.Advance(token.DefaultRefreshIdleTTL)
			return introspectAs(s.Client, s.Resp.RefreshToken, ""), inactive
		}},
		{name: "absolute-expired refresh token", opts: []func(*token.ServerConfig){func(c *token.ServerConfig) {
			c.RefreshAbsoluteTTL = time.Hour
		}}, setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			e.Clock.Advance(time.Hour)
			return introspectAs(s.Client, s.Resp.RefreshToken, ""), inactive
		}},
		{name: "rotated refresh token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			e.MustRefresh(s.Client, s.Resp.RefreshToken)
			return introspectAs(s.Client, s.Resp.RefreshToken, ""), inactive
		}},
		{name: "unknown refresh token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			return introspectAs(s.Client, "gk_rt_unknown", ""), inactive
		}},
		{name: "malformed token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			return introspectAs(s.Client, "a.b.c", ""), inactive
		}},
		{name: "bad signature", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			return introspectAs(s.Client, tamper(t, s.Resp.AccessToken), ""), inactive
		}},
		{name: "another issuer", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			claims := claimMap(e.Env, s.Grant, "read")
			claims["iss"] = "https://evil.example"
			return introspectAs(s.Client, sign(t, token.EdDSA, e.Key.Private, e.Key.ID, token.TypeATJWT, claims), ""), inactive
		}},
		{name: "typ JWT", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			claims := claimMap(e.Env, s.Grant, "read")
			return introspectAs(s.Client, sign(t, token.EdDSA, e.Key.Private, e.Key.ID, "JWT", claims), ""), inactive
		}},
		{name: "scope beyond the grant", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			claims := claimMap(e.Env, s.Grant, "read", "admin")
			return introspectAs(s.Client, sign(t, token.EdDSA, e.Key.Private, e.Key.ID, token.TypeATJWT, claims), ""), inactive
		}},
		{name: "config_version changed", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			claims := claimMap(e.Env, s.Grant, "read")
			claims["config_version"] = s.Grant.ConfigVersion + 1
			return introspectAs(s.Client, sign(t, token.EdDSA, e.Key.Private, e.Key.ID, token.TypeATJWT, claims), ""), inactive
		}},
		{name: "another subject", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			claims := claimMap(e.Env, s.Grant, "read")
			claims["sub"] = "mallory"
			return introspectAs(s.Client, sign(t, token.EdDSA, e.Key.Private, e.Key.ID, token.TypeATJWT, claims), ""), inactive
		}},
		{name: "audience other than the grant's", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			claims := claimMap(e.Env, s.Grant, "read")
			claims["aud"] = []string{"https://other.example/api"}
			return introspectAs(s.Client, sign(t, token.EdDSA, e.Key.Private, e.Key.ID, token.TypeATJWT, claims), ""), inactive
		}},
		{name: "another client's access token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice")
			return introspectAs(e.client(testenv.Confidential), s.Resp.AccessToken, ""), inactive
		}},
		{name: "another client's refresh token", setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice")
			return introspectAs(e.client(testenv.Confidential), s.Resp.RefreshToken, ""), inactive
		}},
		{name: "another client's access token, MayIntrospect allows", opts: []func(*token.ServerConfig){allowAll},
			setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
				s := e.login("alice")
				return introspectAs(e.client(testenv.Confidential), s.Resp.AccessToken, ""), accessAnswer(s.Resp.Claims)
			}},
		{name: "another client's refresh token, MayIntrospect allows", opts: []func(*token.ServerConfig){allowAll},
			setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
				s := e.login("alice")
				return introspectAs(e.client(testenv.Confidential), s.Resp.RefreshToken, ""), e.refreshAnswer(s, s.Resp.RefreshToken)
			}},
		{name: "resource server for its resource", opts: []func(*token.ServerConfig){rsOnly},
			setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
				s := e.login("alice")
				return introspectAs(resourceServer(e), s.Resp.AccessToken, ""), accessAnswer(s.Resp.Claims)
			}},
		{name: "resource server for another resource", opts: []func(*token.ServerConfig){rsOnly},
			setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
				_, raw, _ := otherResource(e, e.client())
				return introspectAs(resourceServer(e), raw, ""), inactive
			}},
		{name: "another client, MayIntrospect refuses", opts: []func(*token.ServerConfig){rsOnly},
			setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
				s := e.login("alice")
				return introspectAs(e.client(testenv.Confidential), s.Resp.AccessToken, ""), inactive
			}},
		{name: "MayIntrospect allows, grant revoked", opts: []func(*token.ServerConfig){allowAll},
			setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
				s := e.login("alice")
				e.revokeGrant(s.Grant)
				return introspectAs(e.client(testenv.Confidential), s.Resp.AccessToken, ""), inactive
			}},
		{name: "public client", want: grant.ErrInvalidClient, setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice")
			return introspectAs(s.Client, s.Resp.AccessToken, ""), inactive
		}},
		{name: "wrong secret", want: grant.ErrInvalidClient, setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			req := introspectAs(s.Client, s.Resp.AccessToken, "")
			req.ClientSecret = "gk_cs_wrong"
			return req, inactive
		}},
		{name: "unknown client", want: grant.ErrInvalidClient, setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			req := introspectAs(s.Client, s.Resp.AccessToken, "")
			req.ClientID = "nobody"
			return req, inactive
		}},
		{name: "no token", want: grant.ErrInvalidRequest, setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			return introspectAs(s.Client, "", ""), inactive
		}},
		{name: "unsupported hint", want: token.ErrUnsupportedTokenType, setup: func(e *env) (token.IntrospectionRequest, token.Introspection) {
			s := e.login("alice", testenv.Confidential)
			return introspectAs(s.Client, s.Resp.AccessToken, "id_token"), inactive
		}},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db, tt.opts...)
				req, want := tt.setup(e)
				before := e.Snapshot()
				got, err := e.Server.Introspect(context.Background(), req)
				if !testenv.Is(err, tt.want) {
					t.Fatalf("Introspect: %v, want %v", err, tt.want)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Introspect (-want +got):\n%s", diff)
				}
				unchangedDB(t, before, e.Snapshot())
			})
		}
	})
}
