package orderservice_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/sqldb"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/orderservice/orderstore"
)

// Under a steady load of orders that end every way, the rows the purge may
// delete or clear stop growing once the TTL has passed; confirmed and
// unresolved orders all stay, and a key whose record is gone is free.
func testOrderPurge(t *testing.T, url string) {
	s := openOrderStore(t, url)
	ctx := context.Background()
	const ttl, tick, rounds = time.Minute, 10 * time.Second, 20
	now := storeT0
	s.SetClock(func() time.Time { return now })
	db, err := sqldb.Open(ctx, url, orderstore.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	count := func(query string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	create := func(key string) orderservice.Record {
		t.Helper()
		r := pendingRecord(key, item("prd_a", 1), item("prd_b", 2))
		r.CreatedAt = now
		if err := s.CreatePending(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	unresolved := create("unresolved")
	var firstRejected orderservice.Record
	var sizes []int
	for round := 1; round <= rounds; round++ {
		now = storeT0.Add(time.Duration(round) * tick)
		rejected := create(ids.New("key"))
		if err := s.Reject(ctx, rejected.ID, "insufficient_stock", "none left"); err != nil {
			t.Fatal(err)
		}
		if round == 1 {
			firstRejected = rejected
		}
		if err := s.Cancel(ctx, create(ids.New("key")).ID); err != nil {
			t.Fatal(err)
		}
		if err := s.Confirm(ctx, create(ids.New("key")).ID, []orderservice.OrderItem{{ProductID: "prd_a", Quantity: 1, UnitPriceCents: 5}}, 5, "rsv"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Purge(ctx, now.Add(-ttl), 3); err != nil {
			t.Fatalf("purge: %v", err)
		}
		sizes = append(sizes, count(`SELECT COUNT(*) FROM orders WHERE status IN ('rejected', 'cancelled')`)+
			count(`SELECT COUNT(*) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.status IN ('rejected', 'cancelled')`)+
			count(`SELECT COUNT(*) FROM orders WHERE idempotency_key IS NOT NULL`))
	}
	for round := int(ttl/tick) + 2; round <= rounds; round++ {
		if sizes[round-1] != sizes[rounds-1] {
			t.Fatalf("purgeable rows by round: %v; want them constant from round %d", sizes, int(ttl/tick)+2)
		}
	}
	if n := count(`SELECT COUNT(*) FROM orders WHERE status = 'confirmed'`); n != rounds {
		t.Fatalf("confirmed orders = %d, want %d", n, rounds)
	}
	if r, err := s.Get(ctx, unresolved.ID); err != nil || r.Status != orderservice.StatusPending {
		t.Fatalf("unresolved order = %+v, %v; want it kept, pending", r, err)
	}
	if _, err := s.GetByKey(ctx, firstRejected.IdempotencyKey); !errors.Is(err, orderservice.ErrNotFound) {
		t.Fatalf("key of a purged order: %v, want ErrNotFound", err)
	}
	if err := s.CreatePending(ctx, pendingRecord(firstRejected.IdempotencyKey, item("prd_a", 1))); err != nil {
		t.Fatalf("reusing a purged key: %v", err)
	}
}
