package productservice

import (
	"context"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
)

// Under a steady load of reservations that end every way (released,
// expired, confirmed, refused), the rows the purge may delete stop growing
// once the TTL has passed, while every held and confirmed reservation, and
// the stock they account for, stays.
func testStorePurge(t *testing.T, store Store) {
	ctx := context.Background()
	const ttl, tick, rounds = time.Minute, 10 * time.Second, 20
	p := newProduct(t, store, 7, 1000)
	reserve := func(now, expires time.Time, qty int64) (Reservation, error) {
		key := ids.New("key")
		claim, err := store.ClaimIdempotencyKey(ctx, key, "hash-"+key, now, now.Add(-time.Minute))
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		return store.Reserve(ctx, claim, Reservation{ID: ids.New(ReservationIDPrefix), OrderID: "ord_1",
			Items: []ReservedItem{{ProductID: p.ID, Quantity: qty}}, Status: StatusHeld, ExpiresAt: expires}, now)
	}
	mustReserve := func(now, expires time.Time) Reservation {
		r, err := reserve(now, expires, 1)
		if err != nil {
			t.Fatalf("reserve: %v", err)
		}
		return r
	}
	held := mustReserve(t0, t0.Add(1000*time.Hour)) // outlives the test
	var sizes []int
	for round := 1; round <= rounds; round++ {
		now := t0.Add(time.Duration(round) * tick)
		if err := store.ReleaseReservation(ctx, mustReserve(now, now.Add(time.Minute)).ID, now); err != nil {
			t.Fatal(err)
		}
		mustReserve(now, now) // expired below
		if _, err := store.ExpireReservations(ctx, now); err != nil {
			t.Fatal(err)
		}
		if _, err := store.ConfirmReservation(ctx, mustReserve(now, now.Add(time.Minute)).ID, now); err != nil {
			t.Fatal(err)
		}
		if _, err := reserve(now, now.Add(time.Minute), 1_000_000); err == nil {
			t.Fatal("reserving more than the stock succeeded")
		}
		if _, err := store.PurgeSettled(ctx, now.Add(-ttl), 4); err != nil {
			t.Fatalf("purge: %v", err)
		}
		sizes = append(sizes, countRows(t, store, `SELECT COUNT(*) FROM idempotency_keys`)+
			countRows(t, store, `SELECT COUNT(*) FROM reservations WHERE status IN ('released', 'expired')`)+
			countRows(t, store, `SELECT COUNT(*) FROM reservation_items i JOIN reservations r ON r.id = i.reservation_id
				WHERE r.status IN ('released', 'expired')`))
	}
	// Once the TTL has passed (6 ticks, and one for the boundary), every
	// round adds as much as it purges.
	for round := int(ttl/tick) + 2; round <= rounds; round++ {
		if sizes[round-1] != sizes[rounds-1] {
			t.Fatalf("purgeable rows by round: %v; want them constant from round %d", sizes, int(ttl/tick)+2)
		}
	}
	if n := countRows(t, store, `SELECT COUNT(*) FROM reservations WHERE status = 'confirmed'`); n != rounds {
		t.Fatalf("confirmed reservations = %d, want %d", n, rounds)
	}
	if rs, err := store.ListReservations(ctx, StatusHeld, "", 10); err != nil || len(rs) != 1 || rs[0].ID != held.ID {
		t.Fatalf("held reservations = %+v, %v; want %s", rs, err, held.ID)
	}
	if got := storeStock(t, store, p.ID); got != 1000-rounds-1 {
		t.Fatalf("stock = %d, want %d", got, 1000-rounds-1)
	}
}

func countRows(t *testing.T, store Store, query string) int {
	t.Helper()
	var n int
	if err := store.(SQLStore).DB().QueryRowContext(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
