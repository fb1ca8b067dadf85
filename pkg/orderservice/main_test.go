package orderservice_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/orderservice/orderstore"
)

// TestMain gives the package's internal benchmarks the real SQL store and
// fails the tests if a goroutine outlives them; pgtest.Main stops the
// PostgreSQL server they may have started.
func TestMain(m *testing.M) {
	orderservice.OpenSQLStore = func(ctx context.Context, url string) (orderservice.Store, error) {
		s, err := orderstore.Open(ctx, url)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	goleak.VerifyTestMain(pgtest.Main(m))
}
