package grantkit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/cimd"
	"github.com/grantkit/grantkit/grant"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/session"
	"github.com/grantkit/grantkit/store"
	"github.com/grantkit/grantkit/sweep"
	gktoken "github.com/grantkit/grantkit/token"
)

// answer is what ErrorCode says about an error.
type answer struct {
	Code   string
	Status int
}

// sentinels lists every exported sentinel of the mapped packages with the
// answer it must get. TestEverySentinelMapped keeps it complete.
var sentinels = map[string]struct {
	err  error
	want answer
}{
	"cimd.ErrNotClientIDURL":   {cimd.ErrNotClientIDURL, answer{"invalid_client", 401}},
	"cimd.ErrFetch":            {cimd.ErrFetch, answer{"invalid_client", 401}},
	"cimd.ErrForbiddenAddress": {cimd.ErrForbiddenAddress, answer{"invalid_client", 401}},
	"cimd.ErrTooLarge":         {cimd.ErrTooLarge, answer{"invalid_client", 401}},
	"cimd.ErrInvalidDocument":  {cimd.ErrInvalidDocument, answer{"invalid_client", 401}},

	"grant.ErrInvalidRequest":        {grant.ErrInvalidRequest, answer{"invalid_request", 400}},
	"grant.ErrInvalidClient":         {grant.ErrInvalidClient, answer{"invalid_client", 401}},
	"grant.ErrUnauthorizedClient":    {grant.ErrUnauthorizedClient, answer{"unauthorized_client", 400}},
	"grant.ErrInvalidScope":          {grant.ErrInvalidScope, answer{"invalid_scope", 400}},
	"grant.ErrInvalidRedirectURI":    {grant.ErrInvalidRedirectURI, answer{"invalid_redirect_uri", 400}},
	"grant.ErrInvalidClientMetadata": {grant.ErrInvalidClientMetadata, answer{"invalid_client_metadata", 400}},
	"grant.ErrRequestExpired":        {grant.ErrRequestExpired, answer{"invalid_request", 400}},
	"grant.ErrRequestClosed":         {grant.ErrRequestClosed, answer{"invalid_request", 400}},
	"grant.ErrInvalidTransition":     {grant.ErrInvalidTransition, answer{"access_denied", 403}},
	"grant.ErrInvalidReason":         {grant.ErrInvalidReason, answer{"server_error", 500}},

	"token.ErrInvalidGrant":         {gktoken.ErrInvalidGrant, answer{"invalid_grant", 400}},
	"token.ErrInvalidTarget":        {gktoken.ErrInvalidTarget, answer{"invalid_target", 400}},
	"token.ErrReused":               {gktoken.ErrReused, answer{"invalid_grant", 400}},
	"token.ErrNotLive":              {gktoken.ErrNotLive, answer{"invalid_grant", 400}},
	"token.ErrGrantExpired":         {gktoken.ErrGrantExpired, answer{"invalid_grant", 400}},
	"token.ErrInsufficientScope":    {gktoken.ErrInsufficientScope, answer{"insufficient_scope", 403}},
	"token.ErrInvalidToken":         {gktoken.ErrInvalidToken, answer{"invalid_token", 401}},
	"token.ErrMalformed":            {gktoken.ErrMalformed, answer{"invalid_token", 401}},
	"token.ErrAlgorithm":            {gktoken.ErrAlgorithm, answer{"invalid_token", 401}},
	"token.ErrUnsecured":            {gktoken.ErrUnsecured, answer{"invalid_token", 401}},
	"token.ErrUnknownKey":           {gktoken.ErrUnknownKey, answer{"invalid_token", 401}},
	"token.ErrSignature":            {gktoken.ErrSignature, answer{"invalid_token", 401}},
	"token.ErrType":                 {gktoken.ErrType, answer{"invalid_token", 401}},
	"token.ErrIssuer":               {gktoken.ErrIssuer, answer{"invalid_token", 401}},
	"token.ErrAudience":             {gktoken.ErrAudience, answer{"invalid_token", 401}},
	"token.ErrMissingExpiry":        {gktoken.ErrMissingExpiry, answer{"invalid_token", 401}},
	"token.ErrAccessTokenExpired":   {gktoken.ErrAccessTokenExpired, answer{"invalid_token", 401}},
	"token.ErrNotYetValid":          {gktoken.ErrNotYetValid, answer{"invalid_token", 401}},
	"token.ErrGrantInactive":        {gktoken.ErrGrantInactive, answer{"invalid_token", 401}},
	"token.ErrGrantMismatch":        {gktoken.ErrGrantMismatch, answer{"invalid_token", 401}},
	"token.ErrScopeBeyond":          {gktoken.ErrScopeBeyond, answer{"invalid_token", 401}},
	"token.ErrConfigVersion":        {gktoken.ErrConfigVersion, answer{"invalid_token", 401}},
	"token.ErrUnsupportedAlgorithm": {gktoken.ErrUnsupportedAlgorithm, answer{"server_error", 500}},
	"token.ErrKeyInUse":             {gktoken.ErrKeyInUse, answer{"server_error", 500}},
	"token.ErrUnsupportedTokenType": {gktoken.ErrUnsupportedTokenType, answer{"unsupported_token_type", 400}},

	"session.ErrNotFound":  {session.ErrNotFound, answer{"not_found", 404}},
	"session.ErrForbidden": {session.ErrForbidden, answer{"forbidden", 403}},

	"store.ErrNotFound":        {store.ErrNotFound, answer{"not_found", 404}},
	"store.ErrConflict":        {store.ErrConflict, answer{"conflict", 409}},
	"store.ErrInvalidCursor":   {store.ErrInvalidCursor, answer{"invalid_request", 400}},
	"store.ErrInvalidArgument": {store.ErrInvalidArgument, answer{"invalid_request", 400}},
	"store.ErrClosed":          {store.ErrClosed, answer{"server_error", 500}},

	"sweep.ErrBusy": {sweep.ErrBusy, answer{"temporarily_unavailable", 503}},
	"cimd.ErrBusy":  {cimd.ErrBusy, answer{"temporarily_unavailable", 503}},
}

// mappedPackages are the directories whose sentinels ErrorCode maps.
var mappedPackages = []string{"cimd", "grant", "token", "session", "store", "sweep"}

// TestEverySentinelMapped fails when a package grows an exported Err…
// variable that is not in the sentinels table above, or when a sentinel of
// that table has no row of its own in errorTable (so its answer is chosen,
// not inherited by accident from the catch-all).
func TestEverySentinelMapped(t *testing.T) {
	var found []string
	for _, dir := range mappedPackages {
		if _, err := os.Stat(dir); err != nil {
			t.Fatal(err)
		}
		found = append(found, testenv.ExportedErrors(t, dir)...)
	}
	if len(found) < 20 {
		t.Fatalf("found only %d sentinels: %v (is the parser looking in the right place?)", len(found), found)
	}
	for _, name := range found {
		if _, ok := sentinels[name]; !ok {
			t.Errorf("%s has no expected answer in the sentinels table (and perhaps no row in errorTable)", name)
		}
	}
	for name, s := range sentinels {
		if !slices.Contains(found, name) {
			t.Errorf("sentinels lists %s, which the sources no longer export", name)
		}
		if !slices.ContainsFunc(errorTable, func(m mapping) bool { return m.err == s.err }) {
			t.Errorf("%s has no row in errorTable", name)
		}
	}
}

// TestErrorCode checks each sentinel's code and status, wrapped as the
// packages return them.
func TestErrorCode(t *testing.T) {
	got, want := map[string]answer{}, map[string]answer{}
	for name, s := range sentinels {
		code, status := ErrorCode(fmt.Errorf("some context: %w", s.err))
		got[name], want[name] = answer{code, status}, s.want
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ErrorCode (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name string
		err  error
		want answer
	}{
		{"nil", nil, answer{"", http.StatusOK}},
		{"unknown error", errors.New("connection refused"), answer{"server_error", 500}},
		{"cancelled context", context.Canceled, answer{"server_error", 500}},
		{"joined store failure", errors.Join(errors.New("token: liveness check failed"), errors.New("timeout")), answer{"server_error", 500}},
		{"reuse is invalid_grant", fmt.Errorf("x: %w", gktoken.ErrReused), answer{"invalid_grant", 400}},
		{"session not found is not a bare store not-found", session.ErrNotFound, answer{"not_found", 404}},
		{"a CIMD document refused for its redirect URI is invalid_client",
			fmt.Errorf("%w: %w", cimd.ErrInvalidDocument, grant.ErrInvalidRedirectURI), answer{"invalid_client", 401}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, status := ErrorCode(tc.err)
			if diff := cmp.Diff(tc.want, answer{code, status}); diff != "" {
				t.Errorf("ErrorCode(%v) (-want +got):\n%s", tc.err, diff)
			}
		})
	}
}
