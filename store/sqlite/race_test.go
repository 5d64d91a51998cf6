//go:build race

package sqlite_test

// writesPerWriter is the volume of each writer in the load tests. Under the
// race detector the transpiled SQLite runs tens of times slower, so the
// volume shrinks; the concurrency (writers, readers) does not.
const writesPerWriter = 48
