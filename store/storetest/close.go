package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/grantkit/grantkit/store"
)

func init() {
	register("Close", testClose)
}

// testClose checks an adapter's Close, when it has one (store.Store does
// not require it): it may be called more than once, and afterwards every
// operation fails with ErrClosed instead of reaching a closed database or
// silently going on.
func testClose(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	closer, ok := s.(interface{ Close() error })
	if !ok {
		t.Skipf("%T has no Close method", s)
	}
	c := newClient(t, s)
	g := newGrant(t, s, c.ID)

	if err := closer.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := closer.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}

	fnRan := false
	for name, call := range map[string]func() error{
		"GetGrant":     func() error { _, err := s.GetGrant(ctx(t), g.ID); return err },
		"CreateClient": func() error { _, err := newClientErr(t, s); return err },
		"RevokeGrants": func() error { _, err := s.RevokeGrants(ctx(t), []string{g.ID}, "test", micro); return err },
		"ListActiveGrants": func() error {
			_, err := s.ListActiveGrants(ctx(t), store.GrantFilter{Subject: g.Subject, SubjectKind: g.SubjectKind}, store.Page{})
			return err
		},
		"MarkAuthCodeReuseReported": func() error {
			_, err := s.MarkAuthCodeReuseReported(ctx(t), newID(t), micro)
			return err
		},
		"InTx": func() error {
			return s.InTx(ctx(t), func(tx store.Tx) error {
				_, err := tx.GetGrantForUpdate(ctx(t), g.ID)
				return err
			})
		},
		"InTx sending nothing": func() error {
			return s.InTx(ctx(t), func(store.Tx) error { fnRan = true; return nil })
		},
		"Migrate": func() error { return s.Migrate(ctx(t)) },
		"Exclusive": func() error {
			ok, err := s.Exclusive(ctx(t), "sweep", func(context.Context) error { fnRan = true; return nil })
			if ok {
				return errors.New("Exclusive reported that fn ran")
			}
			return err
		},
	} {
		if err := call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if fnRan {
		t.Error("Exclusive or InTx ran fn after Close")
	}
}

// newClientErr is newClient returning CreateClient's error.
func newClientErr(t *testing.T, s store.Ops) (store.Client, error) {
	c := store.Client{ID: "client-" + newID(t), Name: "Example", CreatedAt: micro, UpdatedAt: micro.Add(time.Second)}
	return c, s.CreateClient(ctx(t), c)
}
