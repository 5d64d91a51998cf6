package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"

	"github.com/go-jose/go-jose/v4"
)

// Signing algorithms grantkit supports (RFC 7518 §3.1, RFC 8037 §3.1).
const (
	EdDSA = jose.EdDSA
	ES256 = jose.ES256
	RS256 = jose.RS256
)

// Key is a private signing key with its algorithm and key id.
type Key struct {
	// ID is the "kid" (RFC 7515 §4.1.4); GenerateKey and NewKey set it to
	// the key's RFC 7638 thumbprint.
	ID        string
	Algorithm jose.SignatureAlgorithm
	Private   crypto.Signer
}

// GenerateKey creates a key for alg (EdDSA, ES256 or RS256 with 2048 bits).
func GenerateKey(alg jose.SignatureAlgorithm) (Key, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return Key{}, fmt.Errorf("%w: %s", ErrUnsupportedAlgorithm, alg)
	}
	if err != nil {
		return Key{}, fmt.Errorf("token: generating %s key: %w", alg, err)
	}
	return NewKey(alg, priv)
}

// NewKey wraps an existing private key (ed25519.PrivateKey,
// *ecdsa.PrivateKey on P-256, or *rsa.PrivateKey of at least 2048 bits),
// deriving its key id from the RFC 7638 thumbprint of the public key.
func NewKey(alg jose.SignatureAlgorithm, priv crypto.Signer) (Key, error) {
	if !fits(alg, priv) {
		return Key{}, fmt.Errorf("%w: %T for %s", ErrUnsupportedAlgorithm, priv, alg)
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(alg), Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return Key{}, fmt.Errorf("token: key thumbprint: %w", err)
	}
	return Key{ID: base64.RawURLEncoding.EncodeToString(tp), Algorithm: alg, Private: priv}, nil
}

// fits reports whether priv is a key grantkit accepts for alg.
func fits(alg jose.SignatureAlgorithm, priv crypto.Signer) bool {
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		return alg == EdDSA && len(k) == ed25519.PrivateKeySize
	case *ecdsa.PrivateKey:
		return alg == ES256 && k.Curve == elliptic.P256()
	case *rsa.PrivateKey:
		return alg == RS256 && k.N.BitLen() >= 2048
	}
	return false
}

// check refuses a Key (possibly built by hand) that NewKey would not have
// made: no id, or a key that does not fit its algorithm.
func (k Key) check() error {
	if k.ID == "" || !fits(k.Algorithm, k.Private) {
		return fmt.Errorf("%w: key %q: %T for %s", ErrUnsupportedAlgorithm, k.ID, k.Private, k.Algorithm)
	}
	return nil
}

func (k Key) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.Private.Public(), KeyID: k.ID, Algorithm: string(k.Algorithm), Use: "sig"}
}

// KeySet holds one current signing key and older keys kept for verification
// until the tokens they signed expire, so keys rotate without downtime
// (RFC 7517 §5 JWKS). It is safe for concurrent use.
type KeySet struct {
	mu      sync.RWMutex
	current Key
	signer  jose.Signer
	older   []Key
}

// NewKeySet returns a key set signing with current and verifying with
// current and older.
func NewKeySet(current Key, older ...Key) (*KeySet, error) {
	ks := &KeySet{}
	if err := ks.setCurrent(current); err != nil {
		return nil, err
	}
	for _, k := range older {
		if err := k.check(); err != nil {
			return nil, err
		}
	}
	ks.older = slices.Clone(older)
	return ks, nil
}

func (ks *KeySet) setCurrent(k Key) error {
	if err := k.check(); err != nil {
		return err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.Algorithm,
		Key: jose.JSONWebKey{Key: k.Private, KeyID: k.ID, Algorithm: string(k.Algorithm)}},
		(&jose.SignerOptions{}).WithType(TypeATJWT))
	if err != nil {
		return fmt.Errorf("token: signer: %w", err)
	}
	ks.current, ks.signer = k, signer
	return nil
}

// Rotate makes next the signing key; the previous current key is kept for
// verification until Remove drops it.
func (ks *KeySet) Rotate(next Key) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	prev := ks.current
	if err := ks.setCurrent(next); err != nil {
		return err
	}
	ks.older = append(ks.older, prev)
	return nil
}

// Remove drops a verification-only key: tokens it signed stop verifying.
// Removing the current key returns ErrKeyInUse; an unknown id is a no-op.
func (ks *KeySet) Remove(kid string) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if kid == ks.current.ID {
		return ErrKeyInUse
	}
	ks.older = slices.DeleteFunc(ks.older, func(k Key) bool { return k.ID == kid })
	return nil
}

// JWKS returns the public keys, current first, as a JWK Set (RFC 7517 §5)
// to serve at the jwks_uri. It never contains private material.
func (ks *KeySet) JWKS() jose.JSONWebKeySet {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{ks.current.public()}}
	for _, k := range ks.older {
		set.Keys = append(set.Keys, k.public())
	}
	return set
}

// PublicKey returns the public key with id kid, if the set holds it.
func (ks *KeySet) PublicKey(kid string) (jose.JSONWebKey, bool) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if ks.current.ID == kid {
		return ks.current.public(), true
	}
	for _, k := range ks.older {
		if k.ID == kid {
			return k.public(), true
		}
	}
	return jose.JSONWebKey{}, false
}

func (ks *KeySet) currentSigner() jose.Signer {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.signer
}
