package productservice

// The purge of settled records with several instances on one database:
// see instances_test.go.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
)

// Three instances purge one database at once (two passes at once on
// each, in small batches), while live reservations are made and released:
// every settled idempotency record and ended reservation is deleted once
// (the counts add up to exactly what was due), and nothing live goes:
// young records, the reservations they refer to, held and confirmed
// reservations with their lines, and the stock.
func TestPurgeAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		stores := openInstances(t, url, 3)
		ctx := context.Background()
		store := stores[0]
		old, cut, young := t0, t0.Add(time.Hour), t0.Add(2*time.Hour)
		p := newProduct(t, store, 100, 100_000)
		none := newProduct(t, store, 100, 0)
		reserve := func(at, expires time.Time, product string) (Reservation, error) {
			key := ids.New("key")
			claim, err := store.ClaimIdempotencyKey(ctx, key, "hash-"+key, at, at.Add(-time.Minute))
			if err != nil {
				t.Fatalf("claim: %v", err)
			}
			return store.Reserve(ctx, claim, Reservation{ID: ids.New(ReservationIDPrefix), OrderID: ids.New("ord"),
				Items:  []ReservedItem{{ProductID: product, Quantity: 1}, {ProductID: product, Quantity: 2}},
				Status: StatusHeld, ExpiresAt: expires}, at)
		}
		mustReserve := func(at, expires time.Time) Reservation {
			t.Helper()
			r, err := reserve(at, expires, p.ID)
			if err != nil {
				t.Fatalf("reserve: %v", err)
			}
			return r
		}
		const released, expired, confirmed, held, refused, abandoned, youngReleased, youngClaims = 40, 30, 20, 10, 15, 10, 10, 5
		var live []string // reservations that must stay
		for range released {
			if err := store.ReleaseReservation(ctx, mustReserve(old, old.Add(time.Minute)).ID, old); err != nil {
				t.Fatal(err)
			}
		}
		for range expired {
			mustReserve(old, old.Add(time.Second))
		}
		if n, err := store.ExpireReservations(ctx, old.Add(time.Second)); err != nil || n != expired {
			t.Fatalf("expire = %d, %v; want %d", n, err, expired)
		}
		for range confirmed {
			r := mustReserve(old, old.Add(time.Minute))
			if _, err := store.ConfirmReservation(ctx, r.ID, old); err != nil {
				t.Fatal(err)
			}
			live = append(live, r.ID)
		}
		for range held {
			live = append(live, mustReserve(old, old.Add(1000*time.Hour)).ID)
		}
		for range refused {
			if _, err := reserve(old, old.Add(time.Minute), none.ID); !errors.Is(err, ErrInsufficientStock) {
				t.Fatalf("reserve with no stock: %v", err)
			}
		}
		for i := range abandoned {
			if _, err := store.ClaimIdempotencyKey(ctx, fmt.Sprintf("abandoned-%d", i), "h", old, old.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		for range youngReleased {
			r := mustReserve(young, young.Add(time.Minute))
			if err := store.ReleaseReservation(ctx, r.ID, young); err != nil {
				t.Fatal(err)
			}
			live = append(live, r.ID)
		}
		for i := range youngClaims {
			if _, err := store.ClaimIdempotencyKey(ctx, fmt.Sprintf("young-%d", i), "h", young, young.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		wantKeys := released + expired + confirmed + held + refused + abandoned
		wantReservations := released + expired
		stockBefore := storeStock(t, store, p.ID)

		var keys, reservations atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, s := range stores {
			for range 2 {
				wg.Go(func() {
					<-start
					got, err := s.PurgeSettled(ctx, cut, 7)
					if err != nil {
						t.Errorf("purge: %v", err)
					}
					keys.Add(int64(got.IdempotencyKeys))
					reservations.Add(int64(got.Reservations))
				})
			}
		}
		// Live work meanwhile, on every instance: made and released now
		// (young), it is never due.
		var liveMu sync.Mutex
		for i, s := range stores {
			wg.Go(func() {
				<-start
				for j := range 5 {
					key := fmt.Sprintf("live-%d-%d", i, j)
					claim, err := s.ClaimIdempotencyKey(ctx, key, "h", young, young.Add(-time.Minute))
					if err != nil {
						t.Errorf("claim during the purge: %v", err)
						return
					}
					r, err := s.Reserve(ctx, claim, Reservation{ID: ids.New(ReservationIDPrefix), OrderID: key,
						Items: []ReservedItem{{ProductID: p.ID, Quantity: 1}}, Status: StatusHeld, ExpiresAt: young.Add(time.Minute)}, young)
					if err == nil && j%2 == 0 {
						err = s.ReleaseReservation(ctx, r.ID, young)
					}
					if err != nil {
						t.Errorf("reservation during the purge: %v", err)
						return
					}
					liveMu.Lock()
					live = append(live, r.ID)
					liveMu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if int(keys.Load()) != wantKeys || int(reservations.Load()) != wantReservations {
			t.Fatalf("purged %d keys and %d reservations in all, want %d and %d: each once",
				keys.Load(), reservations.Load(), wantKeys, wantReservations)
		}
		liveKeys := youngReleased + youngClaims + 3*5
		if n := countRows(t, store, `SELECT COUNT(*) FROM idempotency_keys`); n != liveKeys {
			t.Fatalf("%d idempotency records left, want the %d young ones", n, liveKeys)
		}
		all, err := stores[1].ListReservations(ctx, "", "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, r := range all {
			left = append(left, r.ID)
			if len(r.Items) == 0 {
				t.Errorf("reservation %s (%s) lost its lines", r.ID, r.Status)
			}
		}
		slices.Sort(left)
		slices.Sort(live)
		if !slices.Equal(left, live) {
			t.Fatalf("reservations left: %d, want the %d live ones", len(left), len(live))
		}
		if n := countRows(t, store, `SELECT COUNT(*) FROM reservation_items WHERE reservation_id NOT IN (SELECT id FROM reservations)`); n != 0 {
			t.Fatalf("%d lines of purged reservations left", n)
		}
		// 3 instances made 5 live reservations of 1 each, and released 3 each.
		if s := storeStock(t, store, p.ID); s != stockBefore-3*2 {
			t.Fatalf("stock %d, want %d: the purge changes no stock", s, stockBefore-3*2)
		}
		again, err := stores[2].PurgeSettled(ctx, cut, 7)
		if err != nil || again != (Purged{}) {
			t.Fatalf("a second purge = %+v, %v; want nothing left to purge", again, err)
		}
	})
}
