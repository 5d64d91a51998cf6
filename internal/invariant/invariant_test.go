package invariant

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	t0 = "2026-12-03T10:00:00Z"
	t1 = "2026-12-03T10:00:05Z"
	t2 = "2026-12-03T10:00:09Z"
)

func grant(id, status, revokedAt string) map[string]any {
	g := map[string]any{"id": id, "status": status, "client_id": "c", "subject": "alice", "subject_kind": "user",
		"tenant": "", "resource": "https://api.example/", "redirect_uri": "https://app.example/cb", "revoke_reason": ""}
	if revokedAt != "" {
		g["revoked_at"] = revokedAt
	} else {
		g["revoked_at"] = nil
	}
	return g
}

func refresh(id, grantID, family, created, revokedAt string) map[string]any {
	t := map[string]any{"id": id, "grant_id": grantID, "family_id": family, "created_at": created, "revoked_at": nil}
	if revokedAt != "" {
		t["revoked_at"] = revokedAt
	}
	return t
}

func revokedEvent(grantID string) map[string]any {
	return map[string]any{"type": "grant.revoked", "grant_id": grantID}
}

func rules(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Rule)
	}
	return out
}

// TestCheck gives Check a clean snapshot and one broken in each rule's
// way: the clean one has no violation and each broken one exactly its own.
func TestCheck(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	clean := func() Snap {
		return Snap{
			"grants":         {grant("g1", "active", ""), grant("g2", "revoked", t1)},
			"refresh_tokens": {refresh("r1", "g1", "f1", t0, t1), refresh("r2", "g1", "f1", t1, ""), refresh("r3", "g2", "f2", t0, t1)},
			"audit_events":   {revokedEvent("g2")},
		}
	}
	cases := []struct {
		name     string
		mutate   func(Snap)
		minted   []Minted
		redeemed Redeemed
		want     []string
	}{
		{name: "clean", mutate: func(Snap) {}, minted: []Minted{{"g2", at(t0)}, {"g2", at(t1)}, {"g1", at(t2)}},
			redeemed: Redeemed{"a": 1, "b": 0}},
		{name: "active token under a revoked grant", mutate: func(s Snap) { s["refresh_tokens"][2]["revoked_at"] = nil },
			want: []string{RuleActiveTokenUnderRevokedGrant}},
		{name: "token of no grant", mutate: func(s Snap) { s["refresh_tokens"][1]["grant_id"] = "gone" },
			want: []string{RuleActiveTokenUnderRevokedGrant}},
		{name: "two active in a family", mutate: func(s Snap) { s["refresh_tokens"][0]["revoked_at"] = nil },
			want: []string{RuleTwoActiveInFamily}},
		{name: "two active grants on one binding", mutate: func(s Snap) {
			s["grants"][1]["status"], s["grants"][1]["revoked_at"] = "active", nil
			s["refresh_tokens"][2]["created_at"] = t0
		}, want: []string{RuleTwoActiveGrantsOnBinding}},
		{name: "revoked without audit", mutate: func(s Snap) { s["audit_events"] = nil },
			want: []string{RuleRevokedWithoutAudit}},
		{name: "code redeemed twice", mutate: func(Snap) {}, redeemed: Redeemed{"a": 2},
			want: []string{RuleCodeRedeemedTwice}},
		{name: "access token after revocation", mutate: func(Snap) {}, minted: []Minted{{"g2", at(t2)}},
			want: []string{RuleTokenAfterRevocation}},
		{name: "refresh token after revocation", mutate: func(s Snap) { s["refresh_tokens"][2]["created_at"] = t2 },
			want: []string{RuleTokenAfterRevocation}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := clean()
			tc.mutate(s)
			if d := cmp.Diff(tc.want, rules(Check(s, tc.minted, tc.redeemed))); d != "" {
				t.Errorf("violations (-want +got):\n%s", d)
			}
		})
	}
}
