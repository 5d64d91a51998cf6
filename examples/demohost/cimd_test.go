package demohost_test

import (
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/grantkit/grantkit/cimd"
	"github.com/grantkit/grantkit/examples/demohost"
	"github.com/grantkit/grantkit/grant"
)

// TestCIMDFlags: the flags parse, and only with both the test server's CA
// (-cimd-ca) and its loopback address allowed (-cimd-allow) does the
// resolver fetch a document from it; bad values are refused at build time.
func TestCIMDFlags(t *testing.T) {
	t.Parallel()
	docs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"client_id": "https://" + r.Host + r.URL.Path, "client_name": "Flag test client",
			"redirect_uris": []string{"http://127.0.0.1:9/callback"}, "token_endpoint_auth_method": "none",
		})
	}))
	docs.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-CA row's handshake failure
	docs.StartTLS()
	defer docs.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: docs.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("no certificate here"), 0o600); err != nil {
		t.Fatal(err)
	}

	s, closeStore, err := demohost.OpenStore(t.Context(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeStore() })
	grants, err := grant.New(grant.Config{Store: s})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		args      []string
		buildErr  bool  // Resolver refuses the flags
		clientErr error // else: what Client answers; nil: it resolves
	}{
		{"defaults refuse loopback", nil, false, cimd.ErrForbiddenAddress},
		{"allowed but untrusted CA", []string{"-cimd-allow", "127.0.0.1/32"}, false, cimd.ErrFetch},
		{"trusted CA, loopback not allowed", []string{"-cimd-ca", ca}, false, cimd.ErrForbiddenAddress},
		{"another network allowed", []string{"-cimd-ca", ca, "-cimd-allow", "10.0.0.0/8"}, false, cimd.ErrForbiddenAddress},
		{"trusted and allowed", []string{"-cimd-ca", ca, "-cimd-allow", "10.0.0.0/8, 127.0.0.0/8"}, false, nil},
		{"mapped prefix", []string{"-cimd-ca", ca, "-cimd-allow", "::ffff:127.0.0.0/104"}, false, nil},
		{"bad prefix", []string{"-cimd-allow", "127.0.0.1"}, true, nil},
		{"everything", []string{"-cimd-allow", "0.0.0.0/0"}, true, nil},
		{"every IPv6", []string{"-cimd-allow", "::/0"}, true, nil},
		{"link-local", []string{"-cimd-allow", "169.254.0.0/16"}, true, nil},
		{"mapped metadata endpoint", []string{"-cimd-allow", "::ffff:169.254.169.254/128"}, true, nil},
		{"ECS credentials", []string{"-cimd-allow", "169.254.170.0/24"}, true, nil},
		{"Alibaba metadata", []string{"-cimd-allow", "100.64.0.0/10"}, true, nil},
		{"GCP IPv6 metadata", []string{"-cimd-allow", "fd20::/16"}, true, nil},
		{"IPv6 link-local", []string{"-cimd-allow", "fe80::/16"}, true, nil},
		{"NAT64", []string{"-cimd-allow", "64:ff9b::/96"}, true, nil},
		{"6to4", []string{"-cimd-allow", "2002::/16"}, true, nil},
		{"IPv4-compatible", []string{"-cimd-allow", "::/16"}, true, nil},
		{"missing CA file", []string{"-cimd-ca", filepath.Join(dir, "missing.pem")}, true, nil},
		{"CA file without PEM", []string{"-cimd-ca", notPEM}, true, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f demohost.CIMDFlags
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f.Register(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			r, err := f.Resolver(grants, []string{"read"})
			if tt.buildErr {
				if err == nil {
					t.Fatalf("Resolver(%q) built, want an error", tt.args)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolver(%q): %v", tt.args, err)
			}
			// A path per row: a refused fetch is remembered per client id.
			id := docs.URL + "/client/" + string(rune('a'+i)) + ".json"
			c, err := r.Client(t.Context(), id)
			if tt.clientErr != nil {
				if !errors.Is(err, tt.clientErr) {
					t.Fatalf("Client: %v, want %v", err, tt.clientErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Client: %v", err)
			}
			if diff := cmp.Diff([]string{"Flag test client", id}, []string{c.Name, c.ID}); diff != "" {
				t.Errorf("resolved client (-want +got):\n%s", diff)
			}
		})
	}
}
