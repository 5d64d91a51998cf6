package grant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/grantkit/grantkit/store"
)

// Default lifetimes.
const (
	// DefaultAuthRequestTTL is how long a started authorization may wait
	// for the host's login and consent.
	DefaultAuthRequestTTL = 10 * time.Minute
	// DefaultCodeTTL is an authorization code's lifetime (RFC 6749 §4.1.2
	// recommends at most 10 minutes; a minute is plenty for a redirect).
	DefaultCodeTTL = 60 * time.Second
)

// Config configures a Manager. Only Store is required.
type Config struct {
	// Store holds the grants.
	Store store.Store
	// Now returns the current time; default time.Now. Tests inject a clock.
	Now func() time.Time
	// Logger receives operational logs; default slog.Default().
	Logger *slog.Logger
	// Hooks run inside every cascade, with its transaction, after
	// grantkit's own rows are revoked. A hook error rolls
	// the whole revocation back.
	Hooks []CascadeHook
	// Observer, when set, is told about security events after their
	// transaction commits.
	Observer Observer
	// AuthRequestTTL is the lifetime of a started authorization; default
	// DefaultAuthRequestTTL.
	AuthRequestTTL time.Duration
	// CodeTTL is the lifetime of an authorization code; default
	// DefaultCodeTTL.
	CodeTTL time.Duration
}

// Manager runs the grant lifecycle. It is safe for concurrent use.
type Manager struct {
	store    store.Store
	now      func() time.Time
	log      *slog.Logger
	hooks    []CascadeHook
	observer Observer
	reqTTL   time.Duration
	codeTTL  time.Duration
}

// New returns a Manager. It refuses a nil Store and negative lifetimes.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("grant: Config.Store is nil")
	}
	if cfg.AuthRequestTTL < 0 || cfg.CodeTTL < 0 {
		return nil, errors.New("grant: lifetimes must not be negative")
	}
	m := &Manager{store: cfg.Store, now: cfg.Now, log: cfg.Logger, hooks: cfg.Hooks, observer: cfg.Observer,
		reqTTL: cfg.AuthRequestTTL, codeTTL: cfg.CodeTTL}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.reqTTL == 0 {
		m.reqTTL = DefaultAuthRequestTTL
	}
	if m.codeTTL == 0 {
		m.codeTTL = DefaultCodeTTL
	}
	for i, h := range m.hooks {
		if h == nil {
			return nil, fmt.Errorf("grant: Config.Hooks[%d] is nil", i)
		}
	}
	return m, nil
}

// The Manager is the wiring root: the token server, the Verifier, the
// session service and the sweep worker are built from it and take its
// store, clock, logger and observer, so each is configured once.

// Store returns the store the manager runs on.
func (m *Manager) Store() store.Store { return m.store }

// Now returns the manager's current time (Config.Now), in UTC truncated to
// the microsecond as stores keep it. Every component built from the
// manager reads time here.
func (m *Manager) Now() time.Time { return m.clock() }

// Logger returns the manager's logger (Config.Logger or slog.Default()).
func (m *Manager) Logger() *slog.Logger { return m.log }

// Observer returns the observer components report to: it logs each event
// at info level and then hands it to Config.Observer, if any. Events that
// result from a transaction are reported through Tx.AfterCommit instead,
// so they reach it only once the change is durable.
func (m *Manager) Observer() Observer { return ObserverFunc(m.notify) }

// clock returns the current time as stores keep it.
func (m *Manager) clock() time.Time { return m.now().UTC().Truncate(time.Microsecond) }

// inTx runs fn in a transaction of the manager's store. Events fn reports
// with m.report reach the observer after the commit.
func (m *Manager) inTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return m.store.InTx(ctx, fn)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
