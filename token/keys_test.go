package token_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/token"
)

// privateMembers are the JWK members that carry private key material
// (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2).
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// checkJWKS asserts that the JWKS lists kids in order and, serialised as
// it is served, carries public keys only.
func checkJWKS(t *testing.T, ks *token.KeySet, kids ...string) {
	t.Helper()
	set := ks.JWKS()
	var got []string
	for _, k := range set.Keys {
		got = append(got, k.KeyID)
		if !k.IsPublic() {
			t.Errorf("JWKS key %s is not public", k.KeyID)
		}
	}
	if strings.Join(got, ",") != strings.Join(kids, ",") {
		t.Errorf("JWKS kids = %v, want %v", got, kids)
	}
	doc, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &parsed); err != nil {
		t.Fatal(err)
	}
	if len(parsed.Keys) != len(kids) {
		t.Fatalf("JWKS document has %d keys, want %d: %s", len(parsed.Keys), len(kids), doc)
	}
	for _, k := range parsed.Keys {
		for _, m := range privateMembers {
			if _, ok := k[m]; ok {
				t.Errorf("JWKS key %v carries private member %q: %s", k["kid"], m, doc)
			}
		}
		if k["use"] != "sig" || k["alg"] == "" || k["kid"] == "" {
			t.Errorf("JWKS key lacks use, alg or kid: %v", k)
		}
	}
}

// TestKeyRotation checks rotation without downtime (SPEC §5) for each
// algorithm: a token signed by the previous key verifies after Rotate and
// until Remove drops that key; the current key cannot be removed; the
// JWKS lists the current key first and no private material.
func TestKeyRotation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		for _, alg := range []jose.SignatureAlgorithm{token.EdDSA, token.ES256, token.RS256} {
			t.Run(string(alg), func(t *testing.T) {
				prev, next := testenv.NewKey(t, alg), testenv.NewKey(t, alg)
				e := testenv.New(t, db, testenv.WithKeys(prev))
				ks := e.Keys
				g := e.Authorize(e.Client(), "alice", "read").Grant
				v := e.StartedVerifierOver(e.Store, func(c *token.VerifierConfig) { c.Algorithms = []jose.SignatureAlgorithm{alg} })
				old := e.Mint(g, "read")
				checkJWKS(t, ks, prev.ID)

				if err := ks.Rotate(next); err != nil {
					t.Fatal(err)
				}
				checkJWKS(t, ks, next.ID, prev.ID)
				fresh := e.Mint(g, "read")
				if kid := jwsHeader(t, fresh)["kid"]; kid != next.ID {
					t.Errorf("token after Rotate has kid %v, want %s", kid, next.ID)
				}
				if alg := jwsHeader(t, fresh)["alg"]; alg != string(next.Algorithm) {
					t.Errorf("token after Rotate has alg %v, want %s", alg, next.Algorithm)
				}
				for name, raw := range map[string]string{"previous key": old, "current key": fresh} {
					if _, err := v.Verify(ctx, raw); err != nil {
						t.Errorf("token of the %s after Rotate: %v", name, err)
					}
				}

				if err := ks.Remove(next.ID); !errors.Is(err, token.ErrKeyInUse) {
					t.Errorf("Remove(current) = %v, want ErrKeyInUse", err)
				}
				if err := ks.Remove("no-such-kid"); err != nil {
					t.Errorf("Remove(unknown) = %v, want a no-op", err)
				}
				checkJWKS(t, ks, next.ID, prev.ID)

				if err := ks.Remove(prev.ID); err != nil {
					t.Fatal(err)
				}
				checkJWKS(t, ks, next.ID)
				if _, err := v.Verify(ctx, old); !errors.Is(err, token.ErrUnknownKey) {
					t.Errorf("token of a removed key: Verify = %v, want ErrUnknownKey", err)
				}
				if _, err := v.Verify(ctx, fresh); err != nil {
					t.Errorf("token of the current key after Remove: %v", err)
				}
				if _, ok := ks.PublicKey(prev.ID); ok {
					t.Error("PublicKey still finds the removed key")
				}
			})
		}
	})
}

// TestJWKSMixed checks a set holding all three algorithms.
func TestJWKSMixed(t *testing.T) {
	ed, es, rs := testenv.NewKey(t, token.EdDSA), testenv.NewKey(t, token.ES256), testenv.NewKey(t, token.RS256)
	ks, err := token.NewKeySet(es, rs, ed)
	if err != nil {
		t.Fatal(err)
	}
	checkJWKS(t, ks, es.ID, rs.ID, ed.ID)
	for _, k := range []token.Key{ed, es, rs} {
		pub, ok := ks.PublicKey(k.ID)
		if !ok || pub.Algorithm != string(k.Algorithm) || !pub.IsPublic() || pub.KeyID != k.ID {
			t.Errorf("PublicKey(%s) = %+v, %v", k.ID, pub, ok)
		}
	}
}

// jwsHeader decodes a compact JWS's protected header.
func jwsHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestNewKey checks that keys are wrapped only for their algorithm and get
// their RFC 7638 thumbprint as kid.
func TestNewKey(t *testing.T) {
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsa2048, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		alg  jose.SignatureAlgorithm
		priv crypto.Signer
		ok   bool
	}{
		{"EdDSA/ed25519", token.EdDSA, ed, true},
		{"ES256/P-256", token.ES256, p256, true},
		{"RS256/2048", token.RS256, rsa2048, true},
		{"EdDSA/P-256", token.EdDSA, p256, false},
		{"ES256/ed25519", token.ES256, ed, false},
		{"ES256/P-384", token.ES256, p384, false},
		{"ES256/rsa", token.ES256, rsa2048, false},
		{"RS256/1024", token.RS256, rsa1024, false},
		{"RS256/ed25519", token.RS256, ed, false},
		{"HS256/ed25519", jose.HS256, ed, false},
		{"PS256/rsa", jose.PS256, rsa2048, false},
		{"none/ed25519", "none", ed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := token.NewKey(tc.alg, tc.priv)
			if !tc.ok {
				if !errors.Is(err, token.ErrUnsupportedAlgorithm) {
					t.Fatalf("NewKey = %+v, %v; want ErrUnsupportedAlgorithm", k, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tp, err := (&jose.JSONWebKey{Key: tc.priv.Public()}).Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := base64.RawURLEncoding.EncodeToString(tp); k.ID != want || k.Algorithm != tc.alg {
				t.Errorf("NewKey = kid %q alg %s, want kid %q alg %s", k.ID, k.Algorithm, want, tc.alg)
			}
		})
	}
	for _, alg := range []jose.SignatureAlgorithm{jose.HS256, "none", jose.ES384} {
		if _, err := token.GenerateKey(alg); !errors.Is(err, token.ErrUnsupportedAlgorithm) {
			t.Errorf("GenerateKey(%s) = %v, want ErrUnsupportedAlgorithm", alg, err)
		}
	}

	// Hand-built keys are held to the same rules as NewKey's.
	good := testenv.NewKey(t, token.EdDSA)
	for name, bad := range map[string]token.Key{
		"zero key":         {},
		"no id":            {Algorithm: token.EdDSA, Private: ed},
		"no private key":   {ID: "k1", Algorithm: token.EdDSA},
		"PS256":            {ID: "k1", Algorithm: jose.PS256, Private: rsa2048},
		"ES256 on ed25519": {ID: "k1", Algorithm: token.ES256, Private: ed},
		"RS256 of 1024":    {ID: "k1", Algorithm: token.RS256, Private: rsa1024},
	} {
		t.Run("refused/"+name, func(t *testing.T) {
			if _, err := token.NewKeySet(bad); !errors.Is(err, token.ErrUnsupportedAlgorithm) {
				t.Errorf("NewKeySet(%s) = %v, want ErrUnsupportedAlgorithm", name, err)
			}
			if _, err := token.NewKeySet(good, bad); !errors.Is(err, token.ErrUnsupportedAlgorithm) {
				t.Errorf("NewKeySet(good, %s) = %v, want ErrUnsupportedAlgorithm", name, err)
			}
			ks, err := token.NewKeySet(good)
			if err != nil {
				t.Fatal(err)
			}
			if err := ks.Rotate(bad); !errors.Is(err, token.ErrUnsupportedAlgorithm) {
				t.Errorf("Rotate(%s) = %v, want ErrUnsupportedAlgorithm", name, err)
			}
			if set := ks.JWKS(); len(set.Keys) != 1 || set.Keys[0].KeyID != good.ID {
				t.Errorf("a refused Rotate changed the set: %+v", set.Keys)
			}
		})
	}
}

// TestVerifierAlgorithms checks that the Verifier accepts only its
// configured algorithms, even for a token signed by a key of its own set.
func TestVerifierAlgorithms(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		rs, es := testenv.NewKey(t, token.RS256), testenv.NewKey(t, token.ES256)
		e := testenv.New(t, db, testenv.WithKeys(rs, testenv.NewKey(t, token.EdDSA)))
		ks := e.Keys
		g := e.Authorize(e.Client(), "alice", "read").Grant
		ctx := context.Background()
		rsTok := e.Mint(g, "read")
		if err := ks.Rotate(es); err != nil {
			t.Fatal(err)
		}
		esTok := e.Mint(g, "read")

		only := func(algs ...jose.SignatureAlgorithm) func(*token.VerifierConfig) {
			return func(c *token.VerifierConfig) { c.Algorithms = algs }
		}
		for _, tc := range []struct {
			name string
			v    *token.Verifier
			raw  string
			ok   bool
		}{
			{"RS256 token, EdDSA only", e.StartedVerifierOver(e.Store, only(token.EdDSA)), rsTok, false},
			{"ES256 token, EdDSA only", e.StartedVerifierOver(e.Store, only(token.EdDSA)), esTok, false},
			{"RS256 token, default list", e.StartedVerifierOver(e.Store), rsTok, true},
			{"ES256 token, default list", e.StartedVerifierOver(e.Store), esTok, true},
			{"RS256 token, RS256 allowed", e.StartedVerifierOver(e.Store, only(token.EdDSA, token.RS256)), rsTok, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := tc.v.Verify(ctx, tc.raw)
				if tc.ok {
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					return
				}
				if !errors.Is(err, token.ErrAlgorithm) {
					t.Fatalf("Verify = %v, want ErrAlgorithm", err)
				}
			})
		}

		for _, algs := range [][]jose.SignatureAlgorithm{{jose.HS256}, {"none"}, {token.EdDSA, jose.PS256}} {
			cfg := token.VerifierConfig{Issuer: testenv.Issuer, Resource: testenv.Resource, Keys: ks, Algorithms: algs}
			if v, err := token.NewVerifier(e.Manager, cfg); !errors.Is(err, token.ErrUnsupportedAlgorithm) {
				_ = v
				t.Errorf("NewVerifier(%v) = %v, want ErrUnsupportedAlgorithm", algs, err)
			}
		}
	})
}
