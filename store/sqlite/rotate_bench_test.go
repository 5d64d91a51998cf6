package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/sqlite"
)

// BenchmarkRotate measures RotateRefreshToken through the adapter beside a
// hand-written baseline that sends the same SQL with plain database/sql:
// BEGIN IMMEDIATE, UPDATE, INSERT, COMMIT, with writers serialised in the
// process by a mutex, as the adapter serialises them with its writer
// channel. Each caller rotates its own chain (the child becomes the next
// old token), so no rotation loses a race.
//
//	go test -run '^$' -bench Rotate -benchtime 2s -count 3 ./store/sqlite
func BenchmarkRotate(b *testing.B) {
	for _, db := range []struct {
		name string
		path bool
	}{{"memory", false}, {"file", true}} {
		b.Run(db.name, func(b *testing.B) {
			cfg := func(b *testing.B) sqlite.Config {
				if db.path {
					return sqlite.Config{Path: filePath(b)}
				}
				return sqlite.Config{}
			}
			for _, impl := range []struct {
				name   string
				rotate func(b *testing.B, s *sqlite.Store) rotateFunc
			}{{"adapter", adapterRotate}, {"baseline", baselineRotate}} {
				b.Run(impl.name, func(b *testing.B) {
					for _, callers := range []int{1, 4} {
						b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
							s := open(b, cfg(b), true)
							benchRotate(b, s, callers, impl.rotate(b, s))
						})
					}
				})
			}
		})
	}
}

// rotateFunc revokes old and inserts next; it must report a rotation.
type rotateFunc func(ctx context.Context, old, next store.RefreshToken) error

func adapterRotate(b *testing.B, s *sqlite.Store) rotateFunc {
	return func(ctx context.Context, old, next store.RefreshToken) error {
		ok, err := s.RotateRefreshToken(ctx, old.ID, "rotated", next)
		if err == nil && !ok {
			err = fmt.Errorf("token %s was not rotated", old.ID)
		}
		return err
	}
}

// baselineRotate is the adapter's SQL written by hand over the same
// database (its transactions begin IMMEDIATE).
func baselineRotate(b *testing.B, s *sqlite.Store) rotateFunc {
	const (
		update = `UPDATE grantkit_refresh_tokens SET revoked_at = ?1, revoke_reason = ?2
			WHERE id = ?3 AND family_id = ?4 AND revoked_at IS NULL`
		insert = `INSERT INTO grantkit_refresh_tokens (id, hash, grant_id, family_id, parent_id, created_at,
			expires_at, family_expires_at, revoked_at, revoke_reason)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`
	)
	var mu sync.Mutex
	db := s.DB()
	return func(ctx context.Context, old, next store.RefreshToken) error {
		mu.Lock()
		defer mu.Unlock()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		res, err := tx.ExecContext(ctx, update, next.CreatedAt.UnixMicro(), "rotated", old.ID, next.FamilyID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return fmt.Errorf("token %s was not rotated (%d rows, %v)", old.ID, n, err)
		}
		var parent any // NULL for the first token of a family
		if next.ParentID != "" {
			parent = next.ParentID
		}
		if _, err := tx.ExecContext(ctx, insert, next.ID, next.Hash, next.GrantID, next.FamilyID, parent, next.CreatedAt.UnixMicro(),
			next.ExpiresAt.UnixMicro(), nil, nil, ""); err != nil {
			return err
		}
		return tx.Commit()
	}
}

// benchRotate runs b.N rotations over callers goroutines, each rotating its
// own chain in a grant of s. The tokens are made before the timer starts.
func benchRotate(b *testing.B, s *sqlite.Store, callers int, rotate rotateFunc) {
	ctx := context.Background()
	c := newClient(b, s)
	g := grant(c.ID, "alice")
	if err := s.CreateGrant(ctx, g); err != nil {
		b.Fatal(err)
	}
	chains := make([][]store.RefreshToken, callers)
	for i := range b.N {
		chains[i%callers] = append(chains[i%callers], store.RefreshToken{})
	}
	for i, chain := range chains {
		head := refresh(g.ID, newID(), "")
		if err := s.CreateRefreshToken(ctx, head); err != nil {
			b.Fatal(err)
		}
		prev := head
		for k := range chain {
			chain[k] = refresh(g.ID, head.FamilyID, prev.ID)
			prev = chain[k]
		}
		chains[i] = append([]store.RefreshToken{head}, chain...)
	}

	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for i := range chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chain := chains[i]
			for k := 1; k < len(chain); k++ {
				if err := rotate(ctx, chain[k-1], chain[k]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rotations/s")
}
