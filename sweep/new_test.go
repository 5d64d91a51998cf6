package sweep_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/sweep"
)

// newManager returns a grant.Manager over a fresh SQLite store, logging
// nowhere.
func newManager(t *testing.T) *grant.Manager {
	t.Helper()
	m, err := grant.New(grant.Config{Store: testdb.SQLite().Open(t, nil), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNewRefuses checks that New rejects a missing manager and every
// negative duration or batch size, naming the offending field.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	m := newManager(t)
	for _, tc := range []struct {
		name  string
		m     *grant.Manager
		cfg   sweep.Config
		field string // the error names it
	}{
		{"nil manager", nil, sweep.Config{}, "grant.Manager"},
		{"negative Interval", m, sweep.Config{Interval: -time.Second}, "Interval"},
		{"negative RevokedRetention", m, sweep.Config{RevokedRetention: -time.Nanosecond}, "RevokedRetention"},
		{"negative OrphanClientGrace", m, sweep.Config{OrphanClientGrace: -time.Hour}, "OrphanClientGrace"},
		{"negative PendingGrace", m, sweep.Config{PendingGrace: -time.Minute}, "PendingGrace"},
		{"negative AuditRetention", m, sweep.Config{AuditRetention: -24 * time.Hour}, "AuditRetention"},
		{"negative BatchSize", m, sweep.Config{BatchSize: -1}, "BatchSize"},
		{"negative BatchTime", m, sweep.Config{BatchTime: -time.Millisecond}, "BatchTime"},
		{"negative DutyCycle", m, sweep.Config{DutyCycle: -0.5}, "DutyCycle"},
		{"DutyCycle above 1", m, sweep.Config{DutyCycle: 1.01}, "DutyCycle"},
		{"NaN DutyCycle", m, sweep.Config{DutyCycle: math.NaN()}, "DutyCycle"},
		{"negative among valid values", m, sweep.Config{Interval: time.Minute, BatchSize: 10,
			RevokedRetention: time.Hour, OrphanClientGrace: time.Hour, PendingGrace: -1,
			AuditRetention: time.Hour}, "PendingGrace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := sweep.New(tc.m, tc.cfg)
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
	m := newManager(t)
	for _, tc := range []struct {
		name string
		cfg  sweep.Config
	}{
		{"zero values", sweep.Config{}},
		{"positive values", sweep.Config{Interval: time.Second, BatchSize: 1, RevokedRetention: 1,
			OrphanClientGrace: 1, PendingGrace: 1, AuditRetention: 1, DutyCycle: 0.01}},
		{"DutyCycle 1", sweep.Config{DutyCycle: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, err := sweep.New(m, tc.cfg)
			if err != nil || w == nil {
				t.Fatalf("New = %v, %v; want a worker", w, err)
			}
		})
	}
}
