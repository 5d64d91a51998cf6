//go:build !race

package sqlite_test

// writesPerWriter is the volume of each writer in the load tests (a
// multiple of 4: one round of each operation).
const writesPerWriter = 200
