package cimd

import (
	"container/list"
	"time"
)

// cache remembers, for at most size client ids, until when the last
// fetch of each stays valid (and, for a refused document, why it was
// refused), evicting the least recently used id beyond size. It is not
// safe for concurrent use: the Resolver's mutex guards it.
type cache struct {
	size    int
	order   *list.List // of *entry, most recently used first
	entries map[string]*list.Element
}

// entry is one cached resolution.
type entry struct {
	id      string
	expires time.Time
	// err is the refusal of the last fetch; nil when the client is
	// stored.
	err error
}

func newCache(size int) *cache {
	return &cache{size: size, order: list.New(), entries: make(map[string]*list.Element)}
}

// get returns id's entry if it is still valid at now, marking it used.
// An expired entry stays (until evicted) for stale.
func (c *cache) get(id string, now time.Time) (entry, bool) {
	el, ok := c.entries[id]
	if !ok || !now.Before(el.Value.(*entry).expires) {
		return entry{}, false
	}
	c.order.MoveToFront(el)
	return *el.Value.(*entry), true
}

// stale reports whether id's last fetch succeeded and expired less than
// maxStale before now.
func (c *cache) stale(id string, now time.Time, maxStale time.Duration) bool {
	el, ok := c.entries[id]
	if !ok {
		return false
	}
	e := el.Value.(*entry)
	return e.err == nil && now.Before(e.expires.Add(maxStale))
}

// put records e, evicting the least recently used entries beyond size.
func (c *cache) put(e entry) {
	if el, ok := c.entries[e.id]; ok {
		*el.Value.(*entry) = e
		c.order.MoveToFront(el)
		return
	}
	c.entries[e.id] = c.order.PushFront(&e)
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*entry).id)
	}
}

// len is how many ids are cached.
func (c *cache) len() int { return c.order.Len() }
