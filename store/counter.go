package store

import "sync/atomic"

// Counter counts the SQL statements an adapter sends to its database,
// including BEGIN, COMMIT and ROLLBACK. Pass one in an adapter's config to let
// tests and benchmarks assert that an operation executes a constant number of
// statements. It is safe for concurrent use; a nil *Counter counts nothing.
type Counter struct{ n atomic.Int64 }

// Add records n statements.
func (c *Counter) Add(n int64) {
	if c != nil {
		c.n.Add(n)
	}
}

// Load returns the number of statements counted so far.
func (c *Counter) Load() int64 {
	if c == nil {
		return 0
	}
	return c.n.Load()
}
