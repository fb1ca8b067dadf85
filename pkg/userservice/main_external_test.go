package userservice_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/pkg/userservice/userstore"
)

// TestMain gives the package's tests the real SQL store and fails them if
// any goroutine outlives them: the stores' connection pools, test servers
// and clients must all be closed. pgtest.Main stops the PostgreSQL server
// the tests may have started.
func TestMain(m *testing.M) {
	userservice.OpenSQLStore = func(ctx context.Context, url string) (userservice.SQLStore, error) {
		s, err := userstore.Open(ctx, url)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	goleak.VerifyTestMain(pgtest.Main(m))
}
