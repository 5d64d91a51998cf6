package token_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/store/sqlite"
	"github.com/grantkit/grantkit/token"
)

// The verifier and key tests run on testenv's fixture (testenv.WithKeys
// for their key sets, Env.StartedVerifierOver for their Verifiers). What
// follows is theirs alone: the tokens of the refusal cases, built from
// claim maps, signed by hand (with go-jose or without it) or tampered
// with, and the stores that fail the grant check.

// claimMap returns the claims of a valid token for g as a JSON object, as
// e's Minter would sign them now, for tests to break one at a time.
func claimMap(e *testenv.Env, g store.Grant, scopes ...string) map[string]any {
	now := e.Clock.Now()
	return map[string]any{
		"iss": e.Minter.Issuer(), "sub": g.Subject, "subject_kind": g.SubjectKind, "aud": []string{g.Resource},
		"exp": now.Add(e.Minter.TTL()).Unix(), "iat": now.Unix(), "jti": uuid.NewString(),
		"client_id": g.ClientID, "scope": strings.Join(scopes, " "), "grant_id": g.ID,
		"token_source": token.SourceOAuthClient, "config_version": g.ConfigVersion,
	}
}

// sign signs claims as a compact JWS with go-jose directly; opt adjusts
// the signer's options.
func sign(tb testing.TB, alg jose.SignatureAlgorithm, key any, kid, typ string, claims any,
	opt ...func(*jose.SignerOptions)) string {
	tb.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	for _, f := range opt {
		f(opts)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// unsigned builds a compact JWS from a header and claims with an empty
// signature, as an "alg: none" attacker would.
func unsigned(tb testing.TB, header, claims any) string {
	tb.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "."
}

// signRaw signs payload, as is, under header with the ed25519 key priv,
// so a test can sign what go-jose would not build: any header parameter,
// claims of any JSON type, a payload that is no JSON object at all.
func signRaw(tb testing.TB, priv crypto.Signer, header map[string]any, payload string) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	return input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv.(ed25519.PrivateKey), []byte(input)))
}

// tamper flips one bit of the decoded signature and re-encodes it, so the
// token still parses and only the signature check can catch it.
func tamper(tb testing.TB, raw string) string {
	tb.Helper()
	parts := strings.Split(raw, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		tb.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x01
	parts[2] = base64.RawURLEncoding.EncodeToString(sig)
	return strings.Join(parts, ".")
}

// reencode rewrites segment i of the compact JWS raw with f, for a
// token whose segments still decode to the bytes that were signed.
func reencode(tb testing.TB, raw string, i int, f func(string) string) string {
	tb.Helper()
	parts := strings.Split(raw, ".")
	parts[i] = f(parts[i])
	return strings.Join(parts, ".")
}

// trailingBit sets the lowest unused bit of the last character of the
// unpadded base64url seg (an Ed25519 signature: 86 characters for 64
// bytes, 4 bits unused), so it decodes to the same bytes as seg.
func trailingBit(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last|1])
}

// sentinels are the Verifier's refusals; each names one check.
var sentinels = []error{
	token.ErrMalformed, token.ErrAlgorithm, token.ErrUnsecured, token.ErrUnknownKey, token.ErrSignature, token.ErrType,
	token.ErrIssuer, token.ErrAudience, token.ErrMissingExpiry, token.ErrAccessTokenExpired, token.ErrNotYetValid,
	token.ErrGrantInactive, token.ErrGrantMismatch, token.ErrScopeBeyond, token.ErrConfigVersion,
}

// failingStore fails every grant read.
type failingStore struct {
	store.Store
	err error
}

func (s failingStore) GetGrant(context.Context, string) (store.Grant, error) {
	return store.Grant{}, s.err
}

// closedStore returns a store of db's kind whose connections are closed.
func closedStore(t *testing.T, db testdb.DB) store.Store {
	t.Helper()
	ctx := context.Background()
	switch db.Name {
	case "sqlite":
		s, err := sqlite.Open(ctx, sqlite.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return s
	case "postgres":
		pool, err := pgxpool.New(ctx, os.Getenv(testdb.EnvDSN))
		if err != nil {
			t.Fatal(err)
		}
		pool.Close()
		s, err := postgres.New(pool, postgres.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Fatalf("unknown database %q", db.Name)
	return nil
}

// TestVerifier is the Verifier's table test (RFC 9068 §4): a valid token
// passes, and every broken one is refused with the sentinel naming the
// failed check, wrapping ErrInvalidToken and matching no other sentinel.
func TestVerifier(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		other := testenv.NewKey(t, token.EdDSA) // signs, but is not in the set
		es := testenv.NewKey(t, token.ES256)    // in the set, verification only
		e := testenv.New(t, db, testenv.WithKeys(testenv.NewKey(t, token.EdDSA), es))
		v := e.StartedVerifierOver(e.Store)
		client := e.Client()
		g := e.Authorize(client, "alice", "read").Grant
		now := e.Clock.Now()
		ctx := context.Background()
		pub, err := x509.MarshalPKIXPublicKey(e.Key.Private.Public())
		if err != nil {
			t.Fatal(err)
		}
		pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})

		revoked := e.Authorize(client, "bob", "read").Grant
		revokedTok := e.Mint(revoked, "read")
		if _, err := e.Manager.Revoke(ctx, []string{revoked.ID}, grant.ReasonUserRevoked, "bob"); err != nil {
			t.Fatal(err)
		}
		bumped := g
		bumped.ConfigVersion++
		impostor := g
		impostor.Subject = "mallory"
		otherKind := g // the same subject id, but an API key's, not the user's
		otherKind.SubjectKind = "api_key"

		signed := func(mut func(c map[string]any)) string {
			c := claimMap(e, g, "read")
			mut(c)
			return sign(t, token.EdDSA, e.Key.Private, e.Key.ID, token.TypeATJWT, c)
		}
		header := map[string]any{"alg": "none", "typ": token.TypeATJWT, "kid": e.Key.ID}
		// hdr is a valid EdDSA header for e.Key plus extra; claimsJSON is a
		// valid token's claims for g with the changes in set.
		hdr := func(extra map[string]any) map[string]any {
			h := map[string]any{"alg": "EdDSA", "typ": token.TypeATJWT, "kid": e.Key.ID}
			for k, v := range extra {
				h[k] = v
			}
			return h
		}
		claimsJSON := func(set map[string]any) string {
			c := claimMap(e, g, "read")
			for k, v := range set {
				c[k] = v
			}
			b, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		refusals := map[string]string{} // case name → error text

		for _, tc := range []struct {
			name string
			raw  string
			want error // nil: the token is valid
		}{
			{"valid", e.Mint(g, "read"), nil},
			{"valid with typ application/at+jwt", sign(t, token.EdDSA, e.Key.Private, e.Key.ID,
				"application/at+jwt", claimMap(e, g, "read")), nil},
			{"expired within leeway", signed(func(c map[string]any) {
				c["exp"] = now.Add(-token.DefaultLeeway / 2).Unix()
			}), nil},
			{"alg none", unsigned(t, header, claimMap(e, g, "read")), token.ErrUnsecured},
			{"HS256 with the public key as secret", sign(t, jose.HS256, pubPEM, e.Key.ID, token.TypeATJWT,
				claimMap(e, g, "read")), token.ErrAlgorithm},
			{"EdDSA token naming the ES256 key", sign(t, token.EdDSA, e.Key.Private, es.ID, token.TypeATJWT,
				claimMap(e, g, "read")), token.ErrAlgorithm},
			{"typ JWT", sign(t, token.EdDSA, e.Key.Private, e.Key.ID, "JWT", claimMap(e, g, "read")), token.ErrType},
			{"no typ", sign(t, token.EdDSA, e.Key.Private, e.Key.ID, "", claimMap(e, g, "read")), token.ErrType},
			{"missing exp", signed(func(c map[string]any) { delete(c, "exp") }), token.ErrMissingExpiry},
			{"expired beyond leeway", signed(func(c map[string]any) {
				c["iat"] = now.Add(-time.Hour).Unix()
				c["exp"] = now.Add(-token.DefaultLeeway - time.Second).Unix()
			}), token.ErrAccessTokenExpired},
			{"nbf in the future", signed(func(c map[string]any) {
				c["nbf"] = now.Add(token.DefaultLeeway + time.Minute).Unix()
			}), token.ErrNotYetValid},
			{"wrong aud", signed(func(c map[string]any) { c["aud"] = "https://other.example/" }), token.ErrAudience},
			{"wrong iss", signed(func(c map[string]any) { c["iss"] = "https://evil.example" }), token.ErrIssuer},
			{"unknown kid", sign(t, token.EdDSA, other.Private, other.ID, token.TypeATJWT, claimMap(e, g, "read")),
				token.ErrUnknownKey},
			{"revoked grant", revokedTok, token.ErrGrantInactive},
			{"unknown grant", signed(func(c map[string]any) { c["grant_id"] = uuid.NewString() }), token.ErrGrantInactive},
			{"scope beyond the grant", e.Mint(g, "read", "write"), token.ErrScopeBeyond},
			{"config_version mismatch", e.Mint(bumped, "read"), token.ErrConfigVersion},
			{"subject differs from the grant", e.Mint(impostor, "read"), token.ErrGrantMismatch},
			{"subject_kind differs from the grant", e.Mint(otherKind, "read"), token.ErrGrantMismatch},
			{"tampered signature", tamper(t, e.Mint(g, "read")), token.ErrSignature},
			{"line break in the claims", reencode(t, e.Mint(g, "read"), 1, func(seg string) string {
				return seg[:len(seg)/2] + "\n" + seg[len(seg)/2:]
			}), token.ErrMalformed},
			{"CR LF in the header", reencode(t, e.Mint(g, "read"), 0, func(seg string) string {
				return seg[:4] + "\r\n" + seg[4:]
			}), token.ErrMalformed},
			{"signature with non-zero trailing bits", reencode(t, e.Mint(g, "read"), 2, trailingBit),
				token.ErrMalformed},
			{"no grant_id", signed(func(c map[string]any) { delete(c, "grant_id") }), token.ErrMalformed},
			{"signed by another key under the set's kid", sign(t, token.EdDSA, other.Private, e.Key.ID,
				token.TypeATJWT, claimMap(e, g, "read")), token.ErrSignature},
			{"crit naming an extension", signRaw(t, e.Key.Private, hdr(map[string]any{"crit": []string{"exp"}, "exp": 1}),
				claimsJSON(nil)), token.ErrMalformed},
			{"crit b64 (RFC 7797), b64 true", signRaw(t, e.Key.Private, hdr(map[string]any{"crit": []string{"b64"},
				"b64": true}), claimsJSON(nil)), token.ErrMalformed},
			{"crit b64 by go-jose, b64 false", sign(t, token.EdDSA, e.Key.Private, e.Key.ID, token.TypeATJWT,
				claimMap(e, g, "read"), func(o *jose.SignerOptions) { o.WithBase64(false) }), token.ErrMalformed},
			{"crit empty", signRaw(t, e.Key.Private, hdr(map[string]any{"crit": []string{}}), claimsJSON(nil)),
				token.ErrMalformed},
			{"crit null", signRaw(t, e.Key.Private, hdr(map[string]any{"crit": nil}), claimsJSON(nil)), token.ErrMalformed},
			{"b64 without crit", signRaw(t, e.Key.Private, hdr(map[string]any{"b64": true}), claimsJSON(nil)),
				token.ErrMalformed},
			{"exp a string", signRaw(t, e.Key.Private, hdr(nil), claimsJSON(map[string]any{"exp": "soon"})),
				token.ErrMalformed},
			{"iat a bool", signRaw(t, e.Key.Private, hdr(nil), claimsJSON(map[string]any{"iat": true})),
				token.ErrMalformed},
			{"aud a number", signRaw(t, e.Key.Private, hdr(nil), claimsJSON(map[string]any{"aud": 5})),
				token.ErrMalformed},
			{"scope an array", signRaw(t, e.Key.Private, hdr(nil), claimsJSON(map[string]any{"scope": []int{1}})),
				token.ErrMalformed},
			{"config_version a string", signRaw(t, e.Key.Private, hdr(nil),
				claimsJSON(map[string]any{"config_version": "x"})), token.ErrMalformed},
			{"sub an object", signRaw(t, e.Key.Private, hdr(nil), claimsJSON(map[string]any{"sub": map[string]any{}})),
				token.ErrMalformed},
			{"claims an array", signRaw(t, e.Key.Private, hdr(nil), `[1]`), token.ErrMalformed},
			{"claims not JSON", signRaw(t, e.Key.Private, hdr(nil), `{"iss":`), token.ErrMalformed},
			{"iss twice", signRaw(t, e.Key.Private, hdr(nil),
				strings.Replace(claimsJSON(nil), "{", `{"iss":"https://evil.example",`, 1)), token.ErrMalformed},
			{"no iat", signed(func(c map[string]any) { delete(c, "iat") }), token.ErrMalformed},
			{"iat null", signed(func(c map[string]any) { c["iat"] = nil }), token.ErrMalformed},
			{"no jti", signed(func(c map[string]any) { delete(c, "jti") }), token.ErrMalformed},
			{"empty jti", signed(func(c map[string]any) { c["jti"] = "" }), token.ErrMalformed},
			{"not a JWT", "not-a-token", token.ErrMalformed},
			{"allowed alg, garbage payload", strings.Split(e.Mint(g, "read"), ".")[0] + ".!!!.AAAA", token.ErrMalformed},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c, err := v.Verify(ctx, tc.raw)
				if err != nil {
					refusals[tc.name] = err.Error()
				}
				if tc.want == nil {
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if c.GrantID != g.ID || c.Subject != g.Subject || c.ClientID != g.ClientID {
						t.Fatalf("claims %+v do not name grant %s", c, g.ID)
					}
					return
				}
				if !errors.Is(err, tc.want) || !errors.Is(err, token.ErrInvalidToken) {
					t.Fatalf("Verify = %v, want %v (wrapping ErrInvalidToken)", err, tc.want)
				}
				for _, s := range sentinels {
					if s != tc.want && errors.Is(err, s) {
						t.Errorf("Verify = %v, which also matches %v", err, s)
					}
				}
				if !cmp.Equal(c, token.Claims{}) {
					t.Errorf("a refused token returned claims %+v", c)
				}
			})
		}

		// The twelve refusals of issue 4's acceptance each read differently
		// (the two algorithm refusals name the algorithm).
		seen := map[string]string{}
		for _, name := range []string{"alg none", "HS256 with the public key as secret", "typ JWT", "missing exp",
			"expired beyond leeway", "wrong aud", "wrong iss", "unknown kid", "revoked grant",
			"scope beyond the grant", "config_version mismatch", "tampered signature"} {
			msg, ok := refusals[name]
			if !ok {
				t.Errorf("case %q was not refused", name)
			}
			if prev, dup := seen[msg]; dup {
				t.Errorf("cases %q and %q are refused with the same error %q", prev, name, msg)
			}
			seen[msg] = name
		}

		// A token naming several audiences passes only at the resource of
		// its grant: the grant authorizes that resource, not the others.
		t.Run("multi-audience token at another resource", func(t *testing.T) {
			const other = "https://other.example/"
			raw := signed(func(c map[string]any) { c["aud"] = []string{testenv.Resource, other} })
			vo := e.StartedVerifierOver(e.Store, func(c *token.VerifierConfig) { c.Resource = other })
			if _, err := vo.Verify(ctx, raw); !errors.Is(err, token.ErrGrantMismatch) {
				t.Errorf("Verify at %s = %v, want ErrGrantMismatch", other, err)
			}
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Errorf("Verify at the grant's resource: %v", err)
			}
		})

		// A store failure during the grant check is an error, never a
		// success and never "invalid token": the Verifier fails closed.
		boom := errors.New("boom: database unreachable")
		for name, s := range map[string]store.Store{
			"failing store": failingStore{Store: e.Store, err: boom},
			"closed store":  closedStore(t, db),
		} {
			t.Run(name, func(t *testing.T) {
				c, err := e.StartedVerifierOver(s).Verify(ctx, e.Mint(g, "read"))
				if err == nil || errors.Is(err, token.ErrInvalidToken) {
					t.Fatalf("Verify = %v, want a store error that is not ErrInvalidToken", err)
				}
				if s, ok := s.(failingStore); ok && !errors.Is(err, s.err) {
					t.Errorf("Verify = %v, want it to wrap %v", err, s.err)
				}
				if !cmp.Equal(c, token.Claims{}) {
					t.Errorf("a failed check returned claims %+v", c)
				}
			})
		}
	})
}

// TestVerifierClaims checks that Verify returns the minted claims intact.
func TestVerifierClaims(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := testenv.New(t, db)
		g := e.Authorize(e.Client(), "alice", "read", "write").Grant
		raw, want, err := e.Minter.Mint(g, []string{"write"}, token.SourceDerived, e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.StartedVerifierOver(e.Store).Verify(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("claims (-minted +verified):\n%s", diff)
		}
		if got.TokenSource != token.SourceDerived || got.Scope != "write" || !got.Audience.Contains(testenv.Resource) {
			t.Errorf("claims %+v", got)
		}
	})
}

// noAlgKeys is a KeySource whose keys carry no "alg" (RFC 7517 §4.4), as a
// JWKS of another authorization server may publish them.
type noAlgKeys struct{ token.KeySource }

func (s noAlgKeys) PublicKey(kid string) (jose.JSONWebKey, bool) {
	k, ok := s.KeySource.PublicKey(kid)
	k.Algorithm = ""
	return k, ok
}

// TestVerifierDefaultAlgorithms checks the default algorithm choice: with no
// Algorithms configured, a token's algorithm is the one of the key its kid
// names, so the default Verifier accepts whatever its KeySet signs with
// (RFC 9068 §2.1 requires RS256), across a rotation from one algorithm to
// another, and refuses a key without "alg".
func TestVerifierDefaultAlgorithms(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := testenv.New(t, db)
		g := e.Authorize(e.Client(), "alice", "read").Grant
		ctx := context.Background()

		for _, alg := range []jose.SignatureAlgorithm{token.EdDSA, token.ES256, token.RS256} {
			t.Run("KeySet of "+string(alg), func(t *testing.T) {
				ks, err := token.NewKeySet(testenv.NewKey(t, alg))
				if err != nil {
					t.Fatal(err)
				}
				m, err := token.NewMinter(token.MinterConfig{Issuer: testenv.Issuer, Keys: ks})
				if err != nil {
					t.Fatal(err)
				}
				raw, _, err := m.Mint(g, []string{"read"}, token.SourceOAuthClient, e.Clock.Now())
				if err != nil {
					t.Fatal(err)
				}
				v := e.StartedVerifierOver(e.Store, func(c *token.VerifierConfig) { c.Keys = ks })
				if _, err := v.Verify(ctx, raw); err != nil {
					t.Errorf("default Verifier refused the %s token its KeySet minted: %v", alg, err)
				}
			})
		}

		t.Run("rotation from EdDSA to RS256", func(t *testing.T) {
			ks, err := token.NewKeySet(testenv.NewKey(t, token.EdDSA))
			if err != nil {
				t.Fatal(err)
			}
			m, err := token.NewMinter(token.MinterConfig{Issuer: testenv.Issuer, Keys: ks})
			if err != nil {
				t.Fatal(err)
			}
			v := e.StartedVerifierOver(e.Store, func(c *token.VerifierConfig) { c.Keys = ks })
			old, _, err := m.Mint(g, []string{"read"}, token.SourceOAuthClient, e.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := ks.Rotate(testenv.NewKey(t, token.RS256)); err != nil {
				t.Fatal(err)
			}
			next, _, err := m.Mint(g, []string{"read"}, token.SourceOAuthClient, e.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			for name, raw := range map[string]string{"old EdDSA token": old, "new RS256 token": next} {
				if _, err := v.Verify(ctx, raw); err != nil {
					t.Errorf("%s after the rotation: %v", name, err)
				}
			}
		})

		// A key without "alg" does not say which algorithm it verifies: the
		// default refuses it; an explicit allow-list takes it.
		t.Run("key without alg", func(t *testing.T) {
			raw := e.Mint(g, "read")
			noAlg := func(c *token.VerifierConfig) { c.Keys = noAlgKeys{e.Keys} }
			if _, err := e.StartedVerifierOver(e.Store, noAlg).Verify(ctx, raw); !errors.Is(err, token.ErrAlgorithm) {
				t.Errorf("default Verifier, key without alg: Verify = %v, want ErrAlgorithm", err)
			}
			listed := func(c *token.VerifierConfig) { c.Algorithms = []jose.SignatureAlgorithm{token.EdDSA} }
			if _, err := e.StartedVerifierOver(e.Store, noAlg, listed).Verify(ctx, raw); err != nil {
				t.Errorf("Algorithms [EdDSA], key without alg: Verify = %v", err)
			}
			// Without an alg on the key, its type still decides: an ES256
			// token naming an Ed25519 key is an algorithm refusal, not a bad
			// signature.
			es := testenv.NewKey(t, token.ES256)
			esTok := sign(t, token.ES256, es.Private, e.Key.ID, token.TypeATJWT, claimMap(e, g, "read"))
			both := func(c *token.VerifierConfig) {
				c.Algorithms = []jose.SignatureAlgorithm{token.EdDSA, token.ES256}
			}
			if _, err := e.StartedVerifierOver(e.Store, noAlg, both).Verify(ctx, esTok); !errors.Is(err, token.ErrAlgorithm) {
				t.Errorf("ES256 token naming an Ed25519 key without alg: Verify = %v, want ErrAlgorithm", err)
			}
		})
	})
}

// TestVerifierLeeway checks the exp and nbf leeway: NoLeeway means none at
// all, zero means DefaultLeeway, and any other negative value is refused.
func TestVerifierLeeway(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := testenv.New(t, db)
		g := e.Authorize(e.Client(), "alice", "read").Grant
		ctx := context.Background()
		now := e.Clock.Now()
		signed := func(mut func(c map[string]any)) string {
			c := claimMap(e, g, "read")
			mut(c)
			return sign(t, token.EdDSA, e.Key.Private, e.Key.ID, token.TypeATJWT, c)
		}
		exp := func(d time.Duration) string {
			return signed(func(c map[string]any) {
				c["iat"] = now.Add(-time.Hour).Unix()
				c["exp"] = now.Add(d).Unix()
			})
		}
		nbf := func(d time.Duration) string {
			return signed(func(c map[string]any) { c["nbf"] = now.Add(d).Unix() })
		}
		leeway := func(d time.Duration) func(*token.VerifierConfig) {
			return func(c *token.VerifierConfig) { c.Leeway = d }
		}
		none, def := e.StartedVerifierOver(e.Store, leeway(token.NoLeeway)), e.StartedVerifierOver(e.Store, leeway(0))
		for _, tc := range []struct {
			name string
			v    *token.Verifier
			raw  string
			want error
		}{
			{"NoLeeway, 1s before exp", none, exp(time.Second), nil},
			{"NoLeeway, at exp", none, exp(0), token.ErrAccessTokenExpired},
			{"NoLeeway, 1s past exp", none, exp(-time.Second), token.ErrAccessTokenExpired},
			{"NoLeeway, nbf now", none, nbf(0), nil},
			{"NoLeeway, nbf in 1s", none, nbf(time.Second), token.ErrNotYetValid},
			{"zero, 1s past exp", def, exp(-time.Second), nil},
			{"zero, DefaultLeeway-1s past exp", def, exp(-token.DefaultLeeway + time.Second), nil},
			{"zero, DefaultLeeway past exp", def, exp(-token.DefaultLeeway), token.ErrAccessTokenExpired},
			{"zero, nbf in 1s", def, nbf(time.Second), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := tc.v.Verify(ctx, tc.raw)
				if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Errorf("Verify = %v, want %v", err, tc.want)
				}
			})
		}

		for _, d := range []time.Duration{-2, -time.Second} {
			cfg := token.VerifierConfig{Issuer: testenv.Issuer, Resource: testenv.Resource, Keys: e.Keys, Leeway: d}
			if _, err := token.NewVerifier(e.Manager, cfg); err == nil {
				t.Errorf("NewVerifier with Leeway %v: no error", d)
			}
		}
	})
}

// touchStore counts TouchGrants calls and the rows they wrote.
type touchStore struct {
	store.Store
	calls, rows atomic.Int64
}

func (s *touchStore) TouchGrants(ctx context.Context, ids []string, at time.Time, window time.Duration) (int64, error) {
	n, err := s.Store.TouchGrants(ctx, ids, at, window)
	s.rows.Add(n)
	s.calls.Add(1)
	return n, err
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestVerifierTouch checks last_used_at: written after Verify
// returns, and at most once per TouchWindow for a busy grant, whether the
// verifications come from one Verifier or several (several processes).
func TestVerifierTouch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := testenv.New(t, db)
		g := e.Authorize(e.Client(), "alice", "read").Grant
		raw := e.Mint(g, "read")
		ctx := context.Background()
		if !e.Grant(g.ID).LastUsedAt.IsZero() {
			t.Fatal("a fresh grant has last_used_at")
		}

		// A burst on one Verifier: one write.
		ts := &touchStore{Store: e.Store}
		v := e.StartedVerifierOver(ts)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 25 {
					if _, err := v.Verify(ctx, raw); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		first := e.Clock.Now()
		eventually(t, "the first last_used_at write", func() bool { return e.Grant(g.ID).LastUsedAt.Equal(first) })
		time.Sleep(20 * time.Millisecond) // let the writer drain the burst
		_ = v.Stop(context.Background())
		if r, c := ts.rows.Load(), ts.calls.Load(); r != 1 || c != 1 {
			t.Errorf("a burst within one window: %d rows written in %d calls, want 1 in 1", r, c)
		}

		// Several Verifiers on one store (several processes): within the
		// window the store's debounce predicate refuses every later write.
		e.Clock.Advance(token.DefaultTouchWindow / 2)
		var others []*touchStore
		for range 3 {
			o := &touchStore{Store: e.Store}
			others = append(others, o)
			if _, err := e.StartedVerifierOver(o).Verify(ctx, raw); err != nil {
				t.Fatal(err)
			}
		}
		for i, o := range others {
			eventually(t, "another verifier's touch", func() bool { return o.calls.Load() == 1 })
			if n := o.rows.Load(); n != 0 {
				t.Errorf("verifier %d wrote %d rows within the window", i, n)
			}
		}
		if got := e.Grant(g.ID).LastUsedAt; !got.Equal(first) {
			t.Errorf("last_used_at = %v within the window, want %v", got, first)
		}

		// After the window, the next use is recorded again, once.
		e.Clock.Advance(token.DefaultTouchWindow)
		second := e.Clock.Now()
		again := &touchStore{Store: e.Store}
		va := e.StartedVerifierOver(again)
		for range 20 {
			if _, err := va.Verify(ctx, raw); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "the write of the next window", func() bool { return e.Grant(g.ID).LastUsedAt.Equal(second) })
		time.Sleep(20 * time.Millisecond)
		_ = va.Stop(context.Background())
		if r := again.rows.Load(); r != 1 {
			t.Errorf("next window: %d rows written, want 1", r)
		}
	})
}

// TestVerifierTouchMemory: a flood of distinct grants within one window
// keeps the writer's memory of what it wrote within its bound (lowered to
// 8 here, 4096 by default), and every grant still gets its last_used_at.
func TestVerifierTouchMemory(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		e := testenv.New(t, db)
		ctx := context.Background()
		c := e.Client()
		var raws []string
		var ids []string
		for i := range 40 {
			g := e.Authorize(c, fmt.Sprintf("user-%d", i), "read").Grant
			raws, ids = append(raws, e.Mint(g, "read")), append(ids, g.ID)
		}
		v := e.VerifierOver(e.Store)
		v.SetTouchMemory(8)
		if err := v.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = v.Stop(context.Background()) })
		most := 0
		for i, raw := range raws {
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the grant's last_used_at", func() bool { return !e.Grant(ids[i]).LastUsedAt.IsZero() })
			most = max(most, v.Remembered())
		}
		if most > 8 || most == 0 {
			t.Errorf("the writer remembered up to %d grant ids, want 1 to 8", most)
		}
	})
}

// blockingStore holds every TouchGrants call until released or until
// its context ends, as a hung database would.
type blockingStore struct {
	store.Store
	release chan struct{}
	entered chan struct{}
	once    sync.Once
	ctxErr  atomic.Value
}

func (s *blockingStore) TouchGrants(ctx context.Context, ids []string, at time.Time, window time.Duration) (int64, error) {
	s.once.Do(func() { close(s.entered) })
	select {
	case <-s.release:
		return s.Store.TouchGrants(ctx, ids, at, window)
	case <-ctx.Done():
		s.ctxErr.Store(ctx.Err())
		return 0, ctx.Err()
	}
}

// TestVerifierTouchOffPath checks that the last_used_at write never holds
// up a request: with the writer stuck on a hung database, Verify keeps
// answering without starting goroutines, and Close returns promptly.
func TestVerifierTouchOffPath(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		e := testenv.New(t, db)
		g := e.Authorize(e.Client(), "alice", "read").Grant
		ctx := context.Background()
		bs := &blockingStore{Store: e.Store, release: make(chan struct{}), entered: make(chan struct{})}
		defer close(bs.release)
		v := e.StartedVerifierOver(bs)

		raw := e.Mint(g, "read")
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Fatal(err)
		}
		select {
		case <-bs.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the writer never called TouchGrants")
		}
		before := runtime.NumGoroutine()
		done := make(chan error, 1)
		go func() {
			for range 1500 { // more than the writer's queue holds
				if _, err := v.Verify(ctx, raw); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("Verify blocked behind the stuck last_used_at write")
		}
		if after := runtime.NumGoroutine(); after > before+5 {
			t.Errorf("goroutines grew from %d to %d under a stuck writer", before, after)
		}
		if !e.Grant(g.ID).LastUsedAt.IsZero() {
			t.Error("last_used_at written although the writer is stuck: the write was on the request path")
		}

		start := time.Now()
		_ = v.Stop(context.Background())
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Close took %v with a hung write, want it to cancel the write", d)
		}
		if bs.ctxErr.Load() == nil {
			t.Error("Close did not cancel the in-flight write")
		}
		_ = v.Stop(context.Background()) // idempotent
		if _, err := v.Verify(ctx, raw); err != nil {
			t.Errorf("Verify after Close: %v", err)
		}
	})
}
