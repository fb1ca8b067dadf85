package orderservice_test

// What only a real PostgreSQL server exercises: a session killed
// mid-transaction. Several ordersvc instances on one database, on either
// engine, are instances_test.go's.

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
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
