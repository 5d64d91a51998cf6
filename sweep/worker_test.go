package sweep_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/sweep"
)

// inFlight tracks how many sweep deletes run at once across several hooked
// stores, and the most it ever saw.
type inFlight struct {
	now, max atomic.Int64
	deletes  atomic.Int64
}

// slow is a before hook that counts the delete in flight for 20ms.
func (f *inFlight) slow(ctx context.Context, _ string, _ int) error {
	n := f.now.Add(1)
	defer f.now.Add(-1)
	for {
		m := f.max.Load()
		if n <= m || f.max.CompareAndSwap(m, n) {
			break
		}
	}
	f.deletes.Add(1)
	select {
	case <-time.After(20 * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestLeadership checks that two workers on one database never sweep at
// once: on PostgreSQL two Stores (two processes, as far as the database can
// tell) over one schema, exclusion through the advisory lock; on SQLite two
// workers over one Store, exclusion in the process. Each worker's store
// reports its deletes to one shared in-flight counter and makes each last
// 20ms, so a sweep spans about 140ms; four goroutines (two per worker)
// call RunOnce five times each, released together. No two deletes may ever
// be in flight at once, some calls must find the other sweeping (ErrBusy)
// and some must sweep.
func TestLeadership(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, a, b store.Store) {
		f := &inFlight{}
		var workers []*sweep.Worker
		for _, s := range []store.Store{a, b} {
			workers = append(workers, newWorker(t, grant.Config{Store: &hooked{Store: s, before: f.slow}},
				sweep.Config{AuditRetention: time.Hour}))
		}
		var busy, swept atomic.Int64
		var fns []func()
		for i := range 4 {
			w := workers[i%2]
			fns = append(fns, func() {
				for range 5 {
					_, err := w.RunOnce(t.Context())
					switch {
					case errors.Is(err, sweep.ErrBusy):
						busy.Add(1)
					case err != nil:
						t.Errorf("RunOnce: %v", err)
					default:
						swept.Add(1)
					}
				}
			})
		}
		testdb.Together(fns...)
		if m := f.max.Load(); m > 1 {
			t.Errorf("%d deletes were in flight at once; want at most 1", m)
		}
		if busy.Load() == 0 {
			t.Error("no RunOnce returned ErrBusy")
		}
		if swept.Load() == 0 {
			t.Error("no RunOnce swept")
		}
		if got, want := f.deletes.Load(), swept.Load()*int64(len(sweepOps)); got != want {
			t.Errorf("%d deletes for %d sweeps; want %d", got, swept.Load(), want)
		}
		t.Logf("%d sweeps, %d busy", swept.Load(), busy.Load())
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		s := testdb.SQLite().Open(t, nil)
		run(t, s, s)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pool := testdb.Pool(t)
		schema := testdb.NewSchema(t, pool)
		var stores []store.Store
		for range 2 {
			s, err := postgres.New(pool, postgres.Config{Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			stores = append(stores, s)
		}
		run(t, stores[0], stores[1])
	})
}

// blocker is a before hook whose DeleteExpiredAuthRequests — the first
// delete of every run — signals that it started and then blocks until its
// context ends, and takes a further 100ms to return (a statement slow to
// abort). exited is set when it returns.
type blocker struct {
	started   chan struct{}
	cancelled atomic.Bool
	exited    atomic.Bool
	once      sync.Once
}

func newBlocker() *blocker { return &blocker{started: make(chan struct{})} }

func (b *blocker) before(ctx context.Context, op string, _ int) error {
	if op != "DeleteExpiredAuthRequests" {
		return nil
	}
	b.once.Do(func() { close(b.started) })
	<-ctx.Done()
	b.cancelled.Store(true)
	time.Sleep(100 * time.Millisecond)
	b.exited.Store(true)
	return ctx.Err()
}

// TestStopCancelsRunningSweep checks that Stop cancels a sweep in flight
// through its context, waits for it to end, and returns promptly; and that
// a second Stop is harmless.
func TestStopCancelsRunningSweep(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		b := newBlocker()
		w := newWorker(t, grant.Config{Store: &hooked{Store: db.Harness.Open(t, nil), before: b.before}},
			sweep.Config{Interval: time.Hour})
		start(t, w)
		select {
		case <-b.started:
		case <-time.After(5 * time.Second):
			t.Fatal("the sweep at start never began")
		}
		stop(t, w, time.Second)
		if !b.cancelled.Load() {
			t.Error("the running delete did not see its context cancelled")
		}
		if !b.exited.Load() {
			t.Error("Stop returned before the running sweep ended")
		}
		stop(t, w, time.Second) // a second Stop is harmless
	})
}

// TestConcurrentStop checks that every Stop, not only the first, waits for
// the running sweep to end: a Stop called while another is still waiting
// must not return early (a host stopping from two shutdown paths would
// otherwise close the database under a running sweep).
func TestConcurrentStop(t *testing.T) {
	t.Parallel()
	b := newBlocker()
	w := newWorker(t, grant.Config{Store: &hooked{Store: testdb.SQLite().Open(t, nil), before: b.before}},
		sweep.Config{Interval: time.Hour})
	start(t, w)
	select {
	case <-b.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the sweep at start never began")
	}
	first := make(chan struct{})
	var firstErr error
	go func() { firstErr = w.Stop(context.Background()); close(first) }()
	for !b.cancelled.Load() { // the first Stop has cancelled the run
		time.Sleep(time.Millisecond)
	}
	stop(t, w, time.Second)
	if !b.exited.Load() {
		t.Error("the second Stop returned before the running sweep ended")
	}
	select {
	case <-first:
		if firstErr != nil {
			t.Errorf("the first Stop = %v, want nil", firstErr)
		}
	case <-time.After(time.Second):
		t.Fatal("the first Stop did not return within 1s")
	}
	if !b.exited.Load() {
		t.Error("the first Stop returned before the running sweep ended")
	}
}

// TestStopTimeout checks that Stop gives up when its context ends before
// the running sweep does, returning the context's error, and that a later
// Stop still waits for that sweep to end.
func TestStopTimeout(t *testing.T) {
	t.Parallel()
	b := newBlocker() // a cancelled delete takes 100ms more to return
	w := newWorker(t, grant.Config{Store: &hooked{Store: testdb.SQLite().Open(t, nil), before: b.before}},
		sweep.Config{Interval: time.Hour})
	start(t, w)
	select {
	case <-b.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the sweep at start never began")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := w.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a 10ms context = %v, want context.DeadlineExceeded", err)
	}
	if b.exited.Load() {
		t.Fatal("the running delete ended within 10ms of its cancellation; the test proves nothing")
	}
	for deadline := time.Now().Add(5 * time.Second); !b.cancelled.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the timed-out Stop did not cancel the running delete")
		}
	}
	stop(t, w, time.Second)
	if !b.exited.Load() {
		t.Error("the second Stop returned before the running sweep ended")
	}
}

// TestStartContextEnds checks that the loop also ends when Start's context
// does: the running delete sees it cancelled, and a Stop afterwards
// returns nil.
func TestStartContextEnds(t *testing.T) {
	t.Parallel()
	b := newBlocker()
	w := newWorker(t, grant.Config{Store: &hooked{Store: testdb.SQLite().Open(t, nil), before: b.before}},
		sweep.Config{Interval: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	if err := w.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	select {
	case <-b.started:
	case <-time.After(5 * time.Second):
		t.Fatal("the sweep at start never began")
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for !b.exited.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the running delete did not end within 5s of Start's context ending")
		}
		time.Sleep(time.Millisecond)
	}
	stop(t, w, time.Second)
}

// start calls w.Start with the test's context and fails t on an error.
func start(t *testing.T, w *sweep.Worker) {
	t.Helper()
	if err := w.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// stop calls w.Stop with a context that ends after d and fails t unless
// it returns nil before then; a Stop that ignored its context fails t a
// second after it ended.
func stop(t *testing.T, w *sweep.Worker, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Stop(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Stop = %v; want nil within %v", err, d)
		}
	case <-time.After(d + time.Second):
		t.Fatalf("Stop did not return within %v of its context's end", d+time.Second)
	}
}

// runCounter is a before hook counting runs (each run's first delete).
type runCounter struct{ runs atomic.Int64 }

func (r *runCounter) before(_ context.Context, op string, _ int) error {
	if op == "DeleteExpiredAuthRequests" {
		r.runs.Add(1)
	}
	return nil
}

// waitRuns waits up to 5s for at least n runs.
func (r *runCounter) waitRuns(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.runs.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d runs after 5s; want at least %d", r.runs.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStartSchedule checks that Start sweeps at once and then every
// Interval, that a second Start does not start a second loop, and that no
// run happens after Stop.
func TestStartSchedule(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		// Each subtest has a store of its own: two workers on one store
		// would find each other sweeping and skip runs.
		t.Run("once at start", func(t *testing.T) {
			t.Parallel()
			s := db.Harness.Open(t, nil)
			rc := &runCounter{}
			w := newWorker(t, grant.Config{Store: &hooked{Store: s, before: rc.before}},
				sweep.Config{Interval: time.Hour})
			start(t, w)
			start(t, w) // no second loop, so no second run at start
			defer stop(t, w, time.Second)
			rc.waitRuns(t, 1) // long before the first tick
			time.Sleep(200 * time.Millisecond)
			if n := rc.runs.Load(); n != 1 {
				t.Errorf("%d runs with a one-hour interval; want 1", n)
			}
		})
		t.Run("every interval", func(t *testing.T) {
			t.Parallel()
			s := db.Harness.Open(t, nil)
			rc := &runCounter{}
			w := newWorker(t, grant.Config{Store: &hooked{Store: s, before: rc.before}},
				sweep.Config{Interval: 50 * time.Millisecond})
			begin := time.Now()
			start(t, w)
			start(t, w) // a second loop would outlive Stop
			rc.waitRuns(t, 3)
			stop(t, w, time.Second)
			elapsed := time.Since(begin)
			n := rc.runs.Load()
			// The first run is at start, then one per tick: n runs take at
			// least (n-1) intervals, and there is at most one per interval.
			if max := int64(elapsed/(50*time.Millisecond)) + 1; n > max {
				t.Errorf("%d runs in %v; want at most %d", n, elapsed, max)
			}
			time.Sleep(150 * time.Millisecond)
			if after := rc.runs.Load(); after != n {
				t.Errorf("%d runs after Stop; want none", after-n)
			}
		})
	})
}

// TestDefaultInterval checks that a zero Interval takes a long default:
// one run at start and none in the next 300ms.
func TestDefaultInterval(t *testing.T) {
	t.Parallel()
	rc := &runCounter{}
	w := newWorker(t, grant.Config{Store: &hooked{Store: testdb.SQLite().Open(t, nil), before: rc.before}},
		sweep.Config{})
	start(t, w)
	defer stop(t, w, time.Second)
	rc.waitRuns(t, 1)
	time.Sleep(300 * time.Millisecond)
	if n := rc.runs.Load(); n != 1 {
		t.Errorf("%d runs within 300ms with the default interval; want 1", n)
	}
}

// TestStopWithoutStart checks that Stop on a worker never started returns.
func TestStopWithoutStart(t *testing.T) {
	t.Parallel()
	w := newWorker(t, grant.Config{Store: testdb.SQLite().Open(t, nil)}, sweep.Config{})
	stop(t, w, time.Second)
	stop(t, w, time.Second)
}
