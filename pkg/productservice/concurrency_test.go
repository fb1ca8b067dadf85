package productservice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// These run in the storage suite, so every Store is held to them.

// testConcurrentReservations: 50 buyers of 1 unit race for a stock of 10.
func testConcurrentReservations(t *testing.T, store Store) {
	svc := NewService(store)
	p := mustCreateProduct(t, svc, "scarce", 100, 10)
	const buyers = 50
	errs := make([]error, buyers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range buyers {
		wg.Go(func() {
			<-start
			_, errs[i] = reserveOne(context.Background(), svc, fmt.Sprintf("buyer-%d", i), p.ID, 1)
		})
	}
	close(start)
	wg.Wait()
	ok, short := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, ErrInsufficientStock):
			short++
		default:
			t.Errorf("buyer %d: unexpected error %v", i, err)
		}
	}
	if ok != 10 || short != 40 {
		t.Fatalf("%d reserved, %d insufficient; want 10 and 40", ok, short)
	}
	if s := stockOf(t, svc, p.ID); s != 0 {
		t.Fatalf("stock = %d, want 0", s)
	}
	checkStockInvariant(t, svc, p.ID, 10)
}

// testConcurrentSameKey: one request retried many times at once takes the
// stock once; every answer is that one reservation or "in progress".
func testConcurrentSameKey(t *testing.T, store Store) {
	svc := NewService(store)
	p := mustCreateProduct(t, svc, "popular", 100, 10)
	const retries = 20
	results := make([]Reservation, retries)
	errs := make([]error, retries)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range retries {
		wg.Go(func() {
			<-start
			results[i], errs[i] = reserveOne(context.Background(), svc, "same-key", p.ID, 3)
		})
	}
	close(start)
	wg.Wait()
	id := ""
	for i, err := range errs {
		switch {
		case err == nil:
			if id != "" && results[i].ID != id {
				t.Fatalf("two reservations for one key: %s and %s", id, results[i].ID)
			}
			id = results[i].ID
		case errors.Is(err, ErrRequestInProgress):
		default:
			t.Fatalf("retry %d: unexpected error %v", i, err)
		}
	}
	if id == "" {
		t.Fatal("no retry got the reservation")
	}
	// Once settled, every repeat replays it.
	r, err := reserveOne(context.Background(), svc, "same-key", p.ID, 3)
	if err != nil || r.ID != id {
		t.Fatalf("replay = %s, %v; want %s", r.ID, err, id)
	}
	if s := stockOf(t, svc, p.ID); s != 7 {
		t.Fatalf("stock = %d, want 7 (taken once)", s)
	}
}

// testConcurrentRelease: many releases of one reservation at once give its
// stock back once.
func testConcurrentRelease(t *testing.T, store Store) {
	svc := NewService(store)
	p := mustCreateProduct(t, svc, "returned", 100, 10)
	r, err := reserveOne(context.Background(), svc, "k", p.ID, 4)
	if err != nil {
		t.Fatalf("reserve: %v", err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			<-start
			errs[i] = svc.ReleaseReservation(context.Background(), r.ID)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("release %d: %v", i, err)
		}
	}
	if s := stockOf(t, svc, p.ID); s != 10 {
		t.Fatalf("stock = %d, want 10 (back exactly once)", s)
	}
}

// testConcurrentConfirmReleaseExpire: a confirm, a release and the sweeper
// race on the same reservations; each ends in exactly one final state and
// the stock adds up.
func testConcurrentConfirmReleaseExpire(t *testing.T, store Store) {
	clock := newFakeClock()
	svc := NewService(store, WithClock(clock.Now), WithReservationTTL(time.Second))
	p := mustCreateProduct(t, svc, "contested", 100, 100)
	var rs []Reservation
	for i := range 20 {
		r, err := reserveOne(context.Background(), svc, fmt.Sprintf("k%d", i), p.ID, 2)
		if err != nil {
			t.Fatalf("reserve: %v", err)
		}
		rs = append(rs, r)
	}
	// Half are raced before their expiry, half after it.
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, r := range rs {
		now := clock.Now()
		if i%2 == 1 {
			now = now.Add(2 * time.Second)
		}
		wg.Go(func() {
			<-start
			if _, err := store.ConfirmReservation(context.Background(), r.ID, now); err != nil &&
				!errors.Is(err, ErrReservationExpired) {
				t.Errorf("confirm %s: %v", r.ID, err)
			}
		})
		wg.Go(func() {
			<-start
			if err := store.ReleaseReservation(context.Background(), r.ID, now); err != nil &&
				!errors.Is(err, ErrAlreadyConfirmed) {
				t.Errorf("release %s: %v", r.ID, err)
			}
		})
		wg.Go(func() {
			<-start
			if _, err := store.ExpireReservations(context.Background(), now); err != nil {
				t.Errorf("expire: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if held := reservedQuantities(t, svc, StatusHeld)[p.ID]; held != 0 {
		t.Fatalf("%d units still held after confirm and release", held)
	}
	checkStockInvariant(t, svc, p.ID, 100)
}
