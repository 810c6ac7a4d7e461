package ospr

import (
	"os"
	"testing"

	"github.com/osprey-bot/osprey/internal/testdb"
)

// Tests that need Postgres (the per-pull-request lock, River's job table)
// get a fresh migrated database each from testdb.New.
func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }
