package store_test

import (
	"os"
	"testing"

	"github.com/osprey-bot/osprey/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Run(m)) }
