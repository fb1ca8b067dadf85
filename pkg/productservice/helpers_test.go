package productservice

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

// t0 is the fake clock's start: a fixed instant, so tests do not depend on
// the machine's time.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is a clock that only moves when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// SQLStore is what this package's tests need of the SQL adapter, package
// productstore. productstore imports this package, so only the external
// test package can import it: its TestMain (main_test.go) sets OpenSQLStore
// before any test runs.
type SQLStore interface {
	Store
	// DB is the store's connection pool, for tests that look at the rows.
	DB() *sql.DB
}

// OpenSQLStore opens productstore's Store at url; see SQLStore.
var OpenSQLStore func(ctx context.Context, url string) (SQLStore, error)

// openStore opens the SQL store at url, closed when the test ends.
func openStore(t testing.TB, url string) SQLStore {
	t.Helper()
	store, err := OpenSQLStore(context.Background(), url)
	if err != nil {
		t.Fatalf("open store %s: %v", url, err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// openSQLite opens a fresh SQLite store in a temporary directory.
func openSQLite(t testing.TB) SQLStore {
	t.Helper()
	return openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "products.db"))
}

// mustCreateProduct creates a product through svc.
func mustCreateProduct(t *testing.T, svc Service, name string, price, stock int64) Product {
	t.Helper()
	p, err := svc.CreateProduct(context.Background(), CreateProductRequest{Name: name, PriceCents: price, Stock: stock})
	if err != nil {
		t.Fatalf("create product %s: %v", name, err)
	}
	return p
}

// stockOf reads a product's stock through svc.
func stockOf(t *testing.T, svc Service, id string) int64 {
	t.Helper()
	p, err := svc.GetProduct(context.Background(), id)
	if err != nil {
		t.Fatalf("get product %s: %v", id, err)
	}
	return p.Stock
}

// reserveOne reserves qty of product under key for an order.
func reserveOne(ctx context.Context, svc Service, key, productID string, qty int64) (Reservation, error) {
	return svc.Reserve(ctx, ReserveRequest{
		IdempotencyKey: key,
		OrderID:        "ord_" + key,
		Items:          []ReserveItem{{ProductID: productID, Quantity: qty}},
	})
}

// wantCode fails unless err is a *kitshop.Error with code (and so
// matches every sentinel of that code under errors.Is).
func wantCode(t *testing.T, err error, code kitshop.Code) *kitshop.Error {
	t.Helper()
	var e *kitshop.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want a *kitshop.Error with code %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("error code = %s (%v), want %s", e.Code, err, code)
	}
	return e
}

// reservedQuantities sums, per product, the quantities of the reservations
// listed with the given statuses (through the operator view, all pages).
func reservedQuantities(t *testing.T, svc Service, statuses ...string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, status := range statuses {
		after := ""
		for {
			rs, next, err := svc.ListReservations(context.Background(), status, after, kitshop.MaxPageLimit)
			if err != nil {
				t.Fatalf("list reservations: %v", err)
			}
			for _, r := range rs {
				for _, it := range r.Items {
					out[it.ProductID] += it.Quantity
				}
			}
			if next == "" {
				break
			}
			after = next
		}
	}
	return out
}

// checkStockInvariant checks the contract's conservation law for product:
// initial stock = current stock + quantities of held and confirmed
// reservations.
func checkStockInvariant(t *testing.T, svc Service, productID string, initial int64) {
	t.Helper()
	held := reservedQuantities(t, svc, StatusHeld, StatusConfirmed)[productID]
	if cur := stockOf(t, svc, productID); cur+held != initial {
		t.Fatalf("product %s: stock %d + held/confirmed %d = %d, want initial %d", productID, cur, held, cur+held, initial)
	}
}

// waitFor polls cond until it holds or the bound passes.
func waitFor(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", bound, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
