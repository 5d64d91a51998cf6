package sqlstore

import (
	"context"
	"hash/fnv"
	"time"

	"github.com/grantkit/grantkit/store"
)

// Ops implements store.Ops over a Querier. The same type serves a pool or
// database (outside a transaction) and a transaction.
type Ops struct {
	q    Querier
	d    *Dialect
	inTx bool
	// begin opens a transaction on the store and runs fn in it; nil inside a
	// transaction.
	begin func(ctx context.Context, fn func(*Ops) error) error
}

// New returns the operations of a store outside a transaction. begin opens
// a transaction and runs fn with the Ops of NewTx over it.
func New(q Querier, d *Dialect, begin func(ctx context.Context, fn func(*Ops) error) error) *Ops {
	return &Ops{q: q, d: d, begin: begin}
}

// NewTx returns the operations bound to one transaction.
func NewTx(q Querier, d *Dialect) *TxOps {
	return &TxOps{Ops: Ops{q: q, d: d, inTx: true}}
}

// TxOps adds the operations that only make sense inside a transaction,
// and its after-commit callbacks.
type TxOps struct {
	Ops
	after afterCommit
}

// Ops returns the embedded operations, for begin functions.
func (t *TxOps) Base() *Ops { return &t.Ops }

// GetGrantForUpdate implements store.Tx.
func (t *TxOps) GetGrantForUpdate(ctx context.Context, id string) (store.Grant, error) {
	return t.getGrant(ctx, id, t.d.ForUpdate)
}

// GetGrantForShare implements store.Tx.
func (t *TxOps) GetGrantForShare(ctx context.Context, id string) (store.Grant, error) {
	return t.getGrant(ctx, id, t.d.ForShare)
}

// LockGrants implements store.Tx.
func (t *TxOps) LockGrants(ctx context.Context, ids []string) error {
	if t.d.ForUpdate == "" || len(ids) == 0 {
		return nil
	}
	rows, err := t.q.Query(ctx, t.d.SQL(`SELECT id FROM {t}grants WHERE id `+t.d.InSet("$1")+` ORDER BY id`+t.d.ForUpdate),
		t.d.set(ids))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// GetClientForShare implements store.Tx.
func (t *TxOps) GetClientForShare(ctx context.Context, id string) (store.Client, error) {
	return t.getClient(ctx, id, t.d.ForShare)
}

// GetClientForUpdate implements store.Tx.
func (t *TxOps) GetClientForUpdate(ctx context.Context, id string) (store.Client, error) {
	return t.getClient(ctx, id, t.d.ForUpdate)
}

// LockBinding implements store.Tx with the dialect's transaction-scoped
// lock on a 64-bit key derived from the table prefix and the binding.
func (t *TxOps) LockBinding(ctx context.Context, b store.Binding) error {
	if t.d.LockKey == "" {
		return nil
	}
	h := fnv.New64a()
	for _, f := range []string{t.d.Prefix, b.ClientID, b.Subject, b.SubjectKind, b.Tenant, b.Resource, b.RedirectURI} {
		h.Write([]byte(f))
		h.Write([]byte{0})
	}
	_, err := t.q.Exec(ctx, t.d.LockKey, int64(h.Sum64()))
	return err
}

// write runs fn directly when one statement suffices and the dialect allows
// unserialised writes (or when already in a transaction), and otherwise in a
// transaction of its own.
func (o *Ops) write(ctx context.Context, statements int, fn func(*Ops) error) error {
	if o.inTx || (statements == 1 && !o.d.SerializeWrites) {
		return fn(o)
	}
	return o.begin(ctx, fn)
}

// exec runs a write statement and returns the number of rows it changed.
func (o *Ops) exec(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := o.write(ctx, 1, func(o *Ops) error {
		var err error
		n, err = o.q.Exec(ctx, query, args...)
		return err
	})
	return n, err
}

// cas runs a compare-and-set statement: true when it changed exactly one row.
func (o *Ops) cas(ctx context.Context, query string, args ...any) (bool, error) {
	n, err := o.exec(ctx, query, args...)
	return n == 1, err
}

func (o *Ops) now(t time.Time) any { return o.d.time(t) }
