// Package secret makes and checks grantkit's opaque secrets: authorization
// codes, refresh tokens and generated client secrets. Each carries
// 256 bits from crypto/rand behind a short type prefix that secret scanners
// and log filters can recognise, and is stored only as its SHA-256 hash, the
// right hash for high-entropy values (no slow password hash is needed).
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// Prefixes of the opaque secrets grantkit issues.
const (
	CodePrefix         = "gk_ac_"
	RefreshPrefix      = "gk_rt_"
	ClientSecretPrefix = "gk_cs_"
)

// New returns a fresh secret with the given prefix and its hash. It never
// fails: crypto/rand.Read does not return errors.
func New(prefix string) (secret string, hash []byte) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret = prefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, Hash(secret)
}

// Hash returns the SHA-256 hash of a secret, the only form stored.
func Hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// Equal reports in constant time whether secret hashes to hash.
func Equal(hash []byte, secret string) bool {
	return len(hash) == sha256.Size && subtle.ConstantTimeCompare(hash, Hash(secret)) == 1
}
