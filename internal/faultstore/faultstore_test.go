package faultstore_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/grantkit/grantkit/internal/faultstore"
	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store"
)

// TestEveryMethodIsAStep calls every method of store.Ops and store.Tx with
// failAt 1 and checks that each one counts and fails without reaching the
// wrapped store (which is nil here: reaching it would panic).
func TestEveryMethodIsAStep(t *testing.T) {
	t.Parallel()
	targets := []struct {
		name   string
		iface  reflect.Type
		target func() (any, *faultstore.Store)
	}{
		{"Store", reflect.TypeFor[store.Ops](), func() (any, *faultstore.Store) { f := faultstore.Wrap(nil, 1); return f, f }},
		{"Tx", reflect.TypeFor[store.Tx](), func() (any, *faultstore.Store) { f := faultstore.Wrap(nil, 1); return f.WrapTx(nil), f }},
	}
	for _, tt := range targets {
		name, iface, target := tt.name, tt.iface, tt.target
		for i := range iface.NumMethod() {
			m := iface.Method(i)
			if m.Name == "AfterCommit" {
				continue // registers a callback, touches no database: not a step
			}
			t.Run(name+"."+m.Name, func(t *testing.T) {
				v, f := target()
				fn := reflect.ValueOf(v).MethodByName(m.Name)
				in := make([]reflect.Value, fn.Type().NumIn())
				for j := range in {
					in[j] = reflect.Zero(fn.Type().In(j))
				}
				in[0] = reflect.ValueOf(context.Background())
				out := fn.Call(in)
				err, _ := out[len(out)-1].Interface().(error)
				if !errors.Is(err, faultstore.ErrInjected) {
					t.Fatalf("%s returned %v, want ErrInjected", m.Name, err)
				}
				if diff := cmp.Diff([]string{m.Name}, f.Trace()); diff != "" || f.Calls() != 1 {
					t.Errorf("Calls() = %d, Trace() (-want +got):\n%s", f.Calls(), diff)
				}
			})
		}
	}
}

func TestInjectedFailureRollsBack(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		s := db.Harness.Open(t, nil)
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		write := func(f *faultstore.Store, n int) error {
			return f.InTx(ctx, func(tx store.Tx) error {
				c := store.Client{ID: "client-" + uuid.NewString(), RedirectURIs: []string{"https://app.example/cb"},
					GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, CreatedAt: now, UpdatedAt: now}
				if err := tx.CreateClient(ctx, c); err != nil {
					return err
				}
				for range n {
					g := store.Grant{ID: uuid.NewString(), ClientID: c.ID, Subject: uuid.NewString(),
						RedirectURI: c.RedirectURIs[0], Status: store.GrantPending, CreatedAt: now}
					if err := tx.CreateGrant(ctx, g); err != nil {
						return err
					}
				}
				return nil
			})
		}

		probe := faultstore.Wrap(s, 0)
		if err := write(probe, 2); err != nil {
			t.Fatal(err)
		}
		want := []string{"InTx", "CreateClient", "CreateGrant", "CreateGrant", "Commit"}
		if diff := cmp.Diff(want, probe.Trace()); diff != "" {
			t.Fatalf("Trace() (-want +got):\n%s", diff)
		}

		before := testdb.Snapshot(t, s)
		for k := 1; k <= probe.Calls(); k++ {
			f := faultstore.Wrap(s, k)
			if err := write(f, 2); !errors.Is(err, faultstore.ErrInjected) {
				t.Fatalf("failAt %d (%s): got %v, want ErrInjected", k, want[k-1], err)
			}
			if diff := cmp.Diff(before, testdb.Snapshot(t, f)); diff != "" {
				t.Fatalf("failAt %d (%s) changed the database (-before +after):\n%s", k, want[k-1], diff)
			}
		}
		if err := write(faultstore.Wrap(s, probe.Calls()+1), 2); err != nil {
			t.Fatalf("failAt past the last step: %v", err)
		}
		if after := testdb.Snapshot(t, s); len(after["grants"]) != len(before["grants"])+2 {
			t.Fatalf("a run without failure wrote %d grants, want %d", len(after["grants"]), len(before["grants"])+2)
		}
	})
}

func TestWrapTxCountsHostTransaction(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db testdb.DB) {
		t.Parallel()
		ctx := context.Background()
		s := db.Harness.Open(t, nil)
		tx, _, rollback := db.Harness.HostTx(t, s)
		defer func() {
			if err := rollback(); err != nil {
				t.Error(err)
			}
		}()
		f := faultstore.Wrap(s, 2)
		ftx := f.WrapTx(tx)
		if _, err := ftx.GetGrant(ctx, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("step 1 reached the store: got %v, want store.ErrNotFound", err)
		}
		if _, err := ftx.GetGrantForUpdate(ctx, uuid.NewString()); !errors.Is(err, faultstore.ErrInjected) {
			t.Fatalf("step 2: got %v, want ErrInjected", err)
		}
		if ftx.(*faultstore.Tx).Unwrap() != tx {
			t.Error("Unwrap does not return the host transaction")
		}
		if diff := cmp.Diff([]string{"GetGrant", "GetGrantForUpdate"}, f.Trace()); diff != "" {
			t.Errorf("Trace() (-want +got):\n%s", diff)
		}
	})
}

// TestStall: a stalled step hangs until its context ends and then fails
// with ErrInjected and the context's error, without reaching the wrapped
// store (nil here); the other steps are not stalled.
func TestStall(t *testing.T) {
	t.Parallel()
	f := faultstore.Stall(nil, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	_, err := f.GetGrant(ctx, "g")
	if !errors.Is(err, faultstore.ErrInjected) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled step: %v, want ErrInjected and context.DeadlineExceeded", err)
	}
	if ctx.Err() == nil {
		t.Error("the stalled step returned before its context ended")
	}
	select {
	case <-f.Stalled():
	default:
		t.Error("Stalled() is not closed after the step stalled")
	}
	if d := cmp.Diff([]string{"GetGrant"}, f.Trace()); d != "" {
		t.Errorf("trace (-want +got):\n%s", d)
	}
}
