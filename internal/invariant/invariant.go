// Package invariant checks the database-wide rules grantkit promises
// (SPEC §2, §4) over a snapshot of every table (testdb.Snapshot), after a
// load, fault or crash test. Each rule is checked on its own so that a
// report names every violation, not only the first.
package invariant

import (
	"fmt"
	"sort"
	"time"
)

// Snap is a snapshot as testdb.Snapshot returns it: rows per table, with
// times as UTC RFC 3339 strings and ids as strings.
type Snap = map[string][]map[string]any

// Minted is an access token a client received: the grant it was minted
// for and its iat (RFC 7519 §4.1.6, whole seconds).
type Minted struct {
	GrantID  string
	IssuedAt time.Time
}

// Redeemed counts, per authorization code the load obtained, the token
// requests with it that were answered 200.
type Redeemed map[string]int

// Violation is one broken rule.
type Violation struct {
	Rule   string
	Detail string
}

func (v Violation) String() string { return v.Rule + ": " + v.Detail }

// Rules checked by Check, in report order.
const (
	RuleActiveTokenUnderRevokedGrant = "active refresh token under a grant that is not active"
	RuleTwoActiveInFamily            = "more than one active refresh token in a family"
	RuleTwoActiveGrantsOnBinding     = "more than one active grant on one binding"
	RuleRevokedWithoutAudit          = "revoked grant without its grant.revoked audit event"
	RuleCodeRedeemedTwice            = "authorization code redeemed more than once"
	RuleTokenAfterRevocation         = "token minted after its grant's revocation committed"
)

// Check returns every violation in snap, given the access tokens the
// clients received and the codes they redeemed; none is the goal.
func Check(snap Snap, minted []Minted, redeemed Redeemed) []Violation {
	var out []Violation
	add := func(rule, format string, a ...any) { out = append(out, Violation{rule, fmt.Sprintf(format, a...)}) }

	grants := map[string]map[string]any{}
	for _, g := range snap["grants"] {
		grants[str(g["id"])] = g
	}

	perFamily := map[string]int{}
	for _, t := range snap["refresh_tokens"] {
		g := grants[str(t["grant_id"])]
		if t["revoked_at"] == nil {
			perFamily[str(t["family_id"])]++
			if g == nil || str(g["status"]) != "active" {
				add(RuleActiveTokenUnderRevokedGrant, "token %s of grant %s (%v)", str(t["id"]), str(t["grant_id"]), status(g))
			}
		}
		if g != nil && g["revoked_at"] != nil && after(str(t["created_at"]), str(g["revoked_at"])) {
			add(RuleTokenAfterRevocation, "refresh token %s created %s, grant %s revoked %s", str(t["id"]),
				str(t["created_at"]), str(g["id"]), str(g["revoked_at"]))
		}
	}
	for _, f := range sortedKeys(perFamily) {
		if perFamily[f] > 1 {
			add(RuleTwoActiveInFamily, "family %s has %d", f, perFamily[f])
		}
	}

	perBinding := map[string]int{}
	for _, g := range snap["grants"] {
		if str(g["status"]) == "active" {
			key := fmt.Sprintf("%q", []string{str(g["client_id"]), str(g["subject"]), str(g["subject_kind"]),
				str(g["tenant"]), str(g["resource"]), str(g["redirect_uri"])})
			perBinding[key]++
		}
	}
	for _, b := range sortedKeys(perBinding) {
		if perBinding[b] > 1 {
			add(RuleTwoActiveGrantsOnBinding, "binding %s has %d", b, perBinding[b])
		}
	}

	audited := map[string]bool{}
	for _, e := range snap["audit_events"] {
		if str(e["type"]) == "grant.revoked" {
			audited[str(e["grant_id"])] = true
		}
	}
	for _, g := range snap["grants"] {
		if str(g["status"]) == "revoked" && !audited[str(g["id"])] {
			add(RuleRevokedWithoutAudit, "grant %s (%s)", str(g["id"]), str(g["revoke_reason"]))
		}
	}

	for _, code := range sortedKeys(redeemed) {
		if redeemed[code] > 1 {
			add(RuleCodeRedeemedTwice, "a code was redeemed %d times", redeemed[code])
		}
	}

	for _, m := range minted {
		g := grants[m.GrantID]
		if g == nil || g["revoked_at"] == nil {
			continue // live, or deleted by the sweep after its retention
		}
		revoked, err := time.Parse(time.RFC3339Nano, str(g["revoked_at"]))
		if err != nil {
			add(RuleTokenAfterRevocation, "grant %s: revoked_at %v: %v", m.GrantID, g["revoked_at"], err)
			continue
		}
		// iat is whole seconds, truncated: a token minted at or before the
		// revocation has iat <= revoked_at.
		if m.IssuedAt.After(revoked) {
			add(RuleTokenAfterRevocation, "access token of grant %s issued %s, revoked %s", m.GrantID,
				m.IssuedAt.UTC().Format(time.RFC3339), str(g["revoked_at"]))
		}
	}
	return out
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func status(g map[string]any) string {
	if g == nil {
		return "no such grant"
	}
	return str(g["status"])
}

// after reports whether RFC 3339 time a is after b.
func after(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	return errA == nil && errB == nil && ta.After(tb)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
