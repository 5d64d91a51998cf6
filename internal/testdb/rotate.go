package testdb

import (
	"context"
	"sync"
	"testing"

	"github.com/grantkit/grantkit/store"
)

// RotateFunc revokes old and inserts next; it must report a rotation that
// did not happen as an error.
type RotateFunc func(ctx context.Context, old, next store.RefreshToken) error

// BenchRotate runs b.N rotations with rotate over callers goroutines, each
// rotating its own chain of refresh tokens in one grant of s, and reports
// rotations/s. The tokens are made before the timer starts, so the adapter
// and the hand-written baselines of each adapter's BenchmarkRotate are
// measured on the same work.
func BenchRotate(b *testing.B, s store.Store, callers int, rotate RotateFunc) {
	ctx := context.Background()
	c := NewClient(b, s)
	g := Grant(c.ID, "alice")
	if err := s.CreateGrant(ctx, g); err != nil {
		b.Fatal(err)
	}
	chains := make([][]store.RefreshToken, callers)
	for i := range b.N {
		chains[i%callers] = append(chains[i%callers], store.RefreshToken{})
	}
	for i, chain := range chains {
		head := Refresh(g.ID, NewID(), "")
		if err := s.CreateRefreshToken(ctx, head); err != nil {
			b.Fatal(err)
		}
		prev := head
		for k := range chain {
			chain[k] = Refresh(g.ID, head.FamilyID, prev.ID)
			prev = chain[k]
		}
		chains[i] = append([]store.RefreshToken{head}, chain...)
	}

	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for _, chain := range chains {
		wg.Go(func() {
			for k := 1; k < len(chain); k++ {
				if err := rotate(ctx, chain[k-1], chain[k]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}
