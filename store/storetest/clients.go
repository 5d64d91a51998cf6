package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("ClientRoundTrip", testClientRoundTrip)
	register("ClientCreateConflict", testClientCreateConflict)
	register("ClientGetNotFound", testClientGetNotFound)
	register("ClientUpdate", testClientUpdate)
	register("ClientDelete", testClientDelete)
	register("ClientLockedReads", testClientLockedReads)
}

// clientGet reads a client and fails the test on error.
func clientGet(t *testing.T, s store.Ops, id string) store.Client {
	t.Helper()
	c, err := s.GetClient(ctx(t), id)
	if err != nil {
		t.Fatalf("GetClient(%s): %v", id, err)
	}
	return c
}

func testClientRoundTrip(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	for _, tc := range []struct {
		name   string
		client store.Client
		public bool
	}{
		{
			name: "confidential",
			client: store.Client{
				ID:            "client-confidential",
				Name:          "Static App",
				SecretHash:    hash("s3cret"),
				RedirectURIs:  []string{"https://app.example/cb", "https://app.example/cb/"},
				GrantTypes:    []string{"authorization_code", "refresh_token"},
				ResponseTypes: []string{"code"},
				Scopes:        []string{"read", "write"},
				CreatedAt:     base,
				UpdatedAt:     base.Add(time.Second),
			},
		},
		{
			name: "public dynamic",
			client: store.Client{
				ID:            "client-public",
				Name:          "Self-reported name",
				RedirectURIs:  []string{"http://127.0.0.1:8765/callback"},
				GrantTypes:    []string{"authorization_code"},
				ResponseTypes: []string{"code"},
				Dynamic:       true,
				CreatedAt:     base.Add(-time.Hour),
				UpdatedAt:     base,
			},
			public: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.CreateClient(ctx(t), tc.client); err != nil {
				t.Fatalf("CreateClient: %v", err)
			}
			got := clientGet(t, s, tc.client.ID)
			want := tc.client
			want.CreatedAt = tc.client.CreatedAt.UTC().Truncate(time.Microsecond)
			want.UpdatedAt = tc.client.UpdatedAt.UTC().Truncate(time.Microsecond)
			if d := diff(want, got); d != "" {
				t.Errorf("GetClient (-want +got):\n%s", d)
			}
			if got.Public() != tc.public {
				t.Errorf("Public() = %v, want %v", got.Public(), tc.public)
			}
			if tc.public && got.SecretHash != nil {
				t.Errorf("SecretHash = %x, want nil for a public client", got.SecretHash)
			}
			for name, ts := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt} {
				if ts.Location() != time.UTC {
					t.Errorf("%s location = %v, want UTC", name, ts.Location())
				}
			}
			if !got.DeletedAt.IsZero() {
				t.Errorf("DeletedAt = %v, want zero for a live client", got.DeletedAt)
			}
		})
	}
}

func testClientCreateConflict(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	dup := c
	dup.Name = "Impostor"
	dup.SecretHash = nil
	if err := s.CreateClient(ctx(t), dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateClient(duplicate id) = %v, want ErrConflict", err)
	}
	if d := diff(c, clientGet(t, s, c.ID)); d != "" {
		t.Errorf("client changed by the refused insert (-want +got):\n%s", d)
	}
}

func testClientGetNotFound(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	newClient(t, s)
	// Ids no client can have (a NUL byte, invalid UTF-8: client_id is
	// caller input) are not found either, rather than a driver error.
	for _, id := range []string{"client-unknown", "", newID(t), "a\x00b", "\xff\xfe"} {
		if _, err := s.GetClient(ctx(t), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetClient(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

// testClientLockedReads checks Tx.GetClientForShare and GetClientForUpdate
// read what GetClient reads (deleted clients included) and refuse unknown
// ids the same way. The locks themselves are exercised by the grant
// package's interleaving tests.
func testClientLockedReads(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	gone := newClient(t, s)
	if err := s.DeleteClient(ctx(t), gone.ID, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want := map[string]store.Client{c.ID: clientGet(t, s, c.ID), gone.ID: clientGet(t, s, gone.ID)}
	reads := map[string]func(store.Tx, string) (store.Client, error){
		"GetClientForShare": func(tx store.Tx, id string) (store.Client, error) {
			return tx.GetClientForShare(ctx(t), id)
		},
		"GetClientForUpdate": func(tx store.Tx, id string) (store.Client, error) {
			return tx.GetClientForUpdate(ctx(t), id)
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			err := s.InTx(ctx(t), func(tx store.Tx) error {
				for _, id := range []string{c.ID, gone.ID} {
					got, err := read(tx, id)
					if err != nil {
						return fmt.Errorf("%s(%s): %w", name, id, err)
					}
					if d := diff(want[id], got); d != "" {
						t.Errorf("%s(%s) differs from GetClient (-want +got):\n%s", name, id, d)
					}
				}
				for _, id := range []string{"client-unknown", "", newID(t)} {
					if _, err := read(tx, id); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("%s(%q) = %v, want ErrNotFound", name, id, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func testClientUpdate(t *testing.T, h Harness) {
	s := h.Open(t, nil)

	t.Run("replaces metadata", func(t *testing.T) {
		c := newClient(t, s, func(c *store.Client) { c.Dynamic = true })
		upd := store.Client{
			ID:            c.ID,
			Name:          "Renamed",
			SecretHash:    nil, // confidential → public
			RedirectURIs:  []string{"https://other.example/cb"},
			GrantTypes:    []string{"authorization_code"},
			ResponseTypes: []string{"code"},
			Scopes:        []string{"read"},
			// UpdateClient leaves these alone:
			Dynamic:   false,
			CreatedAt: base.Add(-48 * time.Hour),
			UpdatedAt: base.Add(time.Hour),
		}
		if err := s.UpdateClient(ctx(t), upd); err != nil {
			t.Fatalf("UpdateClient: %v", err)
		}
		want := upd
		want.Dynamic = true
		want.CreatedAt = c.CreatedAt
		want.UpdatedAt = micro.Add(time.Hour)
		if d := diff(want, clientGet(t, s, c.ID)); d != "" {
			t.Errorf("GetClient after UpdateClient (-want +got):\n%s", d)
		}
	})

	t.Run("sets a secret", func(t *testing.T) {
		c := newClient(t, s, func(c *store.Client) { c.SecretHash = nil })
		upd := c
		upd.SecretHash = hash("new secret")
		upd.UpdatedAt = base.Add(2 * time.Hour)
		if err := s.UpdateClient(ctx(t), upd); err != nil {
			t.Fatalf("UpdateClient: %v", err)
		}
		want := upd
		want.UpdatedAt = micro.Add(2 * time.Hour)
		if d := diff(want, clientGet(t, s, c.ID)); d != "" {
			t.Errorf("GetClient after UpdateClient (-want +got):\n%s", d)
		}
	})

	t.Run("unknown", func(t *testing.T) {
		c := store.Client{ID: "client-unknown", Name: "x", UpdatedAt: base}
		if err := s.UpdateClient(ctx(t), c); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateClient(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := s.GetClient(ctx(t), c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetClient after UpdateClient(unknown) = %v, want ErrNotFound (no upsert)", err)
		}
	})

	t.Run("soft-deleted", func(t *testing.T) {
		c := newClient(t, s)
		if err := s.DeleteClient(ctx(t), c.ID, base.Add(time.Minute)); err != nil {
			t.Fatalf("DeleteClient: %v", err)
		}
		before := clientGet(t, s, c.ID)
		upd := c
		upd.Name = "Resurrected"
		upd.UpdatedAt = base.Add(time.Hour)
		if err := s.UpdateClient(ctx(t), upd); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UpdateClient(soft-deleted) = %v, want ErrNotFound", err)
		}
		if d := diff(before, clientGet(t, s, c.ID)); d != "" {
			t.Errorf("soft-deleted client changed (-want +got):\n%s", d)
		}
	})
}

func testClientDelete(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	c := newClient(t, s)
	other := newClient(t, s)
	at := base.Add(90 * time.Minute)
	if err := s.DeleteClient(ctx(t), c.ID, at); err != nil {
		t.Fatalf("DeleteClient: %v", err)
	}
	want := c
	want.DeletedAt = micro.Add(90 * time.Minute)
	want.UpdatedAt = want.DeletedAt
	got := clientGet(t, s, c.ID)
	if d := diff(want, got); d != "" {
		t.Errorf("GetClient after DeleteClient (-want +got):\n%s", d)
	}
	if got.DeletedAt.Location() != time.UTC {
		t.Errorf("DeletedAt location = %v, want UTC", got.DeletedAt.Location())
	}

	if err := s.DeleteClient(ctx(t), c.ID, at.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second DeleteClient = %v, want ErrNotFound", err)
	}
	if d := diff(want, clientGet(t, s, c.ID)); d != "" {
		t.Errorf("second DeleteClient changed the client (-want +got):\n%s", d)
	}
	if err := s.DeleteClient(ctx(t), "client-unknown", at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteClient(unknown) = %v, want ErrNotFound", err)
	}
	if d := diff(other, clientGet(t, s, other.ID)); d != "" {
		t.Errorf("DeleteClient touched another client (-want +got):\n%s", d)
	}
}
