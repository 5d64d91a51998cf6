package sqlite_test

import (
	"testing"

	"github.com/grantkit/grantkit/internal/testdb"
	"github.com/grantkit/grantkit/store/storetest"
)

func TestConformance(t *testing.T) { storetest.Run(t, testdb.SQLite()) }
