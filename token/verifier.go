package token

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
)

// KeySource finds the public key a token names in its kid header. *KeySet
// implements it; a resource server in another process implements it over
// the authorization server's JWKS.
type KeySource interface {
	PublicKey(kid string) (jose.JSONWebKey, bool)
}

// Verifier defaults.
const (
	DefaultLeeway      = 30 * time.Second
	DefaultTouchWindow = 30 * time.Second
	// NoLeeway, as VerifierConfig.Leeway, checks exp, nbf and iat with no
	// leeway at all (RFC 7519 §4.1.4 allows "some small leeway"; zero
	// means DefaultLeeway).
	NoLeeway time.Duration = -1
	// touchQueue bounds the grant ids waiting for their last_used_at
	// write; when it is full, touches are dropped (they are a debounce
	// hint, never a security decision).
	touchQueue = 1024
	// touchMemory bounds the grant ids the writer remembers having
	// written within the window; beyond it, it forgets them all (at worst
	// a few more statements, which the store's debounce predicate turns
	// into no-ops).
	touchMemory = 4 * touchQueue
)

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Issuer is the only iss accepted.
	Issuer string
	// Resource is the resource this verifier serves: the aud a token must
	// carry (RFC 8707, RFC 9068 §4). Tokens for another resource fail.
	Resource string
	Keys     KeySource
	// Algorithms, when set, is the allow-list of algorithms accepted (of
	// EdDSA, ES256 and RS256); a key that names an "alg" verifies only
	// that one. When empty, the algorithm of a token is the one of the key
	// its kid names: any algorithm grantkit signs with (EdDSA, ES256,
	// RS256, so RS256 as RFC 9068 §2.1 requires), provided the key's "alg"
	// (RFC 7517 §4.4) is set and equals the token's. "none" and HMAC
	// algorithms are never accepted.
	Algorithms []jose.SignatureAlgorithm
	// Leeway for exp, nbf and iat; 0 means DefaultLeeway, NoLeeway means
	// none. Other negative values are refused.
	Leeway time.Duration
	// TouchWindow is the last_used_at debounce; default DefaultTouchWindow.
	TouchWindow time.Duration
}

// Verifier checks access tokens on the resource side as RFC 9068 §4
// describes: a compact JWS with no JWS extension, signed with an allowed
// algorithm by a known key, typ at+jwt, iss, aud, exp, nbf and iat, and
// every claim RFC 9068 §2.2 requires; then the grant check against the
// store, grantkit's own, so a revoked grant's tokens fail on the very next
// request. Between Start and Stop it records last_used_at with a debounce
// from one background goroutine. It is safe for concurrent use.
type Verifier struct {
	cfg     VerifierConfig
	store   store.Store
	now     func() time.Time
	log     *slog.Logger
	algs    []jose.SignatureAlgorithm
	touches chan string
	// anyAudience and expiredOK relax verifyJWT for the authorization
	// server's own look-ups (Server.Revoke, Server.Introspect), which know
	// every resource; for revocation an expired token still names its
	// grant. NewVerifier never sets them.
	anyAudience, expiredOK bool

	mu      sync.Mutex
	running bool
	// recording is running, readable by Verify without the mutex.
	recording atomic.Bool
	// cancel ends the writer's context, so a write stuck on the database
	// does not hold Stop up; done is closed when the writer has returned.
	cancel context.CancelFunc
	done   chan struct{}
	// memory is touchMemory, which tests lower (before Start);
	// remembered is how many grant ids the writer remembers.
	memory     int
	remembered atomic.Int64
}

// NewVerifier returns a Verifier reading grants through m's store and
// time from m's clock, logging to m's logger. Call Start to record
// last_used_at; Verify works without it. In a resource server sharing the
// authorization server's process, build cfg with Minter.VerifierConfig.
func NewVerifier(m *grant.Manager, cfg VerifierConfig) (*Verifier, error) {
	if m == nil {
		return nil, errors.New("token: NewVerifier needs a *grant.Manager")
	}
	if cfg.Issuer == "" || cfg.Resource == "" || cfg.Keys == nil {
		return nil, errors.New("token: VerifierConfig needs Issuer, Resource and Keys")
	}
	if (cfg.Leeway < 0 && cfg.Leeway != NoLeeway) || cfg.TouchWindow < 0 {
		return nil, errors.New("token: negative Leeway (other than NoLeeway) or TouchWindow")
	}
	switch cfg.Leeway {
	case 0:
		cfg.Leeway = DefaultLeeway
	case NoLeeway:
		cfg.Leeway = 0
	}
	if cfg.TouchWindow == 0 {
		cfg.TouchWindow = DefaultTouchWindow
	}
	algs := cfg.Algorithms
	for _, a := range algs {
		if a != EdDSA && a != ES256 && a != RS256 {
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedAlgorithm, a)
		}
	}
	return &Verifier{cfg: cfg, store: m.Store(), now: m.Now, log: m.Logger(), algs: slices.Clone(algs),
		touches: make(chan string, touchQueue), memory: touchMemory}, nil
}

// Start starts the background goroutine that records last_used_at for the
// grants Verify saw, debounced by TouchWindow (one write per grant per
// window, off the request's path). It runs until ctx ends or Stop. Start on
// a started Verifier does nothing.
func (v *Verifier) Start(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.running {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	v.running, v.cancel, v.done = true, cancel, make(chan struct{})
	v.recording.Store(true)
	go v.touchLoop(ctx, v.done)
	return nil
}

// Stop stops the last_used_at writer and waits for it to return, or for
// ctx to end (then returning ctx's error); a write in flight is cancelled
// and touches still queued are dropped. Verify keeps working after Stop,
// without recording last_used_at. Stop on a stopped Verifier returns nil.
func (v *Verifier) Stop(ctx context.Context) error {
	v.mu.Lock()
	if !v.running {
		v.mu.Unlock()
		return nil
	}
	v.running = false
	v.recording.Store(false)
	cancel, done := v.cancel, v.done
	v.mu.Unlock()
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Verify checks raw and returns its claims. Every refusal wraps
// ErrInvalidToken with a distinct error naming the failed check; a store
// failure during the grant check is returned as is (not wrapped in
// ErrInvalidToken) and is never a success.
func (v *Verifier) Verify(ctx context.Context, raw string) (Claims, error) {
	c, err := v.verifyJWT(raw)
	if err != nil {
		return Claims{}, err
	}
	g, err := v.store.GetGrant(ctx, c.GrantID)
	if errors.Is(err, store.ErrNotFound) {
		return Claims{}, ErrGrantInactive
	}
	if err != nil {
		return Claims{}, fmt.Errorf("token: grant check: %w", err)
	}
	if err := checkGrant(c, g, v.cfg.Resource); err != nil {
		return Claims{}, err
	}
	if v.recording.Load() {
		select { // never block the request for bookkeeping
		case v.touches <- g.ID:
		default:
		}
	}
	return c, nil
}

// signingAlgs are the algorithms grantkit signs with, the algorithms a
// Verifier accepts when VerifierConfig.Algorithms is empty.
var signingAlgs = []jose.SignatureAlgorithm{EdDSA, ES256, RS256}

// verifyJWT runs every check that needs no store. The signature is
// verified before the claims are decoded, so only a signature that fails to
// verify is ErrSignature; a header using a JWS extension and claims that
// are no JSON object of the right types are ErrMalformed.
func (v *Verifier) verifyJWT(raw string) (Claims, error) {
	allowed := v.algs
	if len(allowed) == 0 {
		allowed = signingAlgs
	}
	jws, err := jose.ParseSignedCompact(raw, allowed)
	if err != nil {
		// Only an alg outside the list is an algorithm refusal; a token with
		// an allowed alg that fails to parse is malformed.
		alg := headerAlg(raw)
		if strings.EqualFold(alg, "none") { // RFC 7519 §6: never accepted
			return Claims{}, ErrUnsecured
		}
		if alg != "" && !slices.Contains(allowed, jose.SignatureAlgorithm(alg)) {
			return Claims{}, fmt.Errorf("%w (%s)", ErrAlgorithm, alg)
		}
		return Claims{}, ErrMalformed
	}
	if len(jws.Signatures) != 1 || !canonicalCompact(raw) {
		return Claims{}, ErrMalformed
	}
	if name := extensionParam(raw); name != "" {
		return Claims{}, fmt.Errorf("%w: header %q: JWS extensions are not supported", ErrMalformed, name)
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, TypeATJWT) &&
		!strings.EqualFold(typ, "application/"+TypeATJWT) {
		return Claims{}, ErrType
	}
	key, ok := v.cfg.Keys.PublicKey(h.KeyID)
	if !ok {
		return Claims{}, ErrUnknownKey
	}
	if err := v.checkKeyAlg(key, h.Algorithm); err != nil {
		return Claims{}, err
	}
	payload, err := jws.Verify(key.Key)
	switch {
	case errors.Is(err, jose.ErrCryptoFailure):
		return Claims{}, ErrSignature
	case err != nil: // a key go-jose cannot verify with
		return Claims{}, fmt.Errorf("%w: key cannot verify: %v", ErrUnknownKey, err)
	}
	var c Claims
	if err := josejson.Unmarshal(payload, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	now := v.now()
	switch {
	case c.Issuer != v.cfg.Issuer:
		return Claims{}, ErrIssuer
	case !v.anyAudience && !c.Audience.Contains(v.cfg.Resource):
		return Claims{}, ErrAudience
	case c.Expiry == nil:
		return Claims{}, ErrMissingExpiry
	case !v.expiredOK && !now.Before(c.Expiry.Time().Add(v.cfg.Leeway)):
		return Claims{}, ErrAccessTokenExpired
	case c.NotBefore != nil && now.Add(v.cfg.Leeway).Before(c.NotBefore.Time()),
		c.IssuedAt != nil && now.Add(v.cfg.Leeway).Before(c.IssuedAt.Time()):
		return Claims{}, ErrNotYetValid
	}
	if name := missingClaim(c); name != "" {
		return Claims{}, fmt.Errorf("%w: no %s claim", ErrMalformed, name)
	}
	return c, nil
}

// missingClaim names the first required claim c lacks, "" if none: sub,
// client_id, iat and jti are REQUIRED by RFC 9068 §2.2 (iss, aud and exp,
// required too, have checks of their own), and grant_id is what the grant
// check reads.
func missingClaim(c Claims) string {
	switch {
	case c.Subject == "":
		return "sub"
	case c.ClientID == "":
		return "client_id"
	case c.IssuedAt == nil:
		return "iat"
	case c.ID == "":
		return "jti"
	case c.GrantID == "":
		return "grant_id"
	}
	return ""
}

// checkKeyAlg checks the token's alg against the key its kid names: a key
// with an "alg" verifies only that algorithm; a key without one is used
// only when VerifierConfig.Algorithms lists the algorithms explicitly, since
// otherwise nothing says which algorithm it is for; and either way the key
// must be of the kind alg verifies with (RFC 7518 §3.1, RFC 8037 §3.1).
func (v *Verifier) checkKeyAlg(key jose.JSONWebKey, alg string) error {
	switch {
	case key.Algorithm != "" && key.Algorithm != alg:
		return fmt.Errorf("%w: key is for %s", ErrAlgorithm, key.Algorithm)
	case key.Algorithm == "" && len(v.algs) == 0:
		return fmt.Errorf("%w: key has no alg and VerifierConfig.Algorithms is empty", ErrAlgorithm)
	case !publicFits(alg, key.Key):
		return fmt.Errorf("%w: a %T key cannot verify %s", ErrAlgorithm, key.Key, alg)
	}
	return nil
}

// publicFits reports whether pub is a public key of the kind alg verifies
// with; a verifier of another kind (a jose.OpaqueVerifier) is left to
// go-jose.
func publicFits(alg string, pub any) bool {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return alg == string(EdDSA)
	case *ecdsa.PublicKey:
		return alg == string(ES256) && k != nil && k.Curve == elliptic.P256()
	case *rsa.PublicKey:
		return alg == string(RS256)
	}
	return true
}

// checkGrant is the grant check, which grantkit adds to RFC 9068 §4: the
// grant the token names must be active, of the token's client, subject and
// subject kind, hold every scope of the token, and be at the token's
// config_version. The grant must be for the resource this verifier serves:
// a token listing several audiences does not stretch its grant to the
// others.
func checkGrant(c Claims, g store.Grant, resource string) error {
	switch {
	case g.Status != store.GrantActive:
		return ErrGrantInactive
	case g.ClientID != c.ClientID || g.Subject != c.Subject || g.SubjectKind != c.SubjectKind || g.Resource != resource:
		return ErrGrantMismatch
	case g.ConfigVersion != c.ConfigVersion:
		return ErrConfigVersion
	}
	for _, s := range c.Scopes() {
		if !slices.Contains(g.Scopes, s) {
			return ErrScopeBeyond
		}
	}
	return nil
}

// headerAlg returns the alg of a compact JWS header, "" if unreadable.
func headerAlg(raw string) string {
	var alg string
	if josejson.Unmarshal(protectedHeader(raw)["alg"], &alg) != nil {
		return ""
	}
	return alg
}

// canonicalCompact reports whether every segment of the compact JWS raw
// is canonical unpadded base64url (RFC 7515 §2, §7.1): no line breaks or
// other characters, which base64 decoding skips, and no non-zero unused
// bits in the last character. go-jose verifies the signature over the
// segments re-encoded from their bytes, so without this check many
// strings would pass for one signed token.
func canonicalCompact(raw string) bool {
	if strings.ContainsAny(raw, "\r\n") {
		return false
	}
	for seg := range strings.SplitSeq(raw, ".") {
		if _, err := base64.RawURLEncoding.Strict().DecodeString(seg); err != nil {
			return false
		}
	}
	return true
}

// extensionParam returns the name of a header parameter of a JWS extension
// in the protected header of raw, "" if there is none: "crit" (RFC 7515
// §4.1.11), in any form, since grantkit understands no extension, and "b64"
// (RFC 7797 §3), which go-jose would honour and which changes what the
// signature covers.
func extensionParam(raw string) string {
	h := protectedHeader(raw)
	for _, name := range []string{"crit", "b64"} {
		if _, ok := h[name]; ok {
			return name
		}
	}
	return ""
}

// protectedHeader returns the parameters of the protected header of the
// compact JWS raw, nil if it is unreadable. It decodes as go-jose does:
// names are case-sensitive and a name given twice is refused.
func protectedHeader(raw string) map[string]josejson.RawMessage {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return nil
	}
	var h map[string]josejson.RawMessage
	if josejson.Unmarshal(b, &h) != nil {
		return nil
	}
	return h
}

// touchLoop writes last_used_at for the grants Verify saw, in batches, with
// the store's debounce predicate, so a busy grant is written at most once
// per window. It also remembers what it wrote, so a busy grant costs no
// statement at all within the window.
func (v *Verifier) touchLoop(ctx context.Context, done chan struct{}) {
	defer close(done)
	written := map[string]time.Time{}
	for {
		var id string
		select {
		case id = <-v.touches:
		case <-ctx.Done():
			return
		}
		now := v.now()
		batch := map[string]bool{}
		for {
			if now.Sub(written[id]) >= v.cfg.TouchWindow {
				batch[id] = true
			}
			if len(batch) == 256 {
				break
			}
			select {
			case id = <-v.touches:
				continue
			default:
			}
			break
		}
		if len(batch) == 0 {
			continue
		}
		ids := make([]string, 0, len(batch))
		for id := range batch {
			ids = append(ids, id)
			written[id] = now
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if _, err := v.store.TouchGrants(wctx, ids, now, v.cfg.TouchWindow); err != nil && ctx.Err() == nil {
			v.log.Warn("grantkit: recording last_used_at", slog.Any("error", err))
		}
		cancel()
		if len(written) > v.memory { // forget what the window has passed
			for id, at := range written {
				if now.Sub(at) >= v.cfg.TouchWindow {
					delete(written, id)
				}
			}
			if len(written) > v.memory { // a flood of distinct grants within one window
				clear(written)
			}
		}
		v.remembered.Store(int64(len(written)))
	}
}
