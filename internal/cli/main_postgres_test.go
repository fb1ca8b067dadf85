package cli

import (
	"os"
	"testing"

	"github.com/kitshop/kitshop/internal/pgtest"
)

// TestMain stops the PostgreSQL server the tests may have started (see
// internal/pgtest).
func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m).Run())
}
