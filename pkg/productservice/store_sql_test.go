package productservice

import (
	"context"
	"testing"

	"github.com/kitshop/kitshop/internal/pgtest"
)

func TestSQLiteStore(t *testing.T) {
	testStore(t, openSQLite)
}

// TestPostgresStore runs the suite on PostgreSQL, each subtest on a
// database of its own: see internal/pgtest for where the server comes from
// (KITSHOP_TEST_POSTGRES_URL, or a throwaway local one).
func TestPostgresStore(t *testing.T) {
	testStore(t, openPostgres)
}

// openPostgres opens a store on a fresh PostgreSQL database.
func openPostgres(t *testing.T) Store {
	t.Helper()
	store, err := OpenStore(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}
