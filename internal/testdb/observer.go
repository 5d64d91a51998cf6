package testdb

import (
	"context"
	"slices"
	"sync"

	"github.com/grantkit/grantkit/grant"
)

// Observer records the events a grant.Observer hears, safe for concurrent
// use.
type Observer struct {
	mu sync.Mutex
	ev []grant.Event
}

// Observe implements grant.Observer.
func (o *Observer) Observe(_ context.Context, e grant.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ev = append(o.ev, e)
}

// Events returns the events heard so far.
func (o *Observer) Events() []grant.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.ev)
}

// Types returns the types of the events heard so far.
func (o *Observer) Types() []string {
	var out []string
	for _, e := range o.Events() {
		out = append(out, e.Type)
	}
	return out
}

// Count returns how many events of type typ were heard.
func (o *Observer) Count(typ string) int {
	n := 0
	for _, t := range o.Types() {
		if t == typ {
			n++
		}
	}
	return n
}
