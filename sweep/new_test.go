package sweep_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/sweep"
)

// TestNewRefuses checks that New rejects a missing store and every
// negative duration or batch size, naming the offending field.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite().Open(t, nil)
	for _, tc := range []struct {
		name  string
		cfg   sweep.Config
		field string // the error names it
	}{
		{"nil store", sweep.Config{}, "Store"},
		{"negative Interval", sweep.Config{Store: s, Interval: -time.Second}, "Interval"},
		{"negative RevokedRetention", sweep.Config{Store: s, RevokedRetention: -time.Nanosecond}, "RevokedRetention"},
		{"negative OrphanClientGrace", sweep.Config{Store: s, OrphanClientGrace: -time.Hour}, "OrphanClientGrace"},
		{"negative PendingGrace", sweep.Config{Store: s, PendingGrace: -time.Minute}, "PendingGrace"},
		{"negative AuditRetention", sweep.Config{Store: s, AuditRetention: -24 * time.Hour}, "AuditRetention"},
		{"negative BatchSize", sweep.Config{Store: s, BatchSize: -1}, "BatchSize"},
		{"negative BatchTime", sweep.Config{Store: s, BatchTime: -time.Millisecond}, "BatchTime"},
		{"negative DutyCycle", sweep.Config{Store: s, DutyCycle: -0.5}, "DutyCycle"},
		{"DutyCycle above 1", sweep.Config{Store: s, DutyCycle: 1.01}, "DutyCycle"},
		{"NaN DutyCycle", sweep.Config{Store: s, DutyCycle: math.NaN()}, "DutyCycle"},
		{"negative among valid values", sweep.Config{Store: s, Interval: time.Minute, BatchSize: 10,
			RevokedRetention: time.Hour, OrphanClientGrace: time.Hour, PendingGrace: -1,
			AuditRetention: time.Hour}, "PendingGrace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := sweep.New(tc.cfg)
			if err == nil {
				t.Fatalf("New = %v, nil; want an error", w)
			}
			if w != nil {
				t.Errorf("New returned a worker with its error %v", err)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not name %s", err, tc.field)
			}
		})
	}
}

// TestNewAccepts checks that New builds a worker from the zero values
// (defaults) and from positive values. What the defaults are is checked
// through behaviour: TestRules (retention and grace defaults), TestBatches
// (batch size) and TestDefaultInterval.
func TestNewAccepts(t *testing.T) {
	t.Parallel()
	s := testdb.SQLite().Open(t, nil)
	for _, tc := range []struct {
		name string
		cfg  sweep.Config
	}{
		{"zero values", sweep.Config{Store: s}},
		{"positive values", sweep.Config{Store: s, Interval: time.Second, BatchSize: 1, RevokedRetention: 1,
			OrphanClientGrace: 1, PendingGrace: 1, AuditRetention: 1, DutyCycle: 0.01, Now: time.Now, Logger: quiet}},
		{"DutyCycle 1", sweep.Config{Store: s, DutyCycle: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := sweep.New(tc.cfg)
			if err != nil || w == nil {
				t.Fatalf("New = %v, %v; want a worker", w, err)
			}
		})
	}
}
