package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/store/sqlite"
)

// SeededGrants describes the grants one SeedGrants call inserted. Grant i
// (0 ≤ i < Len) is the template with its own ID, a Resource suffixed with
// i, and times Step × i after the template's CreatedAt, so grant Len-1 is
// the newest.
type SeededGrants struct {
	tmpl store.Grant
	run  string
	n    int
	step time.Duration
}

// Len returns the number of grants seeded.
func (sg SeededGrants) Len() int { return sg.n }

// ID returns the id of grant i: a lower-case UUID whose last 48 bits are i,
// so ids ascend with i (and with created_at).
func (sg SeededGrants) ID(i int) string {
	return fmt.Sprintf("%s-0000-7000-8000-%012x", sg.run, i)
}

// Grant returns grant i as the store returns it.
func (sg SeededGrants) Grant(i int) store.Grant {
	g := sg.tmpl
	g.ID = sg.ID(i)
	g.Resource = sg.tmpl.Resource + strconv.Itoa(i)
	g.CreatedAt = sg.tmpl.CreatedAt.Add(time.Duration(i) * sg.step)
	g.ActivatedAt, g.RevokedAt = time.Time{}, time.Time{}
	if g.Status != store.GrantPending {
		g.ActivatedAt = g.CreatedAt
	}
	if g.Status == store.GrantRevoked {
		g.RevokedAt = g.CreatedAt
	} else {
		g.RevokeReason = ""
	}
	return g
}

// SeedGrants inserts n grants copied from tmpl (see SeededGrants for what
// differs between them: the resource varies so that n active grants of one
// client and subject sit on distinct bindings) with one INSERT … SELECT
// that generates the rows in the database — a recursive CTE on SQLite,
// generate_series on PostgreSQL — instead of one statement per row, so
// 100,000 grants take about a second. tmpl.Status defaults to active;
// tmpl.CreatedAt (default Now) is grant 0's creation time; the client must
// exist. The columns are written in the formats the store writes (on
// SQLite: INTEGER Unix microseconds, JSON text lists, lower-case UUID
// text), which it checks by reading the oldest and newest grants back
// through the store. On PostgreSQL it then runs ANALYZE on the grants
// table, as autovacuum would on a live table. s is a *sqlite.Store, a
// *postgres.Store, or a wrapper with an Unwrap() store.Store method.
func SeedGrants(tb testing.TB, s store.Store, tmpl store.Grant, n int, step time.Duration) SeededGrants {
	tb.Helper()
	if n <= 0 {
		tb.Fatalf("testdb.SeedGrants: n = %d", n)
	}
	for {
		u, ok := s.(interface{ Unwrap() store.Store })
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	if tmpl.Status == "" {
		tmpl.Status = store.GrantActive
	}
	if tmpl.CreatedAt.IsZero() {
		tmpl.CreatedAt = Now
	}
	tmpl.CreatedAt = tmpl.CreatedAt.UTC().Truncate(time.Microsecond)
	tmpl.LastUsedAt = tmpl.LastUsedAt.UTC().Truncate(time.Microsecond)
	if step%time.Microsecond != 0 {
		tb.Fatalf("testdb.SeedGrants: step %v is not a whole number of microseconds", step)
	}
	if tmpl.Scopes == nil {
		tmpl.Scopes = []string{}
	}
	var run [4]byte
	if _, err := rand.Read(run[:]); err != nil {
		tb.Fatal(err)
	}
	sg := SeededGrants{tmpl: tmpl, run: hex.EncodeToString(run[:]), n: n, step: step}

	scopesJSON, err := json.Marshal(tmpl.Scopes)
	if err != nil {
		tb.Fatal(err)
	}
	var doc any // the context column
	if len(tmpl.Context) > 0 {
		doc = string(tmpl.Context)
	}
	var lastUsed, lastUsedMicros any
	if !tmpl.LastUsedAt.IsZero() {
		lastUsed, lastUsedMicros = tmpl.LastUsedAt, tmpl.LastUsedAt.UnixMicro()
	}
	activated, revoked := tmpl.Status != store.GrantPending, tmpl.Status == store.GrantRevoked
	reason := ""
	if revoked {
		reason = tmpl.RevokeReason
	}

	ctx := context.Background()
	switch s := s.(type) {
	case *sqlite.Store:
		// ?14 and ?15 switch activated_at and revoked_at on (1) or off (0).
		_, err = s.DB().ExecContext(ctx, `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ?1)
			INSERT INTO "`+s.Prefix()+`grants" (id, client_id, subject, subject_kind, tenant, resource, redirect_uri,
				scopes, context, config_version, status, created_at, activated_at, revoked_at, revoke_reason, last_used_at)
			SELECT printf('%s-0000-7000-8000-%012x', ?2, i), ?3, ?4, ?5, ?6, ?7 || i, ?8, ?9, ?10, ?11, ?12,
				?13 + i * ?16, CASE WHEN ?14 THEN ?13 + i * ?16 END, CASE WHEN ?15 THEN ?13 + i * ?16 END, ?17, ?18
			FROM seq`,
			n, sg.run, tmpl.ClientID, tmpl.Subject, tmpl.SubjectKind, tmpl.Tenant, tmpl.Resource, tmpl.RedirectURI,
			string(scopesJSON), doc, tmpl.ConfigVersion, string(tmpl.Status), tmpl.CreatedAt.UnixMicro(),
			activated, revoked, step.Microseconds(), reason, lastUsedMicros)
	case *postgres.Store:
		_, err = s.Pool().Exec(ctx, `INSERT INTO "`+s.Schema()+`".grants (id, client_id, subject, subject_kind, tenant,
				resource, redirect_uri, scopes, context, config_version, status, created_at, activated_at, revoked_at,
				revoke_reason, last_used_at)
			SELECT (format('%s-0000-7000-8000-%s', $2::text, lpad(to_hex(i), 12, '0')))::uuid, $3, $4, $5, $6,
				$7::text || i::text, $8, $9::jsonb, $10::jsonb, $11, $12,
				t.at, CASE WHEN $14::boolean THEN t.at END, CASE WHEN $15::boolean THEN t.at END, $17, $18
			FROM generate_series(0, $1::integer - 1) AS i,
				LATERAL (SELECT $13::timestamptz + i * $16::bigint * interval '1 microsecond' AS at) AS t`,
			n, sg.run, tmpl.ClientID, tmpl.Subject, tmpl.SubjectKind, tmpl.Tenant, tmpl.Resource, tmpl.RedirectURI,
			string(scopesJSON), doc, tmpl.ConfigVersion, string(tmpl.Status), tmpl.CreatedAt,
			activated, revoked, step.Microseconds(), reason, lastUsed)
		if err == nil {
			_, err = s.Pool().Exec(ctx, `ANALYZE "`+s.Schema()+`".grants`)
		}
	default:
		tb.Fatalf("testdb.SeedGrants: unsupported store %T", s)
	}
	if err != nil {
		tb.Fatalf("testdb.SeedGrants: inserting %d grants: %v", n, err)
	}

	// The rows read back through the store exactly as the store's own writes.
	equateJSON := cmp.Comparer(func(a, b json.RawMessage) bool {
		if len(a) == 0 || len(b) == 0 {
			return len(a) == len(b)
		}
		var va, vb any
		return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && cmp.Equal(va, vb)
	})
	for _, i := range []int{0, n - 1} {
		got, err := s.GetGrant(ctx, sg.ID(i))
		if err != nil {
			tb.Fatalf("testdb.SeedGrants: reading grant %d back: %v", i, err)
		}
		if diff := cmp.Diff(sg.Grant(i), got, equateJSON); diff != "" {
			tb.Fatalf("testdb.SeedGrants: grant %d read back (-want +got):\n%s", i, diff)
		}
	}
	return sg
}
