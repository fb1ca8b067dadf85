package productservice

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/kitshop/kitshop/internal/pgtest"
)

// TestMain fails the tests if a goroutine outlives them; pgtest.Main stops
// the PostgreSQL server they may have started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Main(m))
}
