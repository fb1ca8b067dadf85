package productservice

import (
	"context"
	"os"
	"testing"
)

func TestSQLiteStore(t *testing.T) {
	testStore(t, openSQLite)
}

// TestPostgresStore runs the suite on the PostgreSQL database named by
// KITSHOP_TEST_POSTGRES_URL, emptied before each subtest.
func TestPostgresStore(t *testing.T) {
	url := os.Getenv("KITSHOP_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("KITSHOP_TEST_POSTGRES_URL not set")
	}
	testStore(t, func(t *testing.T) Store {
		t.Helper()
		ctx := context.Background()
		store, err := OpenStore(ctx, url)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { _ = store.Close() })
		for _, table := range []string{"idempotency_keys", "reservation_items", "reservations", "products"} {
			if _, err := store.db.ExecContext(ctx, "DELETE FROM "+table); err != nil {
				t.Fatalf("empty %s: %v", table, err)
			}
		}
		return store
	})
}
