package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

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
	// touchQueue bounds the grant ids waiting for their last_used_at
	// write; when it is full, touches are dropped (they are a debounce
	// hint, never a security decision).
	touchQueue = 1024
)

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	// Issuer is the only iss accepted.
	Issuer string
	// Resource is the resource this verifier serves: the aud a token must
	// carry (RFC 8707, RFC 9068 §4). Tokens for another resource fail.
	Resource string
	Keys     KeySource
	// Algorithms accepted; default EdDSA and ES256. "none" and HMAC
	// algorithms are never accepted.
	Algorithms []jose.SignatureAlgorithm
	// Leeway for exp, nbf and iat; default DefaultLeeway.
	Leeway time.Duration
	// TouchWindow is the last_used_at debounce; default DefaultTouchWindow.
	TouchWindow time.Duration
}

// Verifier checks access tokens on the resource side (RFC 9068 §4): signature
// with an allowed algorithm and a known key, typ at+jwt, iss, aud, exp,
// nbf and iat; then the grant check against the store, so a revoked grant's
// tokens fail on the very next request. Between Start and Stop it records
// last_used_at with a debounce from one background goroutine. It is safe
// for concurrent use.
type Verifier struct {
	cfg     VerifierConfig
	store   store.Store
	now     func() time.Time
	log     *slog.Logger
	algs    []jose.SignatureAlgorithm
	touches chan string

	mu      sync.Mutex
	running bool
	// recording is running, readable by Verify without the mutex.
	recording atomic.Bool
	// cancel ends the writer's context, so a write stuck on the database
	// does not hold Stop up; done is closed when the writer has returned.
	cancel context.CancelFunc
	done   chan struct{}
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
	if cfg.Leeway < 0 || cfg.TouchWindow < 0 {
		return nil, errors.New("token: negative Leeway or TouchWindow")
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.TouchWindow == 0 {
		cfg.TouchWindow = DefaultTouchWindow
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = []jose.SignatureAlgorithm{EdDSA, ES256}
	}
	for _, a := range algs {
		if a != EdDSA && a != ES256 && a != RS256 {
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedAlgorithm, a)
		}
	}
	return &Verifier{cfg: cfg, store: m.Store(), now: m.Now, log: m.Logger(), algs: slices.Clone(algs),
		touches: make(chan string, touchQueue)}, nil
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

// verifyJWT runs every check that needs no store.
func (v *Verifier) verifyJWT(raw string) (Claims, error) {
	tok, err := jwt.ParseSigned(raw, v.algs)
	if err != nil {
		// Only an alg outside the list is an algorithm refusal; a token with
		// an allowed alg that fails to parse is malformed.
		alg := headerAlg(raw)
		if strings.EqualFold(alg, "none") { // RFC 7519 §6: never accepted
			return Claims{}, ErrUnsecured
		}
		if alg != "" && !slices.Contains(v.algs, jose.SignatureAlgorithm(alg)) {
			return Claims{}, fmt.Errorf("%w (%s)", ErrAlgorithm, alg)
		}
		return Claims{}, ErrMalformed
	}
	if len(tok.Headers) != 1 {
		return Claims{}, ErrMalformed
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, TypeATJWT) &&
		!strings.EqualFold(typ, "application/"+TypeATJWT) {
		return Claims{}, ErrType
	}
	key, ok := v.cfg.Keys.PublicKey(h.KeyID)
	if !ok {
		return Claims{}, ErrUnknownKey
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return Claims{}, fmt.Errorf("%w: key is for %s", ErrAlgorithm, key.Algorithm)
	}
	var c Claims
	if err := tok.Claims(key.Key, &c); err != nil {
		return Claims{}, ErrSignature
	}
	now := v.now()
	switch {
	case c.Issuer != v.cfg.Issuer:
		return Claims{}, ErrIssuer
	case !c.Audience.Contains(v.cfg.Resource):
		return Claims{}, ErrAudience
	case c.Expiry == nil:
		return Claims{}, ErrMissingExpiry
	case !now.Before(c.Expiry.Time().Add(v.cfg.Leeway)):
		return Claims{}, ErrAccessTokenExpired
	case c.NotBefore != nil && now.Add(v.cfg.Leeway).Before(c.NotBefore.Time()),
		c.IssuedAt != nil && now.Add(v.cfg.Leeway).Before(c.IssuedAt.Time()):
		return Claims{}, ErrNotYetValid
	case c.GrantID == "" || c.ClientID == "" || c.Subject == "":
		return Claims{}, ErrMalformed
	}
	return c, nil
}

// checkGrant is the grant check: the grant exists, is active and matches the token's client, subject, subject kind, resource, scopes and config_version. The grant must be for the
// resource this verifier serves: a token listing several audiences does
// not stretch its grant to the others.
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
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Alg
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
		if len(written) > 4*touchQueue { // forget what the window has passed
			for id, at := range written {
				if now.Sub(at) >= v.cfg.TouchWindow {
					delete(written, id)
				}
			}
		}
	}
}
