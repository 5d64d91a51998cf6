package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/grantkit/grantkit/internal/testdb"
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
							testdb.BenchRotate(b, s, callers, impl.rotate(b, s))
						})
					}
				})
			}
		})
	}
}

// rotateFunc is a rotation under test.
type rotateFunc = testdb.RotateFunc

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
