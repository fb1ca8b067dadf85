package orderservice_test

// Benchmarks of the order path's storage on both backends, in one run:
//
//	go test -run '^$' -bench 'OrderStorage' -benchmem ./pkg/orderservice/
//
// CreateConfirm is one order's database work, as the saga does it across
// the two services' stores: the pending order (order store), the
// idempotency claim and the reservation (product store), the reservation's
// confirmation (product store) and the order's (order store). Parallel runs
// it from GOMAXPROCS*4 goroutines at once. Get reads one order with its
// items; ListPage reads a page of 50 confirmed orders after a random ID.
// PostgreSQL is the throwaway local server of internal/pgtest (fsync off),
// or the one of KITSHOP_TEST_POSTGRES_URL.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/orderservice/orderstore"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/productservice/productstore"
)

func BenchmarkOrderStorage(b *testing.B) {
	for _, backend := range []struct {
		name string
		url  func(b testing.TB, service string) string
	}{
		{"sqlite", func(b testing.TB, service string) string { return "sqlite:" + b.TempDir() + "/" + service + ".db" }},
		{"postgres", func(b testing.TB, _ string) string { return pgtest.URL(b) }},
	} {
		b.Run(backend.name, func(b *testing.B) {
			b.Run("CreateConfirm", func(b *testing.B) {
				orders, products, items := benchStores(b, backend.url)
				b.ResetTimer()
				for b.Loop() {
					createConfirm(b, orders, products, items)
				}
			})
			b.Run("CreateConfirmParallel", func(b *testing.B) {
				orders, products, items := benchStores(b, backend.url)
				b.SetParallelism(4)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := tryCreateConfirm(orders, products, items); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			b.Run("Get", func(b *testing.B) {
				orders, products, items := benchStores(b, backend.url)
				made := make([]string, 1000)
				for i := range made {
					made[i] = createConfirm(b, orders, products, items)
				}
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if _, err := orders.Get(context.Background(), made[i%len(made)]); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ListPage", func(b *testing.B) {
				orders, products, items := benchStores(b, backend.url)
				made := make([]string, 1000)
				for i := range made {
					made[i] = createConfirm(b, orders, products, items)
				}
				b.ResetTimer()
				rng := rand.New(rand.NewPCG(1, 2))
				for b.Loop() {
					page, err := orders.ListConfirmed(context.Background(), "", made[rng.IntN(len(made)-50)], 50)
					if err != nil || len(page) != 50 {
						b.Fatalf("page of %d, %v", len(page), err)
					}
				}
			})
		})
	}
}

// benchStores opens an order store and a product store, and makes the two
// products every order buys, with stock enough for any run.
func benchStores(b *testing.B, url func(testing.TB, string) string) (*orderstore.Store, *productstore.Store, []orderservice.OrderItem) {
	b.Helper()
	ctx := context.Background()
	orders, err := orderstore.Open(ctx, url(b, "orders"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { orders.Close() })
	products, err := productstore.Open(ctx, url(b, "products"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { products.Close() })
	var items []orderservice.OrderItem
	for i := range 2 {
		p := productservice.Product{ID: ids.New(productservice.ProductIDPrefix), Name: "widget", PriceCents: int64(100 + i),
			Stock: 1 << 40, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		if err := products.CreateProduct(ctx, p); err != nil {
			b.Fatal(err)
		}
		items = append(items, orderservice.OrderItem{ProductID: p.ID, Quantity: int64(1 + i)})
	}
	return orders, products, items
}

var benchKeys atomic.Int64

// createConfirm is one order's storage work; it returns the order's ID.
func createConfirm(b *testing.B, orders *orderstore.Store, products *productstore.Store, items []orderservice.OrderItem) string {
	b.Helper()
	id, err := tryCreateConfirm(orders, products, items)
	if err != nil {
		b.Fatal(err)
	}
	return id
}

func tryCreateConfirm(orders *orderstore.Store, products *productstore.Store, items []orderservice.OrderItem) (string, error) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	key := fmt.Sprintf("bench-%d", benchKeys.Add(1))
	r := orderservice.Record{
		Order:          orderservice.Order{ID: ids.New(orderservice.IDPrefix), UserID: "usr_bench", CreatedAt: now, Items: items},
		IdempotencyKey: key,
		RequestHash:    "h",
	}
	if err := orders.CreatePending(ctx, r); err != nil {
		return "", err
	}
	claim, err := products.ClaimIdempotencyKey(ctx, "order:"+r.ID, "h", now, now.Add(-time.Minute))
	if err != nil {
		return "", err
	}
	rsv := productservice.Reservation{ID: ids.New(productservice.ReservationIDPrefix), OrderID: r.ID,
		Status: productservice.StatusHeld, ExpiresAt: now.Add(30 * time.Second)}
	for _, it := range items {
		rsv.Items = append(rsv.Items, productservice.ReservedItem{ProductID: it.ProductID, Quantity: it.Quantity})
	}
	rsv, err = products.Reserve(ctx, claim, rsv, now)
	if err != nil {
		return "", err
	}
	if _, err := products.ConfirmReservation(ctx, rsv.ID, now); err != nil {
		return "", err
	}
	priced := make([]orderservice.OrderItem, len(rsv.Items))
	var total int64
	for i, it := range rsv.Items {
		priced[i] = orderservice.OrderItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceCents: it.UnitPriceCents}
		total += it.Quantity * it.UnitPriceCents
	}
	if err := orders.Confirm(ctx, r.ID, priced, total, rsv.ID); err != nil {
		return "", err
	}
	return r.ID, nil
}
