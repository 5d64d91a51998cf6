// Package sweep keeps grantkit's tables small: a worker deletes
// expired and long-revoked rows in bounded batches, once at start and then
// every interval, so no statement holds locks for long. Among several
// instances on one PostgreSQL database only one sweeps at a time.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/store"
)

// Defaults.
const (
	DefaultInterval          = 10 * time.Minute
	DefaultBatchSize         = 1000
	DefaultRevokedRetention  = 30 * 24 * time.Hour
	DefaultOrphanClientGrace = time.Hour
	DefaultPendingGrace      = 24 * time.Hour
	DefaultBatchTime         = 5 * time.Millisecond
	DefaultDutyCycle         = 0.25
)

// ErrBusy reports that another instance holds the sweep: RunOnce did nothing.
var ErrBusy = errors.New("sweep: another instance is sweeping")

// Config configures a Worker. Every field is optional: zero values take
// their defaults and negative ones are refused.
type Config struct {
	// Interval between runs; default DefaultInterval.
	Interval time.Duration
	// BatchSize bounds the rows one statement deletes; default
	// DefaultBatchSize.
	BatchSize int
	// BatchTime paces the sweep so it never crowds out the requests
	// sharing the database: a batch that took longer than BatchTime halves
	// the next batch (down to BatchSize/16, so a statement whose cost does
	// not shrink with its rows cannot slow the sweep without bound), one
	// that took under half of it doubles it (up to BatchSize). On SQLite,
	// where a batch holds the only write lock, this bounds how long a
	// request can wait behind the sweep. Default DefaultBatchTime.
	BatchTime time.Duration
	// DutyCycle is the largest fraction of wall-clock time the sweep
	// spends in statements: after every full batch the worker waits
	// took×(1−DutyCycle)/DutyCycle, so the database's other clients keep
	// the rest of a core (and, on SQLite, of the write lock). In (0, 1];
	// 1 never waits. Default DefaultDutyCycle.
	DutyCycle float64
	// RevokedRetention is how long revoked refresh tokens and revoked
	// grants are kept (for reuse detection and the audit of recent
	// revocations); default DefaultRevokedRetention.
	RevokedRetention time.Duration
	// OrphanClientGrace is how long a dynamically registered client may
	// exist without grants; default DefaultOrphanClientGrace.
	OrphanClientGrace time.Duration
	// PendingGrace is how long a pending grant (an authorization never
	// approved) is kept after its creation once its requests are gone;
	// default DefaultPendingGrace.
	PendingGrace time.Duration
	// AuditRetention, when positive, deletes audit events older than it.
	// Zero keeps them forever.
	AuditRetention time.Duration
}

// Counts are the rows one run deleted, per kind.
type Counts struct {
	AuthRequests    int64
	AbandonedGrants int64
	AuthCodes       int64
	RefreshTokens   int64
	RevokedGrants   int64
	OrphanClients   int64
	AuditEvents     int64
}

// Total is the number of rows deleted.
func (c Counts) Total() int64 {
	return c.AuthRequests + c.AbandonedGrants + c.AuthCodes + c.RefreshTokens + c.RevokedGrants + c.OrphanClients +
		c.AuditEvents
}

// Worker runs the sweep. Start and Stop manage its background loop;
// RunOnce runs one sweep directly (tests, cron). It is safe for concurrent
// use.
type Worker struct {
	cfg      Config
	store    store.Store
	now      func() time.Time
	log      *slog.Logger
	observer grant.Observer

	mu      sync.Mutex
	cancel  context.CancelFunc
	stopped chan struct{}
}

// New returns a Worker sweeping m's store, with m's clock and logger; each
// run that deleted rows is reported to m's observer as a sweep.completed
// event with the total count. It refuses a negative batch size and
// negative durations.
func New(m *grant.Manager, cfg Config) (*Worker, error) {
	if m == nil {
		return nil, errors.New("sweep: nil *grant.Manager")
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Interval", &cfg.Interval, DefaultInterval},
		{"RevokedRetention", &cfg.RevokedRetention, DefaultRevokedRetention},
		{"OrphanClientGrace", &cfg.OrphanClientGrace, DefaultOrphanClientGrace},
		{"PendingGrace", &cfg.PendingGrace, DefaultPendingGrace},
		{"BatchTime", &cfg.BatchTime, DefaultBatchTime},
	} {
		switch {
		case *d.v < 0:
			return nil, fmt.Errorf("sweep: %s must be positive, got %v", d.name, *d.v)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	switch {
	case cfg.DutyCycle == 0:
		cfg.DutyCycle = DefaultDutyCycle
	case !(cfg.DutyCycle > 0 && cfg.DutyCycle <= 1): // also refuses NaN
		return nil, fmt.Errorf("sweep: DutyCycle must be in (0, 1], got %v", cfg.DutyCycle)
	}
	if cfg.AuditRetention < 0 {
		return nil, fmt.Errorf("sweep: AuditRetention must not be negative, got %v", cfg.AuditRetention)
	}
	if cfg.BatchSize < 0 {
		return nil, fmt.Errorf("sweep: BatchSize must be positive, got %d", cfg.BatchSize)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	return &Worker{cfg: cfg, store: m.Store(), now: m.Now, log: m.Logger(), observer: m.Observer()}, nil
}

// RunOnce runs one sweep unless another caller of the same database holds
// it (ErrBusy; across processes on PostgreSQL, within the process on
// SQLite). Each kind of row is deleted in batches of at most BatchSize
// until a batch comes back short. It returns what it deleted, also when
// ctx ends or a statement fails part-way (with that error).
func (w *Worker) RunOnce(ctx context.Context) (Counts, error) {
	var c Counts
	ran, err := w.store.Exclusive(ctx, "sweep", func(ctx context.Context) error {
		return w.sweep(ctx, &c)
	})
	if err == nil && !ran {
		return Counts{}, ErrBusy
	}
	if c.Total() > 0 {
		w.log.LogAttrs(ctx, slog.LevelInfo, "grantkit: sweep", slog.Int64("auth_requests", c.AuthRequests),
			slog.Int64("abandoned_grants", c.AbandonedGrants), slog.Int64("auth_codes", c.AuthCodes),
			slog.Int64("refresh_tokens", c.RefreshTokens), slog.Int64("revoked_grants", c.RevokedGrants),
			slog.Int64("orphan_clients", c.OrphanClients), slog.Int64("audit_events", c.AuditEvents))
		w.observer.Observe(ctx, grant.Event{Type: grant.EventSweepCompleted, Count: int(c.Total())})
	}
	return c, err
}

// sweep deletes, in dependency order, so that rows freed by one step
// (requests, codes, tokens) let the next delete their grants in the same run.
func (w *Worker) sweep(ctx context.Context, c *Counts) error {
	now := w.now()
	s := w.store
	type step struct {
		n   *int64
		del func(limit int) (int64, error)
	}
	steps := []step{
		{&c.AuthRequests, func(l int) (int64, error) { return s.DeleteExpiredAuthRequests(ctx, now, l) }},
		{&c.AuthCodes, func(l int) (int64, error) { return s.DeleteExpiredAuthCodes(ctx, now, l) }},
		{&c.RefreshTokens, func(l int) (int64, error) {
			return s.DeleteRefreshTokens(ctx, now.Add(-w.cfg.RevokedRetention), now, l)
		}},
		{&c.AbandonedGrants, func(l int) (int64, error) {
			return s.DeleteAbandonedGrants(ctx, now.Add(-w.cfg.PendingGrace), l)
		}},
		{&c.RevokedGrants, func(l int) (int64, error) {
			return s.DeleteRevokedGrants(ctx, now.Add(-w.cfg.RevokedRetention), l)
		}},
		{&c.OrphanClients, func(l int) (int64, error) {
			return s.DeleteOrphanClients(ctx, now.Add(-w.cfg.OrphanClientGrace), l)
		}},
	}
	if w.cfg.AuditRetention > 0 {
		steps = append(steps, step{&c.AuditEvents, func(l int) (int64, error) {
			return s.DeleteAuditEvents(ctx, now.Add(-w.cfg.AuditRetention), l)
		}})
	}
	for _, st := range steps {
		if err := w.drain(ctx, st.n, st.del); err != nil {
			return err
		}
	}
	return nil
}

// drain deletes batches until one comes back short, pacing them as
// Config.BatchTime says. Batch durations are measured on the monotonic
// clock, not Config.Now.
func (w *Worker) drain(ctx context.Context, count *int64, del func(limit int) (int64, error)) error {
	limit, floor := w.cfg.BatchSize, max(w.cfg.BatchSize/16, 1)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		start := time.Now()
		n, err := del(limit)
		took := time.Since(start)
		*count += n
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		if n < int64(limit) {
			return nil
		}
		switch {
		case took > w.cfg.BatchTime:
			limit = max(limit/2, floor)
		case took < w.cfg.BatchTime/2:
			limit = min(limit*2, w.cfg.BatchSize)
		}
		if w.cfg.DutyCycle == 1 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(float64(took) * (1 - w.cfg.DutyCycle) / w.cfg.DutyCycle)):
		}
	}
}

// Start runs a sweep now and then every Interval in a background goroutine
// until Stop. A run that finds another instance sweeping is skipped; a
// failed run is logged and retried at the next tick. Start on a started
// worker does nothing. The loop also ends when ctx does.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancel != nil {
		return nil
	}
	ctx, w.cancel = context.WithCancel(ctx)
	w.stopped = make(chan struct{})
	go w.loop(ctx, w.stopped)
	return nil
}

// Stop cancels the run in flight through its context and waits for the
// background goroutine to end, or for ctx to end (returning ctx's error);
// a Stop called while another is waiting waits too. Stop on a stopped
// worker returns nil.
func (w *Worker) Stop(ctx context.Context) error {
	w.mu.Lock()
	cancel, stopped := w.cancel, w.stopped
	w.cancel = nil // stopped stays, for concurrent Stops to wait on
	w.mu.Unlock()
	if stopped == nil {
		return nil
	}
	if cancel != nil {
		cancel()
	}
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *Worker) loop(ctx context.Context, stopped chan struct{}) {
	defer close(stopped)
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := w.RunOnce(ctx); err != nil && !errors.Is(err, ErrBusy) && ctx.Err() == nil {
			w.log.LogAttrs(ctx, slog.LevelWarn, "grantkit: sweep failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
