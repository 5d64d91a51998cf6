package sqlstore

import (
	"context"
	"sync"
)

// afterCommit holds the callbacks a transaction runs once it has
// committed (store.Tx.AfterCommit).
type afterCommit struct {
	mu   sync.Mutex
	fns  []func(context.Context)
	done bool
}

// AfterCommit implements store.Tx. A callback registered after Committed
// ran (a Tx used after its transaction ended) is dropped.
func (t *TxOps) AfterCommit(fn func(ctx context.Context)) {
	t.after.mu.Lock()
	defer t.after.mu.Unlock()
	if !t.after.done && fn != nil {
		t.after.fns = append(t.after.fns, fn)
	}
}

// Committed implements store.JoinedTx: it runs the registered callbacks,
// once. Adapters call it after their own commit succeeded.
func (t *TxOps) Committed(ctx context.Context) {
	t.after.mu.Lock()
	fns := t.after.fns
	t.after.fns, t.after.done = nil, true
	t.after.mu.Unlock()
	for _, fn := range fns {
		fn(ctx)
	}
}
