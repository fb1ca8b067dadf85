package productservice

// Reservation expiry with several instances on one database: see
// instances_test.go.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/testkit"
)

// Three instances' expiry passes (two at once on each), and releases and
// confirmations from all three, race over the same expired reservations:
// each reservation ends once, its stock comes back once, and the passes'
// counts add up to no more than the reservations expired.
func TestExpiryAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		stores := openInstances(t, url, 3)
		clock := newFakeClock()
		svc := NewService(stores[0], WithClock(clock.Now), WithReservationTTL(time.Second))
		const initial, n = 1000, 120
		p := mustCreateProduct(t, svc, "swept", 100, initial)
		var rs []Reservation
		for i := range n {
			r, err := reserveOne(context.Background(), svc, fmt.Sprintf("k%d", i), p.ID, 2)
			if err != nil {
				t.Fatalf("reserve: %v", err)
			}
			rs = append(rs, r)
		}
		later := clock.Now().Add(2 * time.Second) // all of them are past their expiry
		var wg sync.WaitGroup
		var swept atomic.Int64
		start := make(chan struct{})
		for _, s := range stores {
			for range 2 {
				wg.Go(func() {
					<-start
					k, err := s.ExpireReservations(context.Background(), later)
					if err != nil {
						t.Errorf("expire: %v", err)
					}
					swept.Add(int64(k))
				})
			}
		}
		// Meanwhile confirmations (refused: expired) and releases of some.
		for i, r := range rs {
			if i%3 != 0 {
				continue
			}
			s := stores[i%len(stores)]
			wg.Go(func() {
				<-start
				if _, err := s.ConfirmReservation(context.Background(), r.ID, later); !errors.Is(err, ErrReservationExpired) {
					t.Errorf("confirm of an expired reservation: %v", err)
				}
			})
			wg.Go(func() {
				<-start
				if err := s.ReleaseReservation(context.Background(), r.ID, later); err != nil {
					t.Errorf("release: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		counts := statusCounts(t, stores[1])
		if counts[StatusHeld] != 0 || counts[StatusConfirmed] != 0 || counts[StatusReleased]+counts[StatusExpired] != n {
			t.Fatalf("final states %v, want all %d released or expired", counts, n)
		}
		// Confirmations may expire some on the spot: the passes count the rest.
		if int(swept.Load()) > counts[StatusExpired] {
			t.Fatalf("the expiry passes counted %d expirations, %d reservations are expired", swept.Load(), counts[StatusExpired])
		}
		if s := stockOf(t, svc, p.ID); s != initial {
			t.Fatalf("stock %d, want %d: every reservation's stock back exactly once", s, initial)
		}
	})
}

// statusCounts counts the reservations of each status.
func statusCounts(t *testing.T, store Store) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, status := range []string{StatusHeld, StatusConfirmed, StatusReleased, StatusExpired} {
		list, err := store.ListReservations(context.Background(), status, "", 10000)
		if err != nil {
			t.Fatal(err)
		}
		counts[status] = len(list)
	}
	return counts
}

// Three instances each run their expiry sweeper (RunExpirySweeper, as
// productsvc does) over many reservations that are past their expiry, of
// two products, while clients release some through any instance: every
// reservation ends once, the sweepers' counts add up to exactly the
// reservations expired (none twice), and for every product initial stock
// = current stock + held + confirmed. No sweeper pass fails.
func TestExpirySweepersAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		stores := openInstances(t, url, 3)
		clock := newFakeClock()
		svcs := make([]Service, len(stores))
		for i, s := range stores {
			svcs[i] = NewService(s, WithClock(clock.Now), WithReservationTTL(time.Second))
		}
		const initial, n = 10_000, 150
		a := mustCreateProduct(t, svcs[0], "a", 100, initial)
		b := mustCreateProduct(t, svcs[1], "b", 250, initial)
		rs := make([]Reservation, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				items := []ReserveItem{{ProductID: a.ID, Quantity: 1 + int64(i%3)}}
				if i%2 == 0 {
					items = append(items, ReserveItem{ProductID: b.ID, Quantity: 1 + int64(i%5)})
				}
				var err error
				rs[i], err = svcs[i%3].Reserve(context.Background(), ReserveRequest{
					IdempotencyKey: fmt.Sprintf("k%d", i), OrderID: fmt.Sprintf("ord_%d", i), Items: items})
				if err != nil {
					t.Errorf("reserve %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		// A fifth are confirmed in time; the rest outlive their expiry.
		confirmed := 0
		for i, r := range rs {
			if i%5 == 0 {
				if _, err := svcs[(i+1)%3].ConfirmReservation(context.Background(), r.ID); err != nil {
					t.Fatalf("confirm: %v", err)
				}
				confirmed++
			}
		}
		clock.Advance(2 * time.Second)

		var logs testkit.LogSink
		logger := log.NewLogfmtLogger(&logs)
		ctx, cancel := context.WithCancel(context.Background())
		sweepers := make([]*countingExpirer, len(stores))
		var running sync.WaitGroup
		for i, s := range stores {
			sweepers[i] = &countingExpirer{ReservationExpirer: s}
			running.Go(func() { RunExpirySweeper(ctx, sweepers[i], 5*time.Millisecond, clock.Now, logger) })
		}
		released := 0
		for i, r := range rs {
			if i%5 == 1 {
				released++
				wg.Go(func() {
					if err := svcs[(i+2)%3].ReleaseReservation(context.Background(), r.ID); err != nil {
						t.Errorf("release of a held or expired reservation: %v", err)
					}
				})
			}
		}
		wg.Wait()
		waitFor(t, 10*time.Second, "the sweepers to expire every held reservation", func() bool {
			held, err := stores[0].ListReservations(context.Background(), StatusHeld, "", 1)
			return err == nil && len(held) == 0
		})
		// A sweeper whose last commit is visible may not have had its
		// answer yet: stopping it now would cut that answer off (the
		// expiry stands, uncounted). Wait for the counts to catch up; a
		// reservation expired twice would keep them apart for good.
		sweptSoFar := func() int {
			total := 0
			for _, s := range sweepers {
				_, n := s.counts()
				total += n
			}
			return total
		}
		waitFor(t, 10*time.Second, "the sweepers' counts to reach the expired reservations", func() bool {
			return sweptSoFar() == statusCounts(t, stores[2])[StatusExpired]
		})
		cancel()
		running.Wait()

		counts := statusCounts(t, stores[2])
		swept, perInstance := 0, make([]int, len(sweepers))
		for i, s := range sweepers {
			_, perInstance[i] = s.counts()
			swept += perInstance[i]
		}
		if counts[StatusConfirmed] != confirmed || counts[StatusReleased] > released ||
			counts[StatusReleased]+counts[StatusExpired] != n-confirmed {
			t.Fatalf("final states %v; want %d confirmed, at most %d released, the rest expired", counts, confirmed, released)
		}
		if swept != counts[StatusExpired] {
			t.Fatalf("the sweepers counted %d expirations, %d reservations are expired: want each expired once", swept, counts[StatusExpired])
		}
		if strings.Contains(logs.String(), "level=error") {
			t.Fatalf("a sweeper pass failed:\n%s", logs.String())
		}
		checkStockInvariant(t, svcs[0], a.ID, initial)
		checkStockInvariant(t, svcs[1], b.ID, initial)
		t.Logf("sweepers expired %d reservations (per instance %v); %d released, %d confirmed", swept,
			perInstance, counts[StatusReleased], confirmed)
	})
}
