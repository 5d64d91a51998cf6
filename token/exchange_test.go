package token_test

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/token"
)

// TestExchangeCode redeems a code (SPEC §4.1) as a public client with
// PKCE, as a confidential client with its secret, and as a client without
// the refresh_token grant type: the access token verifies for the grant's
// resource with the grant's claims, the refresh token (when the client may
// refresh) carries the gk_rt_ prefix and is stored only as its hash, the
// code is marked used, and no token or code material is stored.
func TestExchangeCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		client      []func(*grant.ClientMetadata)
		wantRefresh bool
	}{
		{"public client with PKCE", nil, true},
		{"confidential client with secret", []func(*grant.ClientMetadata){testenv.Confidential}, true},
		{"client without refresh_token grant type", []func(*grant.ClientMetadata){testenv.NoRefresh}, false},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db)
				c := e.client(tt.client...)
				ap := e.Authorize(c, "alice")
				resp := e.Exchange(testenv.CodeRequest(c, ap))

				if resp.TokenType != "Bearer" || resp.ExpiresIn != int64(token.DefaultAccessTTL/time.Second) || resp.Scope != "read write" {
					t.Errorf("response: type %q, expires_in %d, scope %q", resp.TokenType, resp.ExpiresIn, resp.Scope)
				}
				claims, err := e.Verify(resp.AccessToken)
				if err != nil {
					t.Fatalf("the access token does not verify: %v", err)
				}
				want := token.Claims{Issuer: testenv.Issuer, Subject: "alice", SubjectKind: "user", Audience: jwt.Audience{testenv.Resource},
					ClientID: c.ID, Scope: "read write", GrantID: ap.Grant.ID, TokenSource: token.SourceOAuthClient,
					IssuedAt: jwt.NewNumericDate(testenv.T0), Expiry: jwt.NewNumericDate(testenv.T0.Add(token.DefaultAccessTTL)),
					ID: claims.ID}
				if diff := cmp.Diff(want, claims); diff != "" {
					t.Errorf("claims (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(claims, resp.Claims); diff != "" {
					t.Errorf("response claims differ from the verified ones (-verified +response):\n%s", diff)
				}

				snap := e.Snapshot()
				rows := testenv.Rows(snap, "refresh_tokens", "grant_id", ap.Grant.ID)
				if !tt.wantRefresh {
					if resp.RefreshToken != "" || len(rows) != 0 {
						t.Fatalf("a client without refresh_token got %q and %d stored refresh tokens", resp.RefreshToken, len(rows))
					}
				} else {
					if !strings.HasPrefix(resp.RefreshToken, "gk_rt_") {
						t.Fatalf("refresh token %.10q… lacks the gk_rt_ prefix", resp.RefreshToken)
					}
					if len(rows) != 1 {
						t.Fatalf("%d stored refresh tokens, want 1", len(rows))
					}
					if got, want := rows[0]["hash"], hex.EncodeToString(testdb.Hash(resp.RefreshToken)); got != want {
						t.Errorf("stored hash %v, want SHA-256 of the token %v", got, want)
					}
					if rows[0]["parent_id"] != nil || rows[0]["revoked_at"] != nil || rows[0]["family_id"] == nil {
						t.Errorf("first token of a family: %v", rows[0])
					}
				}
				codes := testenv.Rows(snap, "auth_codes", "grant_id", ap.Grant.ID)
				if len(codes) != 1 || codes[0]["used_at"] == nil {
					t.Errorf("the code is not marked used: %v", codes)
				}
				noMaterial(t, snap, ap.Code, resp.RefreshToken, resp.AccessToken, testenv.PKCEVerifier)
			})
		}
	})
}

// TestExchangeCodeRefused presents bad code requests (SPEC §4.1): each
// fails with its RFC 6749 §5.2 error, changes no row (snapshot compared
// with go-cmp), and — unless the code itself went bad — leaves the code
// redeemable by its rightful client afterwards.
func TestExchangeCodeRefused(t *testing.T) {
	t.Parallel()
	type fixture struct {
		e     *env
		c     testenv.Client // confidential
		pub   testenv.Client
		ap    grant.Approval // of c
		apPub grant.Approval // of pub
	}
	cases := []struct {
		name string
		// req turns the valid request of c (or of pub) into the bad one;
		// setup runs before the snapshot.
		req      func(f *fixture, r *token.CodeRequest)
		setup    func(t *testing.T, f *fixture)
		public   bool
		want     error
		code     string
		redeemed bool // the code is still redeemable afterwards
	}{
		{name: "wrong secret", req: func(_ *fixture, r *token.CodeRequest) { r.ClientSecret = "gk_cs_wrong" },
			want: grant.ErrInvalidClient, code: "invalid_client", redeemed: true},
		{name: "missing secret", req: func(_ *fixture, r *token.CodeRequest) { r.ClientSecret = "" },
			want: grant.ErrInvalidClient, code: "invalid_client", redeemed: true},
		{name: "public client sending a secret", public: true,
			req:  func(f *fixture, r *token.CodeRequest) { r.ClientSecret = f.c.Secret },
			want: grant.ErrInvalidClient, code: "invalid_client", redeemed: true},
		{name: "unknown client", req: func(_ *fixture, r *token.CodeRequest) { r.ClientID = "nobody" },
			want: grant.ErrInvalidClient, code: "invalid_client", redeemed: true},
		{name: "wrong PKCE verifier", public: true,
			req:  func(_ *fixture, r *token.CodeRequest) { r.CodeVerifier = strings.Repeat("a", 43) },
			want: token.ErrInvalidGrant, code: "invalid_grant", redeemed: true},
		{name: "PKCE challenge as verifier", public: true,
			req:  func(_ *fixture, r *token.CodeRequest) { r.CodeVerifier = testenv.Challenge },
			want: token.ErrInvalidGrant, code: "invalid_grant", redeemed: true},
		{name: "missing PKCE verifier", public: true,
			req:  func(_ *fixture, r *token.CodeRequest) { r.CodeVerifier = "" },
			want: grant.ErrInvalidRequest, code: "invalid_request", redeemed: true},
		{name: "wrong redirect_uri", req: func(_ *fixture, r *token.CodeRequest) { r.RedirectURI = testenv.OtherRedirectURI },
			want: token.ErrInvalidGrant, code: "invalid_grant", redeemed: true},
		{name: "redirect_uri with a trailing slash", req: func(_ *fixture, r *token.CodeRequest) { r.RedirectURI += "/" },
			want: token.ErrInvalidGrant, code: "invalid_grant", redeemed: true},
		{name: "another client's code", public: true,
			req:  func(f *fixture, r *token.CodeRequest) { r.Code = f.ap.Code },
			want: token.ErrInvalidGrant, code: "invalid_grant", redeemed: true},
		{name: "unknown code", req: func(_ *fixture, r *token.CodeRequest) { r.Code = "gk_ac_unknown" },
			want: token.ErrInvalidGrant, code: "invalid_grant", redeemed: true},
		{name: "another resource", req: func(_ *fixture, r *token.CodeRequest) { r.Resource = "https://other.example" },
			want: token.ErrInvalidTarget, code: "invalid_target", redeemed: true},
		{name: "expired code", setup: func(_ *testing.T, f *fixture) { f.e.Clock.Advance(grant.DefaultCodeTTL) },
			req:  func(*fixture, *token.CodeRequest) {},
			want: token.ErrGrantExpired, code: "invalid_grant"},
		{name: "grant revoked before the exchange",
			setup: func(t *testing.T, f *fixture) {
				if _, err := f.e.Manager.Revoke(context.Background(), []string{f.ap.Grant.ID}, grant.ReasonUserRevoked, "alice"); err != nil {
					t.Fatal(err)
				}
			},
			req:  func(*fixture, *token.CodeRequest) {},
			want: token.ErrInvalidGrant, code: "invalid_grant"},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnv(t, db)
				f := &fixture{e: e, c: e.client(testenv.Confidential), pub: e.client()}
				f.ap, f.apPub = e.Authorize(f.c, "alice"), e.Authorize(f.pub, "bob")
				if tt.setup != nil {
					tt.setup(t, f)
				}
				good := testenv.CodeRequest(f.c, f.ap)
				if tt.public {
					good = testenv.CodeRequest(f.pub, f.apPub)
				}
				bad := good
				tt.req(f, &bad)
				before, heard := e.Snapshot(), len(e.Events.Types())

				resp, err := e.Server.ExchangeCode(ctx, bad)
				if !errors.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
				if got := errCode(err); got != tt.code {
					t.Errorf("ErrorCode = %q, want %q", got, tt.code)
				}
				if errors.Is(err, token.ErrReused) {
					t.Errorf("refused as reuse: %v", err)
				}
				if diff := cmp.Diff(token.Response{}, resp); diff != "" {
					t.Errorf("tokens returned with the error:\n%s", diff)
				}
				if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
					t.Fatalf("a refused exchange changed the database (-before +after):\n%s", diff)
				}
				if got := e.Events.Types(); len(got) != heard {
					t.Errorf("observer heard %v", got[heard:])
				}

				// The rightful request still works, unless the code itself
				// went bad (and then it is refused too, never reuse).
				_, err = e.Server.ExchangeCode(ctx, good)
				switch {
				case tt.redeemed && err != nil:
					t.Errorf("the rightful exchange afterwards: %v", err)
				case !tt.redeemed && (!errors.Is(err, token.ErrInvalidGrant) || errors.Is(err, token.ErrReused)):
					t.Errorf("the rightful exchange afterwards: got %v, want invalid_grant without reuse", err)
				}
			})
		}
	})
}

// TestExchangeCodeReuse presents a code a second time (SPEC §2.4, RFC 6749
// §4.1.2): ErrReused (invalid_grant); the grant is revoked through the
// cascade with reason code_reused and code.reused is audited; the first
// exchange's refresh token no longer refreshes and its access token fails
// the Verifier. A third presentation is refused again without a second
// revocation.
func TestExchangeCodeReuse(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client(testenv.Confidential)
		ap := e.Authorize(c, "alice")
		req := testenv.CodeRequest(c, ap)
		first := e.Exchange(req)
		if _, err := e.Verify(first.AccessToken); err != nil {
			t.Fatalf("first access token: %v", err)
		}
		e.Clock.Advance(time.Second)

		resp, err := e.Server.ExchangeCode(ctx, req)
		if !errors.Is(err, token.ErrReused) || errCode(err) != "invalid_grant" {
			t.Fatalf("second exchange: got %v (%s), want ErrReused (invalid_grant)", err, errCode(err))
		}
		if diff := cmp.Diff(token.Response{}, resp); diff != "" {
			t.Errorf("tokens returned on reuse:\n%s", diff)
		}
		g := e.Grant(ap.Grant.ID)
		if g.Status != store.GrantRevoked || g.RevokeReason != grant.ReasonCodeReused {
			t.Fatalf("grant after code reuse: %s (%q), want revoked (code_reused)", g.Status, g.RevokeReason)
		}
		snap := e.Snapshot()
		if diff := cmp.Diff(map[string]int{grant.EventGrantCreated: 1, grant.EventGrantActivated: 1,
			grant.EventGrantRevoked: 1, grant.EventCodeReused: 1}, testenv.AuditCounts(snap, g.ID)); diff != "" {
			t.Errorf("audit trail (-want +got):\n%s", diff)
		}
		if rows := testenv.Rows(snap, "audit_events", "type", grant.EventCodeReused); len(rows) != 1 ||
			rows[0]["reason"] != grant.ReasonCodeReused || rows[0]["client_id"] != c.ID {
			t.Errorf("code.reused audit rows: %v", rows)
		}
		if act := testenv.ActiveRefresh(snap, "grant_id", g.ID); len(act) != 0 {
			t.Errorf("%d active refresh tokens under the revoked grant", len(act))
		}
		if n := e.Events.Count(grant.EventCodeReused); n != 1 {
			t.Errorf("observer heard %d code.reused events, want 1 (%v)", n, e.Events.Types())
		}
		if n := e.Events.Count(grant.EventGrantRevoked); n != 1 {
			t.Errorf("observer heard %d grant.revoked events, want 1 (%v)", n, e.Events.Types())
		}
		noMaterial(t, snap, ap.Code, first.RefreshToken)

		_, err = e.Server.Refresh(ctx, token.RefreshRequest{ClientID: c.ID, ClientSecret: c.Secret, RefreshToken: first.RefreshToken})
		if !errors.Is(err, token.ErrInvalidGrant) {
			t.Errorf("refresh with the first exchange's token: got %v, want invalid_grant", err)
		}
		if _, err := e.Verify(first.AccessToken); !errors.Is(err, token.ErrGrantInactive) {
			t.Errorf("first access token after code reuse: got %v, want ErrGrantInactive", err)
		}

		for i := 3; i <= 5; i++ {
			before := e.Counter.Load()
			_, err = e.Server.ExchangeCode(ctx, req)
			if !errors.Is(err, token.ErrReused) {
				t.Fatalf("exchange %d: got %v, want ErrReused", i, err)
			}
			// Once answered, a replay reads the client and the code and
			// opens no write transaction.
			if n := e.Counter.Load() - before; n != 2 {
				t.Errorf("exchange %d sent %d statements, want 2 (client, code)", i, n)
			}
		}
		// A leaked code replayed again and again is audited and reported
		// once, not once per presentation.
		if diff := cmp.Diff(map[string]int{grant.EventGrantCreated: 1, grant.EventGrantActivated: 1,
			grant.EventGrantRevoked: 1, grant.EventCodeReused: 1}, testenv.AuditCounts(e.Snapshot(), g.ID)); diff != "" {
			t.Errorf("audit trail after five presentations (-want +got):\n%s", diff)
		}
		if n := e.Events.Count(grant.EventCodeReused); n != 1 {
			t.Errorf("observer heard %d code.reused events after five presentations, want 1", n)
		}
	})
}

// TestExchangeCodeReplayWithoutProof: a used code replayed by someone who
// cannot prove to be its public client — a wrong PKCE verifier — is a plain
// invalid_grant: the grant stays active and nothing is audited, so a
// leaked code alone cannot be used to revoke a user's session.
func TestExchangeCodeReplayWithoutProof(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t, db)
		c := e.client() // public
		ap := e.Authorize(c, "alice")
		req := testenv.CodeRequest(c, ap)
		e.Exchange(req)
		before := e.Snapshot()
		bad := req
		bad.CodeVerifier = strings.Repeat("x", 43)
		_, err := e.Server.ExchangeCode(ctx, bad)
		if !errors.Is(err, token.ErrInvalidGrant) || errors.Is(err, token.ErrReused) {
			t.Fatalf("replay with a wrong verifier = %v, want invalid_grant, not reuse", err)
		}
		if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
			t.Errorf("a replay without proof changed the database (-before +after):\n%s", diff)
		}
		if n := e.Events.Count(grant.EventCodeReused); n != 0 {
			t.Errorf("observer heard %d code.reused events, want 0", n)
		}
		// With the right verifier it is reuse.
		if _, err := e.Server.ExchangeCode(ctx, req); !errors.Is(err, token.ErrReused) {
			t.Fatalf("replay with the right verifier = %v, want ErrReused", err)
		}
		if g := e.Grant(ap.Grant.ID); g.Status != store.GrantRevoked {
			t.Errorf("grant after a proven replay: %s, want revoked", g.Status)
		}
	})
}

// TestExchangeCodeLiveness asks the host's liveness check at the code
// exchange too (SPEC §4.2 step 3 applies to every minted token): a subject
// that is not live gets ErrNotLive (invalid_grant), a failing check a
// server_error; neither burns the code or changes any row. A refusal is
// handed to the observer (SPEC §10), a failing check is not a refusal.
func TestExchangeCodeLiveness(t *testing.T) {
	t.Parallel()
	errCheck := errors.New("directory unreachable")
	cases := []struct {
		name    string
		live    token.LivenessFunc
		want    error
		code    string
		invalid bool // errors.Is(err, ErrInvalidGrant)
	}{
		{"not live", func(context.Context, store.Grant) (bool, error) { return false, nil }, token.ErrNotLive, "invalid_grant", true},
		{"check fails", func(context.Context, store.Grant) (bool, error) { return true, errCheck }, errCheck, "server_error", false},
		{"check fails saying not live", func(context.Context, store.Grant) (bool, error) { return false, errCheck }, errCheck, "server_error", false},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tt := range cases {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, db)
				c := e.client()
				req := testenv.CodeRequest(c, e.Authorize(c, "alice"))
				before := e.Snapshot()
				e.setLive(tt.live)
				resp, err := e.Server.ExchangeCode(context.Background(), req)
				if !errors.Is(err, tt.want) || errCode(err) != tt.code || errors.Is(err, token.ErrInvalidGrant) != tt.invalid {
					t.Fatalf("got %v (%s), want %v (%s)", err, errCode(err), tt.want, tt.code)
				}
				if diff := cmp.Diff(token.Response{}, resp); diff != "" {
					t.Errorf("tokens returned with the error:\n%s", diff)
				}
				if diff := cmp.Diff(before, e.Snapshot()); diff != "" {
					t.Fatalf("the refused exchange changed the database (-before +after):\n%s", diff)
				}
				wantEvents := 0
				if tt.invalid {
					wantEvents = 1
				}
				if n := e.Events.Count(grant.EventLivenessRefused); n != wantEvents {
					t.Errorf("observer heard %d %s events, want %d", n, grant.EventLivenessRefused, wantEvents)
				}
				e.setLive(nil)
				if _, err := e.Server.ExchangeCode(context.Background(), req); err != nil {
					t.Errorf("exchange once live again: %v", err)
				}
			})
		}
	})
}

// codeChanger is a store whose next transaction starts by changing every
// auth code of the store the way change says: what an exchange sees when
// the sweep or a revocation commits between its read of the code and its
// transaction.
type codeChanger struct {
	store.Store
	change func(ctx context.Context, tx store.Tx) error
}

func (s *codeChanger) InTx(ctx context.Context, fn func(store.Tx) error) error {
	change := s.change
	s.change = nil
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		if change != nil {
			if err := change(ctx, tx); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// Unwrap lets testdb.Snapshot read the real store.
func (s *codeChanger) Unwrap() store.Store { return s.Store }

// TestExchangeCodeChangedMeanwhile: a code the exchange read as unused but
// that cannot be redeemed is a replay only if it was redeemed meanwhile. A
// code the sweep deleted (its clock a little ahead) or revoked on its own
// is refused with invalid_grant and the grant — maybe reused, holding the
// user's other tokens — stays active, with no code.reused event.
func TestExchangeCodeChangedMeanwhile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(ctx context.Context, tx store.Tx, grantID string) error
		want   error
	}{
		{"deleted by the sweep", func(ctx context.Context, tx store.Tx, _ string) error {
			_, err := tx.DeleteExpiredAuthCodes(ctx, testenv.T0.Add(24*time.Hour), 100)
			return err
		}, token.ErrGrantExpired},
		{"revoked", func(ctx context.Context, tx store.Tx, grantID string) error {
			_, err := tx.RevokeAuthCodes(ctx, []string{grantID}, testenv.T0)
			return err
		}, token.ErrInvalidGrant},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				cs := &codeChanger{Store: db.Harness.Open(t, nil)}
				e := envOver(t, cs)
				c := e.client(testenv.Confidential)
				ap := e.Authorize(c, "alice")
				cs.change = func(ctx context.Context, tx store.Tx) error { return tc.change(ctx, tx, ap.Grant.ID) }
				resp, err := e.Server.ExchangeCode(ctx, testenv.CodeRequest(c, ap))
				if !errors.Is(err, tc.want) || errors.Is(err, token.ErrReused) {
					t.Fatalf("ExchangeCode = %v, want %v and not ErrReused", err, tc.want)
				}
				if diff := cmp.Diff(token.Response{}, resp); diff != "" {
					t.Errorf("tokens returned:\n%s", diff)
				}
				if g := e.Grant(ap.Grant.ID); g.Status != store.GrantActive {
					t.Errorf("grant is %s (%q), want still active", g.Status, g.RevokeReason)
				}
				if n := e.Events.Count(grant.EventCodeReused); n != 0 {
					t.Errorf("observer heard %d code.reused events, want none", n)
				}
			})
		}
	})
}
