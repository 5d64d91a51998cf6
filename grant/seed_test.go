package grant_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/secret"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/store/postgres"
	"github.com/grantkit/grantkit/store/sqlite"
)

// bulkSeed inserts the same fixture as seed — n active grants of client on
// distinct bindings, each with 5 active refresh tokens (one family each),
// 1 unused code and 1 open request — with one INSERT … SELECT per table in
// one store transaction, instead of one statement per row: 80,000 single
// inserts take too long under the race detector and in benchmarks. The
// rows are generated in Go and expanded by the database (json_each on
// SQLite, unnest on PostgreSQL). It reads one row of each table back
// through the store to check that they look as the store's own writes.
func bulkSeed(tb testing.TB, s store.Store, clientID string, n int, at time.Time) []string {
	tb.Helper()
	ctx := context.Background()
	var (
		grantIDs, subjects           = make([]string, n), make([]string, n)
		reqIDs, codeIDs, codeHashes  = make([]string, n), make([]string, n), make([][]byte, n)
		tokIDs, tokGrants, tokFamily = make([]string, 5*n), make([]string, 5*n), make([]string, 5*n)
		tokHashes                    = make([][]byte, 5*n)
	)
	id := func() string { return uuid.Must(uuid.NewV7()).String() }
	for i := range n {
		grantIDs[i], subjects[i], reqIDs[i], codeIDs[i] = id(), "user-"+uuid.NewString(), id(), id()
		_, codeHashes[i] = secret.New(secret.CodePrefix)
		for k := range 5 {
			j := 5*i + k
			tokIDs[j], tokGrants[j], tokFamily[j] = id(), grantIDs[i], id()
			_, tokHashes[j] = secret.New(secret.RefreshPrefix)
		}
	}
	exp, codeExp := at.Add(time.Hour), at.Add(time.Minute)
	err := s.InTx(ctx, func(tx store.Tx) error {
		if stx, ok := sqlite.SQLTx(tx); ok {
			p := s.(*sqlite.Store).Prefix()
			micros := func(t time.Time) int64 { return t.UnixMicro() }
			rows := func(m int, row func(i int) []any) string { // a JSON array of row arrays
				out := make([][]any, m)
				for i := range out {
					out[i] = row(i)
				}
				b, _ := json.Marshal(out) // strings only
				return string(b)
			}
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO ` + p + `grants (id, client_id, subject, subject_kind, tenant, resource, redirect_uri,
					scopes, context, config_version, status, created_at, activated_at, revoked_at, revoke_reason, last_used_at)
					SELECT value ->> 0, ?, value ->> 1, 'user', '', ?, ?, '["read"]', NULL, 0, 'active', ?, ?, NULL, '', NULL
					FROM json_each(?)`,
					[]any{clientID, resource, redirectURI, micros(at), micros(at), rows(n, func(i int) []any { return []any{grantIDs[i], subjects[i]} })}},
				{`INSERT INTO ` + p + `auth_requests (id, grant_id, client_id, redirect_uri, scopes, state, code_challenge,
					code_challenge_method, resource, created_at, expires_at, consumed_at, revoked_at)
					SELECT value ->> 0, value ->> 1, ?, ?, '["read"]', '', ?, 'S256', ?, ?, ?, NULL, NULL FROM json_each(?)`,
					[]any{clientID, redirectURI, challenge, resource, micros(at), micros(exp), rows(n, func(i int) []any { return []any{reqIDs[i], grantIDs[i]} })}},
				{`INSERT INTO ` + p + `auth_codes (id, hash, grant_id, client_id, redirect_uri, scopes, code_challenge,
					code_challenge_method, created_at, expires_at, used_at, revoked_at)
					SELECT value ->> 0, unhex(value ->> 2), value ->> 1, ?, ?, '["read"]', ?, 'S256', ?, ?, NULL, NULL
					FROM json_each(?)`,
					[]any{clientID, redirectURI, challenge, micros(at), micros(codeExp), rows(n, func(i int) []any { return []any{codeIDs[i], grantIDs[i], hex.EncodeToString(codeHashes[i])} })}},
				{`INSERT INTO ` + p + `refresh_tokens (id, hash, grant_id, family_id, parent_id, created_at, expires_at,
					family_expires_at, revoked_at, revoke_reason)
					SELECT value ->> 0, unhex(value ->> 3), value ->> 1, value ->> 2, NULL, ?, NULL, NULL, NULL, ''
					FROM json_each(?)`,
					[]any{micros(at), rows(5*n, func(i int) []any {
						return []any{tokIDs[i], tokGrants[i], tokFamily[i], hex.EncodeToString(tokHashes[i])}
					})}},
			} {
				if _, err := stx.ExecContext(ctx, q.sql, q.args...); err != nil {
					return fmt.Errorf("%.40s…: %w", q.sql, err)
				}
			}
			return nil
		}
		ptx, ok := postgres.PgxTx(tx)
		if !ok {
			return fmt.Errorf("bulkSeed: unsupported store %T", s)
		}
		sc := `"` + s.(*postgres.Store).Schema() + `".`
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO ` + sc + `grants (id, client_id, subject, subject_kind, tenant, resource, redirect_uri, scopes,
				context, config_version, status, created_at, activated_at, revoked_at, revoke_reason, last_used_at)
				SELECT id, $2, subject, 'user', '', $3, $4, '["read"]', NULL, 0, 'active', $5, $5, NULL, '', NULL
				FROM unnest($1::uuid[], $6::text[]) AS x(id, subject)`,
				[]any{grantIDs, clientID, resource, redirectURI, at, subjects}},
			{`INSERT INTO ` + sc + `auth_requests (id, grant_id, client_id, redirect_uri, scopes, state, code_challenge,
				code_challenge_method, resource, created_at, expires_at, consumed_at, revoked_at)
				SELECT id, grant_id, $3, $4, '["read"]', '', $5, 'S256', $6, $7, $8, NULL, NULL
				FROM unnest($1::uuid[], $2::uuid[]) AS x(id, grant_id)`,
				[]any{reqIDs, grantIDs, clientID, redirectURI, challenge, resource, at, exp}},
			{`INSERT INTO ` + sc + `auth_codes (id, hash, grant_id, client_id, redirect_uri, scopes, code_challenge,
				code_challenge_method, created_at, expires_at, used_at, revoked_at)
				SELECT id, hash, grant_id, $4, $5, '["read"]', $6, 'S256', $7, $8, NULL, NULL
				FROM unnest($1::uuid[], $2::bytea[], $3::uuid[]) AS x(id, hash, grant_id)`,
				[]any{codeIDs, codeHashes, grantIDs, clientID, redirectURI, challenge, at, codeExp}},
			{`INSERT INTO ` + sc + `refresh_tokens (id, hash, grant_id, family_id, parent_id, created_at, expires_at,
				family_expires_at, revoked_at, revoke_reason)
				SELECT id, hash, grant_id, family_id, NULL, $5, NULL, NULL, NULL, ''
				FROM unnest($1::uuid[], $2::bytea[], $3::uuid[], $4::uuid[]) AS x(id, hash, grant_id, family_id)`,
				[]any{tokIDs, tokHashes, tokGrants, tokFamily, at}},
		} {
			if _, err := ptx.Exec(ctx, q.sql, q.args...); err != nil {
				return fmt.Errorf("%.40s…: %w", q.sql, err)
			}
		}
		// Fresh statistics, as autovacuum would have them on a live table.
		for _, table := range []string{"grants", "auth_requests", "auth_codes", "refresh_tokens"} {
			if _, err := ptx.Exec(ctx, `ANALYZE `+sc+table); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("bulk seeding %d grants: %v", n, err)
	}

	// The rows read back through the store as the store's own writes would.
	last := n - 1
	check := func(what string, want, got any, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("bulkSeed: reading back a %s: %v", what, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			tb.Fatalf("bulkSeed: %s read back (-want +got):\n%s", what, diff)
		}
	}
	g, err := s.GetGrant(ctx, grantIDs[last])
	check("grant", store.Grant{ID: grantIDs[last], ClientID: clientID, Subject: subjects[last], SubjectKind: "user",
		Resource: resource, RedirectURI: redirectURI, Scopes: []string{"read"}, Status: store.GrantActive,
		CreatedAt: at, ActivatedAt: at}, g, err)
	r, err := s.GetAuthRequest(ctx, reqIDs[last])
	check("request", store.AuthRequest{ID: reqIDs[last], GrantID: grantIDs[last], ClientID: clientID,
		RedirectURI: redirectURI, Scopes: []string{"read"}, CodeChallenge: challenge,
		CodeChallengeMethod: grant.CodeChallengeS256, Resource: resource, CreatedAt: at, ExpiresAt: exp}, r, err)
	c, err := s.GetAuthCode(ctx, codeHashes[last])
	check("code", store.AuthCode{ID: codeIDs[last], Hash: codeHashes[last], GrantID: grantIDs[last], ClientID: clientID,
		RedirectURI: redirectURI, Scopes: []string{"read"}, CodeChallenge: challenge,
		CodeChallengeMethod: grant.CodeChallengeS256, CreatedAt: at, ExpiresAt: codeExp}, c, err)
	rt, err := s.GetRefreshToken(ctx, tokHashes[5*last+4])
	check("refresh token", store.RefreshToken{ID: tokIDs[5*last+4], Hash: tokHashes[5*last+4], GrantID: grantIDs[last],
		FamilyID: tokFamily[5*last+4], CreatedAt: at}, rt, err)
	if !rt.Active() {
		tb.Fatalf("bulkSeed: the last refresh token of the chain is revoked")
	}
	return grantIDs
}
