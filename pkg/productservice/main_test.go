package productservice_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/productservice/productstore"
)

// TestMain gives the package's tests the real SQL store and fails them if
// a goroutine outlives them; pgtest.Main stops the PostgreSQL server they
// may have started.
func TestMain(m *testing.M) {
	productservice.OpenSQLStore = func(ctx context.Context, url string) (productservice.SQLStore, error) {
		s, err := productstore.Open(ctx, url)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	goleak.VerifyTestMain(pgtest.Main(m))
}
