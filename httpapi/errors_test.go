package httpapi_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testenv"
)

// answer is what ErrorCode answers an error with.
type answer struct {
	Code   string
	Status int
}

// sentinels is every exported error of httpapi with the answer it must
// get; TestEverySentinelAnswered keeps it complete.
var sentinels = map[string]struct {
	err  error
	want answer
}{
	"ErrMethodNotAllowed":        {httpapi.ErrMethodNotAllowed, answer{"invalid_request", http.StatusMethodNotAllowed}},
	"ErrContentType":             {httpapi.ErrContentType, answer{"invalid_request", http.StatusBadRequest}},
	"ErrBodyTooLarge":            {httpapi.ErrBodyTooLarge, answer{"invalid_request", http.StatusRequestEntityTooLarge}},
	"ErrMalformedBody":           {httpapi.ErrMalformedBody, answer{"invalid_request", http.StatusBadRequest}},
	"ErrDuplicateParameter":      {httpapi.ErrDuplicateParameter, answer{"invalid_request", http.StatusBadRequest}},
	"ErrMissingParameter":        {httpapi.ErrMissingParameter, answer{"invalid_request", http.StatusBadRequest}},
	"ErrMultipleClientAuth":      {httpapi.ErrMultipleClientAuth, answer{"invalid_request", http.StatusBadRequest}},
	"ErrInvalidParameter":        {httpapi.ErrInvalidParameter, answer{"invalid_request", http.StatusBadRequest}},
	"ErrUnsupportedGrantType":    {httpapi.ErrUnsupportedGrantType, answer{"unsupported_grant_type", http.StatusBadRequest}},
	"ErrUnsupportedResponseType": {httpapi.ErrUnsupportedResponseType, answer{"unsupported_response_type", http.StatusBadRequest}},
	"ErrRateLimited":             {httpapi.ErrRateLimited, answer{"slow_down", http.StatusTooManyRequests}},
	"ErrUnauthenticated":         {httpapi.ErrUnauthenticated, answer{"unauthenticated", http.StatusUnauthorized}},
	"ErrAccessDenied":            {httpapi.ErrAccessDenied, answer{"access_denied", http.StatusForbidden}},
	"ErrNotRequestOwner":         {httpapi.ErrNotRequestOwner, answer{"access_denied", http.StatusForbidden}},
	"ErrCrossOrigin":             {httpapi.ErrCrossOrigin, answer{"forbidden", http.StatusForbidden}},
	"ErrUnknownClient":           {httpapi.ErrUnknownClient, answer{"invalid_client", http.StatusUnauthorized}},
	"ErrUntrustedRedirectURI":    {httpapi.ErrUntrustedRedirectURI, answer{"invalid_redirect_uri", http.StatusBadRequest}},
}

// TestEverySentinelAnswered parses the package's sources: every exported
// Err… variable must be in sentinels, so its answer is chosen, not left
// to the server_error fallback by accident.
func TestEverySentinelAnswered(t *testing.T) {
	var found []string
	for _, name := range testenv.ExportedErrors(t, ".") {
		found = append(found, strings.TrimPrefix(name, "httpapi."))
	}
	if len(found) < 10 {
		t.Fatalf("found only %v: is the parser looking in the right place?", found)
	}
	for _, name := range found {
		if _, ok := sentinels[name]; !ok {
			t.Errorf("%s has no expected answer in sentinels", name)
		}
	}
	for name := range sentinels {
		if !slices.Contains(found, name) {
			t.Errorf("sentinels lists %s, which the sources no longer export", name)
		}
	}
}

// TestErrorCode checks each sentinel's answer, wrapped as the handlers
// wrap them, and the server_error fallback.
func TestErrorCode(t *testing.T) {
	got, want := map[string]answer{}, map[string]answer{}
	for name, s := range sentinels {
		code, status := httpapi.ErrorCode(fmt.Errorf("context: %w", s.err))
		got[name], want[name] = answer{code, status}, s.want
	}
	code, status := httpapi.ErrorCode(fmt.Errorf("database: connection reset"))
	got["unknown"], want["unknown"] = answer{code, status}, answer{"server_error", http.StatusInternalServerError}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ErrorCode (-want +got):\n%s", d)
	}
}
