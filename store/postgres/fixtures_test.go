package postgres_test

import "github.com/grantkit/grantkit/internal/testdb"

// The fixtures live in internal/testdb, shared with the other adapter.
var (
	now       = testdb.Now
	newID     = testdb.NewID
	hash      = testdb.Hash
	newClient = testdb.NewClient
	grant     = testdb.Grant
)
