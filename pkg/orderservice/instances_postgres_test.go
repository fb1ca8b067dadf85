package orderservice_test

// What only a real PostgreSQL server exercises: a session killed
// mid-transaction, and several ordersvc instances on one database.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/productservice/productstore"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/pkg/userservice/userstore"
)

// A session killed while confirming an order (its status already changed,
// its items half replaced, waiting for a row lock) commits nothing: the
// order is pending with its requested items, and confirms on a retry.
func TestPostgresSessionKilledMidConfirm(t *testing.T) {
	url := pgtest.URL(t)
	s := openOrderStore(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := pendingRecord("k", item("prd_a", 2), item("prd_b", 3))
	if err := s.CreatePending(ctx, r); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	locker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(context.Background())
	blocker, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.Background())
	// Confirm updates the order row, then replaces its items: hold one
	// item row so that it stops there.
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM order_items WHERE order_id = $1 AND line = 1 FOR UPDATE`, r.ID); err != nil {
		t.Fatal(err)
	}
	priced := []orderservice.OrderItem{{ProductID: "prd_a", Quantity: 2, UnitPriceCents: 5}, {ProductID: "prd_b", Quantity: 3, UnitPriceCents: 7}}
	done := make(chan error, 1)
	go func() { done <- s.Confirm(ctx, r.ID, priced, 31, "rsv_1") }()

	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for admin.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
		AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE 'DELETE FROM order_items%'`).Scan(&pid) != nil {
		if time.Now().After(deadline) {
			t.Fatal("Confirm never waited for the locked item")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	err = <-done
	// A session the server terminated is storage gone for now: 503.
	if e := kitshop.AsError(err); err == nil || e.Code != kitshop.CodeUnavailable || e.RetryAfter <= 0 {
		t.Fatalf("Confirm on a killed session = %v, want unavailable with Retry-After", err)
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, r.ID)
	if err != nil || got.Status != orderservice.StatusPending || got.TotalCents != 0 || got.ReservationID != "" ||
		len(got.Items) != 2 || got.Items[0] != r.Items[0] || got.Items[1] != r.Items[1] {
		t.Fatalf("after the killed Confirm: %+v, %v; want it pending as created", got, err)
	}
	if err := s.Confirm(ctx, r.ID, priced, 31, "rsv_1"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got, err := s.Get(ctx, r.ID); err != nil || got.Status != orderservice.StatusConfirmed || got.TotalCents != 31 {
		t.Fatalf("after the retry: %+v, %v", got, err)
	}
}

// Two ordersvc instances on one database run recovery at once over orders
// that crashed processes left half done: every pending order is confirmed
// once and takes its stock once, every cancelling one is undone once.
func TestPostgresRecoveryOnTwoInstances(t *testing.T) {
	ctx := context.Background()
	userStore, err := userstore.Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer userStore.Close()
	productStore, err := productstore.Open(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer productStore.Close()
	users := userservice.NewService(userStore)
	products := productservice.NewService(productStore)
	orderURL := pgtest.URL(t)
	// The instances' clock runs 2s ahead, so what the crashed processes
	// below leave is past the 1s orphan age at once.
	ahead := orderservice.WithClock(func() time.Time { return time.Now().Add(2 * time.Second) })
	instances := []orderservice.Recoverer{
		orderservice.NewService(openOrderStore(t, orderURL), users, products, orderservice.WithOrphanAge(time.Second), ahead).(orderservice.Recoverer),
		orderservice.NewService(openOrderStore(t, orderURL), users, products, orderservice.WithOrphanAge(time.Second), ahead).(orderservice.Recoverer),
	}
	store := openOrderStore(t, orderURL)

	u, err := users.CreateUser(ctx, userservice.CreateUserRequest{Name: "Ada", Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	const initial = 100
	p, err := products.CreateProduct(ctx, productservice.CreateProductRequest{Name: "Widget", PriceCents: 100, Stock: initial})
	if err != nil {
		t.Fatal(err)
	}
	// What crashed processes left: pending orders, some with their stock
	// reserved already, and cancelling orders holding a reservation.
	const pending, cancelling = 12, 6
	var pendingIDs, cancellingIDs []string
	for i := range pending + cancelling {
		r := orderservice.Record{
			Order: orderservice.Order{ID: ids.New(orderservice.IDPrefix), UserID: u.ID, CreatedAt: time.Now().Add(-time.Minute),
				Items: []orderservice.OrderItem{{ProductID: p.ID, Quantity: 2}}},
			IdempotencyKey: fmt.Sprintf("crash-%d", i),
			RequestHash:    "h",
		}
		if err := store.CreatePending(ctx, r); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 || i >= pending {
			if _, err := products.Reserve(ctx, reserveFor(r)); err != nil {
				t.Fatal(err)
			}
		}
		if i >= pending {
			if err := store.MarkCancelling(ctx, r.ID, ""); err != nil {
				t.Fatal(err)
			}
			cancellingIDs = append(cancellingIDs, r.ID)
		} else {
			pendingIDs = append(pendingIDs, r.ID)
		}
	}

	var wg sync.WaitGroup
	for _, o := range instances {
		for range 2 {
			wg.Go(func() {
				for range 3 {
					if _, err := o.Recover(ctx); err != nil {
						t.Errorf("Recover: %v", err)
					}
				}
			})
		}
	}
	wg.Wait()
	// Whatever one pass left "in progress" on the other instance, one more
	// settles.
	if _, err := instances[0].Recover(ctx); err != nil {
		t.Fatal(err)
	}

	for _, id := range pendingIDs {
		if r, err := store.Get(ctx, id); err != nil || r.Status != orderservice.StatusConfirmed || r.TotalCents != 200 {
			t.Errorf("orphaned pending order %s: %+v, %v; want confirmed", id, r.Status, err)
		}
	}
	for _, id := range cancellingIDs {
		if r, err := store.Get(ctx, id); err != nil || r.Status != orderservice.StatusCancelled {
			t.Errorf("cancelling order %s: %+v, %v; want cancelled", id, r.Status, err)
		}
	}
	confirmed, err := productStore.ListReservations(ctx, productservice.StatusConfirmed, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	held, err := productStore.ListReservations(ctx, productservice.StatusHeld, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(confirmed) != pending || len(held) != 0 {
		t.Fatalf("%d confirmed and %d held reservations, want %d and 0", len(confirmed), len(held), pending)
	}
	got, err := products.GetProduct(ctx, p.ID)
	if err != nil || got.Stock != initial-2*pending {
		t.Fatalf("stock %d (%v), want %d: each confirmed order took its stock once", got.Stock, err, initial-2*pending)
	}
}
