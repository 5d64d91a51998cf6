package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
)

// BenchmarkRotate measures RotateRefreshToken through the adapter beside a
// hand-written baseline that sends the same SQL (one data-modifying CTE)
// with plain pgx on the same pool. Each caller rotates its own chain (the
// child becomes the next old token), so no rotation loses a race. It needs
// GRANTKIT_TEST_POSTGRES.
//
//	go test -run '^$' -bench Rotate -benchtime 2s -count 3 ./store/postgres
func BenchmarkRotate(b *testing.B) {
	pool := testdb.Pool(b)
	for _, impl := range []struct {
		name   string
		rotate func(s *postgres.Store) rotateFunc
	}{{"adapter", adapterRotate}, {"baseline", baselineRotate}} {
		b.Run(impl.name, func(b *testing.B) {
			for _, callers := range []int{1, 4} {
				b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
					s := testdb.OpenPostgres(b, pool, nil)
					testdb.BenchRotate(b, s, callers, impl.rotate(s))
				})
			}
		})
	}
}

// rotateFunc is a rotation under test.
type rotateFunc = testdb.RotateFunc

func adapterRotate(s *postgres.Store) rotateFunc {
	return func(ctx context.Context, old, next store.RefreshToken) error {
		ok, err := s.RotateRefreshToken(ctx, old.ID, "rotated", next)
		if err == nil && !ok {
			err = fmt.Errorf("token %s was not rotated", old.ID)
		}
		return err
	}
}

// baselineRotate is the adapter's statement written by hand with pgx.
func baselineRotate(s *postgres.Store) rotateFunc {
	t := `"` + s.Schema() + `".`
	rotate := `WITH old AS (
		UPDATE ` + t + `refresh_tokens SET revoked_at = $6, revoke_reason = $12
		WHERE id = $11 AND family_id = $4 AND revoked_at IS NULL RETURNING id)
		INSERT INTO ` + t + `refresh_tokens (id, hash, grant_id, family_id, parent_id, created_at, expires_at,
			family_expires_at, revoked_at, revoke_reason)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM old`
	pool := s.Pool()
	return func(ctx context.Context, old, next store.RefreshToken) error {
		var parent any // NULL for the first token of a family
		if next.ParentID != "" {
			parent = next.ParentID
		}
		tag, err := pool.Exec(ctx, rotate, next.ID, next.Hash, next.GrantID, next.FamilyID, parent,
			next.CreatedAt, next.ExpiresAt, nil, nil, "", old.ID, "rotated")
		if err == nil && tag.RowsAffected() != 1 {
			err = fmt.Errorf("token %s was not rotated", old.ID)
		}
		return err
	}
}
