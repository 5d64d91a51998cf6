package sweep_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/sweep"
)

// pacedRows stands in for a table of refresh tokens to sweep: each
// DeleteRefreshTokens call takes delay(call) and deletes up to limit of the
// remaining rows. Every other call goes to the embedded real store.
type pacedRows struct {
	store.Store
	delay func(call int) time.Duration

	mu        sync.Mutex
	remaining int64
	limits    []int
	spans     [][2]time.Time // each call's start and end
}

func (p *pacedRows) DeleteRefreshTokens(ctx context.Context, _, _ time.Time, limit int) (int64, error) {
	p.mu.Lock()
	call := len(p.limits)
	p.limits = append(p.limits, limit)
	p.mu.Unlock()
	start := time.Now()
	time.Sleep(p.delay(call))
	end := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spans = append(p.spans, [2]time.Time{start, end})
	n := min(int64(limit), p.remaining)
	p.remaining -= n
	return n, nil
}

// TestPacing checks Config.BatchTime: a batch slower than BatchTime halves
// the next (not below BatchSize/16), one faster than half of it doubles the next
// (not above BatchSize), every row is still deleted, and the sweep ends on
// the first short batch.
func TestPacing(t *testing.T) {
	t.Parallel()
	slow := func(int) time.Duration { return 3 * time.Millisecond }
	fast := func(int) time.Duration { return 0 }
	slowThenFast := func(call int) time.Duration {
		if call < 3 {
			return 3 * time.Millisecond
		}
		return 0
	}
	tests := []struct {
		name       string
		batchTime  time.Duration
		delay      func(int) time.Duration
		rows       int64
		wantLimits []int
	}{
		{"fast batches keep BatchSize", time.Hour, fast, 200, []int{80, 80, 80}},
		{"slow batches shrink to BatchSize/16", time.Millisecond, slow, 200,
			[]int{80, 40, 20, 10, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}},
		{"batches grow back when fast", time.Millisecond, slowThenFast, 300, []int{80, 40, 20, 10, 20, 40, 80, 80}},
	}
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p := &pacedRows{Store: db.Harness.Open(t, nil), delay: tc.delay, remaining: tc.rows}
				w := newWorker(t, grant.Config{Store: p}, sweep.Config{BatchSize: 80, BatchTime: tc.batchTime})
				got, err := w.RunOnce(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if got.RefreshTokens != tc.rows || p.remaining != 0 {
					t.Errorf("deleted %d, %d left; want all %d", got.RefreshTokens, p.remaining, tc.rows)
				}
				if d := cmp.Diff(tc.wantLimits, p.limits); d != "" {
					t.Errorf("batch limits (-want +got):\n%s", d)
				}
			})
		}
	})
}

// TestDutyCycle checks Config.DutyCycle: after every full batch the worker
// waits at least took×(1−DutyCycle)/DutyCycle before the next. Only lower
// bounds are asserted (a timer never fires early), so a slow machine cannot
// fail the test. The default is covered by the zero value.
func TestDutyCycle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		duty   float64
		factor float64 // wait ≥ factor × batch time
	}{
		{"default", 0, (1 - sweep.DefaultDutyCycle) / sweep.DefaultDutyCycle},
		{"half", 0.5, 1},
		{"a tenth", 0.1, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := &pacedRows{Store: testdb.SQLite().Open(t, nil), delay: func(int) time.Duration { return 2 * time.Millisecond }, remaining: 250}
			m, err := grant.New(grant.Config{Store: p, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			w, err := sweep.New(m, sweep.Config{BatchSize: 80, BatchTime: time.Hour, DutyCycle: tc.duty})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.RunOnce(t.Context()); err != nil {
				t.Fatal(err)
			}
			if len(p.spans) != 4 {
				t.Fatalf("%d batches, want 4 (80, 80, 80, 10)", len(p.spans))
			}
			for i := range p.spans[:3] {
				took := p.spans[i][1].Sub(p.spans[i][0])
				gap := p.spans[i+1][0].Sub(p.spans[i][1])
				if want := time.Duration(float64(took) * tc.factor); gap < want {
					t.Errorf("after batch %d (took %v) the worker waited %v, want at least %v", i, took, gap, want)
				}
			}
		})
	}
}
