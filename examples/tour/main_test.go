package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestTour runs the whole walk and checks that each step printed what it
// demonstrates, in order.
func TestTour(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	rest := text
	for _, want := range []string{
		`1. registered public client "Tour client"`,
		"2. authorization started: grant is pending",
		"alice approved: grant is active, code gk_ac_",
		"3. code exchanged: access token (300 s) and refresh token gk_rt_",
		`4. access token verified: sub=alice scope="tools:read" aud=https://mcp.example/`,
		"5. refreshed: new refresh token gk_rt_",
		"! security event for the host: refresh.reused (reason refresh_reused)",
		"6. old refresh token replayed: invalid_grant, HTTP 400 (token: invalid_grant: token reused",
		"grant is now revoked (reason refresh_reused)",
		"7. the latest access token is refused: token: invalid_token: grant not active",
		"and so is the latest refresh token: invalid_grant",
		"8. alice's connected clients: 1",
		"Notes app (verified name: false) on https://mcp.example/, scopes [tools:read]",
		"! security event for the host: grant.revoked (reason user_revoked)",
		"! security event for the host: session.revoked (reason user_revoked)",
		`9. alice revoked "Notes app": 0 connected clients left; its access token: token: invalid_token: grant not active`,
		"! security event for the host: sweep.completed (",
		"10. sweep a month later deleted 3 refresh tokens, 2 codes, 2 revoked grants, 1 orphan dynamic clients; audit kept",
		"11. audit trail for alice, oldest first:",
		"grant.created ",
		"grant.activated ",
		"refresh.reused   reason=refresh_reused  actor=client Tour client",
		"grant.revoked    reason=refresh_reused  actor=client Tour client",
		"grant.revoked    reason=user_revoked    actor=alice",
		"session.revoked  reason=user_revoked    actor=alice",
	} {
		i := strings.Index(rest, want)
		if i < 0 {
			t.Fatalf("output lacks %q after the previous step:\n%s", want, text)
		}
		rest = rest[i+len(want):]
	}
	if whole := regexp.MustCompile(`gk_[a-z]{2}_[A-Za-z0-9_-]{12,}`).FindString(text); whole != "" {
		t.Errorf("the tour prints a whole secret: %s", whole)
	}
}
