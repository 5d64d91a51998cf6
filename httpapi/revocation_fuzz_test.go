package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/httpapi"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/internal/testenv"
	"github.com/grantkit/grantkit/store/sqlite"
)

// FuzzRevocationForm sends arbitrary form bodies, with or without HTTP
// Basic credentials, to the revocation and introspection endpoints of one
// SQLite-backed Handler whose client and tokens the seeds know. Whatever
// the input: never a 5xx; always the no-store headers; a revocation's 200
// has an empty body (and may have revoked the seeds' grant); an
// introspection's 200 is a JSON object with a boolean active; any other
// answer is a JSON OAuth error; nothing but a revocation's 200 changes the
// database.
func FuzzRevocationForm(f *testing.F) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	e := testenv.Over(f, s)
	h, err := httpapi.New(httpapi.Config{Grants: e.Manager, Tokens: e.Server, Minter: e.Minter})
	if err != nil {
		f.Fatal(err)
	}
	c := e.Client(testenv.Confidential)
	ap := e.Authorize(c, "alice")
	resp := e.Exchange(testenv.CodeRequest(c, ap))

	for _, seed := range []struct {
		body  string
		basic bool
	}{
		{form("token", resp.AccessToken), true},
		{form("token", resp.RefreshToken, "token_type_hint", "refresh_token"), true},
		{form("client_id", c.ID, "client_secret", c.Secret, "token", resp.AccessToken, "token_type_hint", "access_token"), false},
		{form("client_id", c.ID, "token", "gk_rt_x", "token_type_hint", "id_token"), false},
		{"token=%zz&client_id=" + c.ID, false},
		{"token=a&token=b", true},
		{"token=%00", true},
		{"", false},
	} {
		f.Add(seed.body, seed.basic, false)
		f.Add(seed.body, seed.basic, true)
	}
	f.Fuzz(func(t *testing.T, body string, basic, introspect bool) {
		handler, name := h.Revocation(), "revocation"
		if introspect {
			handler, name = h.Introspection(), "introspection"
		}
		before := testdb.Snapshot(t, s)
		hr := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			hr.SetBasicAuth(c.ID, c.Secret)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, hr)
		if rec.Code >= 500 {
			t.Fatalf("%s answered %d: %s", name, rec.Code, rec.Body)
		}
		if got := [2]string{rec.Header().Get("Cache-Control"), rec.Header().Get("Pragma")}; got != [2]string{"no-store", "no-cache"} {
			t.Errorf("%s: Cache-Control, Pragma = %q", name, got)
		}
		var m map[string]any
		switch {
		case rec.Code == http.StatusOK && !introspect:
			if rec.Body.Len() != 0 {
				t.Errorf("revocation's 200 has a body: %q", rec.Body)
			}
			return
		case json.Unmarshal(rec.Body.Bytes(), &m) != nil:
			t.Fatalf("%s answered %d with no JSON object: %q", name, rec.Code, rec.Body)
		case rec.Code == http.StatusOK:
			if _, ok := m["active"].(bool); !ok {
				t.Errorf("introspection's 200 has no boolean active: %s", rec.Body)
			}
		default:
			if code, _ := m["error"].(string); code == "" || code == "server_error" {
				t.Errorf("%s answered %d with error %v", name, rec.Code, m["error"])
			}
		}
		if diff := cmp.Diff(before, testdb.Snapshot(t, s)); diff != "" {
			t.Errorf("%s answered %d and changed the database:\n%s", name, rec.Code, diff)
		}
	})
}
