// Package storetest is the conformance suite of grantkit's store contract.
// Every adapter runs the same tests: the SQLite and PostgreSQL
// adapters in this module, and any third-party adapter that calls Run from
// its own tests.
//
// The suite exercises every operation of store.Ops, the compare-and-set
// operations under 32 concurrent goroutines, transactions (own and joined),
// keyset pagination, the sweep deletes, timestamp round trips and, for an
// adapter with a Close method, the calls after Close. [TestCounter] checks
// an adapter's statement counting, with the counts that differ between
// adapters as a parameter.
package storetest

import (
	"context"
	"testing"

	"github.com/grantkit/grantkit/store"
)

// Harness describes the adapter under test.
type Harness struct {
	// Open returns a fresh, migrated store isolated from every other store
	// Open returned, so tests can run in parallel. It registers its own
	// cleanup on t. counter may be nil.
	Open func(t *testing.T, counter *store.Counter) store.Store
	// HostTx begins a host transaction on s's database (as a host would,
	// with its own driver) and returns it joined as a store.JoinedTx, with
	// the functions that commit and roll back the host transaction (they do
	// not call Committed: the caller does, as a host would).
	HostTx func(t *testing.T, s store.Store) (tx store.JoinedTx, commit, rollback func() error)
}

// Run runs the whole suite against h.
func Run(t *testing.T, h Harness) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, h)
		})
	}
}

type test struct {
	name string
	fn   func(t *testing.T, h Harness)
}

// tests is filled by the files of this package, one per concept.
var tests []test

func register(name string, fn func(t *testing.T, h Harness)) {
	tests = append(tests, test{name, fn})
}

func ctx(t *testing.T) context.Context { return t.Context() }
