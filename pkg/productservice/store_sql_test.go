package productservice

import (
	"testing"

	"github.com/kitshop/kitshop/internal/pgtest"
)

func TestSQLiteStore(t *testing.T) {
	testStore(t, func(t *testing.T) Store { return openSQLite(t) })
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
	return openStore(t, pgtest.URL(t))
}
