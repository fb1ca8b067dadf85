package orderservice_test

// The purge with several instances on one database: see instances_test.go.

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/orderservice/orderstore"
)

// Three instances purge one order database at once (two passes at once
// on each, in small batches), while they make, confirm, reject and cancel
// orders: every rejected and cancelled order past the TTL is deleted once
// and every settled confirmed order's key cleared once (the counts add up
// to exactly what was due), and nothing else: unresolved orders, young
// ones, confirmed orders and every kept order's lines stay.
func TestPurgeAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dbs databases) {
		ctx := context.Background()
		stores := make([]*orderstore.Store, instances)
		errs := make([]error, instances)
		var wg sync.WaitGroup
		for i := range instances {
			wg.Go(func() { stores[i], errs[i] = orderstore.Open(ctx, dbs.orders) })
		}
		wg.Wait()
		for i := range instances {
			if errs[i] != nil {
				t.Fatalf("instance %d: %v", i, errs[i])
			}
			t.Cleanup(func() { stores[i].Close() })
		}
		old, cut, young := storeT0, storeT0.Add(time.Hour), storeT0.Add(2*time.Hour)
		setup := openOrderStore(t, dbs.orders)
		now := old
		setup.SetClock(func() time.Time { return now })
		for _, s := range stores {
			s.SetClock(func() time.Time { return young })
		}
		priced := []orderservice.OrderItem{{ProductID: "prd_a", Quantity: 1, UnitPriceCents: 5}, {ProductID: "prd_b", Quantity: 2, UnitPriceCents: 7}}
		create := func(s *orderstore.Store, key string, at time.Time) orderservice.Record {
			r := pendingRecord(key, item("prd_a", 1), item("prd_b", 2))
			r.CreatedAt = at
			if err := s.CreatePending(ctx, r); err != nil {
				t.Errorf("create: %v", err)
			}
			return r
		}
		settle := func(s *orderstore.Store, r orderservice.Record, status string) {
			var err error
			switch status {
			case orderservice.StatusRejected:
				err = s.Reject(ctx, r.ID, "insufficient_stock", "none left")
			case orderservice.StatusCancelled:
				err = s.Cancel(ctx, r.ID)
			case orderservice.StatusCancelling:
				err = s.MarkCancelling(ctx, r.ID, "")
			case orderservice.StatusConfirmed:
				err = s.Confirm(ctx, r.ID, priced, 19, ids.New("rsv"))
			}
			if err != nil {
				t.Errorf("%s: %v", status, err)
			}
		}
		type batch struct {
			status string
			keyed  bool
			n      int
		}
		var purgedKey string // the key of a rejected order to purge
		made := func(batches ...batch) int {
			total := 0
			for _, b := range batches {
				for range b.n {
					key := ""
					if b.keyed {
						key = ids.New("key")
					}
					r := create(setup, key, now)
					settle(setup, r, b.status)
					if b.status == orderservice.StatusRejected && now.Equal(old) {
						purgedKey = key
					}
				}
				total += b.n
			}
			return total
		}
		made(batch{orderservice.StatusRejected, true, 40}, batch{orderservice.StatusCancelled, true, 30},
			batch{orderservice.StatusConfirmed, true, 25}, batch{orderservice.StatusConfirmed, false, 5},
			batch{orderservice.StatusPending, true, 5}, batch{orderservice.StatusCancelling, true, 5})
		now = young
		youngKeyed := made(batch{orderservice.StatusRejected, true, 10}, batch{orderservice.StatusConfirmed, true, 10})
		made(batch{orderservice.StatusCancelled, true, 5})
		const wantOrders, wantKeys, total = 40 + 30, 25, 40 + 30 + 25 + 5 + 5 + 5 + 10 + 5 + 10
		if t.Failed() {
			t.FailNow()
		}

		var orders, keys atomic.Int64
		start := make(chan struct{})
		for _, s := range stores {
			for range 2 {
				wg.Go(func() {
					<-start
					p, err := s.Purge(ctx, cut, 7)
					if err != nil {
						t.Errorf("purge: %v", err)
					}
					orders.Add(int64(p.Orders))
					keys.Add(int64(p.Keys))
				})
			}
			// Live work meanwhile: made and settled now (young), it is never due.
			wg.Go(func() {
				<-start
				for _, status := range []string{orderservice.StatusRejected, orderservice.StatusCancelled, orderservice.StatusConfirmed, orderservice.StatusPending} {
					settle(s, create(s, ids.New("key"), young), status)
				}
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		if orders.Load() != wantOrders || keys.Load() != wantKeys {
			t.Fatalf("purged %d orders and cleared %d keys in all, want %d and %d: each once", orders.Load(), keys.Load(), wantOrders, wantKeys)
		}
		count := func(query string) int {
			t.Helper()
			var n int
			if err := setup.DB().QueryRowContext(ctx, query).Scan(&n); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			return n
		}
		kept := total - wantOrders + instances*4
		if n := count(`SELECT COUNT(*) FROM orders`); n != kept {
			t.Fatalf("%d orders left, want %d", n, kept)
		}
		if n := count(`SELECT COUNT(*) FROM order_items`); n != 2*kept {
			t.Fatalf("%d order lines left, want the %d of the kept orders", n, 2*kept)
		}
		if n := count(`SELECT COUNT(*) FROM orders WHERE status IN ('rejected', 'cancelled') AND updated_at < ` +
			fmt.Sprint(cut.UnixMicro())); n != 0 {
			t.Fatalf("%d rejected or cancelled orders past the TTL left", n)
		}
		// Kept keys: the young orders', the unresolved ones', the live ones'
		// (a cancelled order frees its key at once).
		if n, want := count(`SELECT COUNT(*) FROM orders WHERE idempotency_key IS NOT NULL`), youngKeyed+5+5+instances*3; n != want {
			t.Fatalf("%d keys left, want %d", n, want)
		}
		if n := count(`SELECT COUNT(*) FROM orders WHERE status = 'confirmed'`); n != 25+5+10+instances {
			t.Fatalf("%d confirmed orders, want every one kept", n)
		}
		if err := setup.CreatePending(ctx, pendingRecord(purgedKey, item("prd_a", 1))); err != nil {
			t.Fatalf("the key of a purged order is not free: %v", err)
		}
		if again, err := stores[2].Purge(ctx, cut, 7); err != nil || again != (orderservice.Purged{}) {
			t.Fatalf("a second purge = %+v, %v; want nothing left to purge", again, err)
		}
	})
}
