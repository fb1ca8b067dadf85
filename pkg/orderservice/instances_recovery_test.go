package orderservice_test

// Order recovery with several instances on one database: see
// instances_test.go.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
)

// Orders that crashed processes left half done, in every state recovery
// meets, are settled by the recovery loops of three instances running at
// once (RunRecovery, as ordersvc runs it): see checkSettled.
func TestRecoveryAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dbs databases) {
		c := newCluster(t, dbs)
		left := leaveHalfDone(t, c)
		loops, stop := context.WithCancel(context.Background())
		var running sync.WaitGroup
		for _, o := range c.orders {
			running.Go(func() { o.(orderservice.Recoverer).RunRecovery(loops, 5*time.Millisecond) })
		}
		c.waitSettled()
		// An instance whose last change is visible may not have had the
		// store's answer yet: stopping the loops now would cut that
		// answer off (the change stands, uncounted). Wait until every
		// order's final change is counted before stopping them.
		testkit.Eventually(t, 10*time.Second, "every order's final change counted", func() bool {
			for _, o := range left {
				if n := c.calls.of(o.id); n.confirmed+n.rejected+n.cancelled == 0 {
					return false
				}
			}
			return true
		})
		stop()
		running.Wait()
		checkSettled(t, c, left, c.calls)
		if strings.Contains(c.logs.String(), "recovery pass failed") || strings.Contains(c.logs.String(), "locked") {
			t.Errorf("a recovery pass failed:\n%s", c.logs.String())
		}
	})
}

// crashedOrder is an order a crashed process left half done, and the
// status recovery must bring it to.
type crashedOrder struct {
	name, id, want string
	product        productservice.Product
}

// halfDonePrice is the price of the products of leaveHalfDone's orders.
const halfDonePrice = 100

// leaveHalfDone stores what crashed processes leave, several orders of
// every kind, for c's user and products, and returns them.
func leaveHalfDone(t *testing.T, c *cluster) []crashedOrder {
	t.Helper()
	ctx := context.Background()
	u := c.user()
	p := c.product(halfDonePrice, 1000)
	scarce := c.product(halfDonePrice, 1)
	unknown := productservice.Product{ID: ids.New(productservice.ProductIDPrefix)}
	// Reservations made by this one expire at once: what a crash longer
	// than the reservation TTL leaves.
	lapsing := productservice.NewService(c.productStores[0], productservice.WithReservationTTL(time.Millisecond))
	cases := []struct {
		name     string
		status   string // pending or cancelling
		userID   string
		product  productservice.Product
		reserved string // "", or what became of its reservation: held, confirmed, lapsed
		want     string // the order's final status
	}{
		{"pending, nothing reserved", orderservice.StatusPending, u.ID, p, "", orderservice.StatusConfirmed},
		{"pending, reserved", orderservice.StatusPending, u.ID, p, "held", orderservice.StatusConfirmed},
		{"pending, confirmation's answer lost", orderservice.StatusPending, u.ID, p, "confirmed", orderservice.StatusConfirmed},
		{"pending, reservation lapsed", orderservice.StatusPending, u.ID, p, "lapsed", orderservice.StatusCancelled},
		{"pending, unknown user", orderservice.StatusPending, ids.New("usr"), p, "", orderservice.StatusRejected},
		{"pending, unknown product", orderservice.StatusPending, u.ID, unknown, "", orderservice.StatusRejected},
		{"pending, not enough stock", orderservice.StatusPending, u.ID, scarce, "", orderservice.StatusRejected},
		{"cancelling, reserved", orderservice.StatusCancelling, u.ID, p, "held", orderservice.StatusCancelled},
		{"cancelling, nothing reserved", orderservice.StatusCancelling, u.ID, p, "", orderservice.StatusCancelled},
		{"cancelling, confirmation's answer lost", orderservice.StatusCancelling, u.ID, p, "confirmed", orderservice.StatusConfirmed},
	}
	const perCase = 6
	var left []crashedOrder
	for _, tc := range cases {
		for range perCase {
			r := orderservice.Record{
				// Created long enough ago to be taken over at once.
				Order: orderservice.Order{ID: ids.New(orderservice.IDPrefix), UserID: tc.userID, CreatedAt: time.Now().Add(-time.Minute),
					Items: []orderservice.OrderItem{{ProductID: tc.product.ID, Quantity: 2}}},
				IdempotencyKey: ids.New("key"),
				RequestHash:    "h",
			}
			if err := c.store.CreatePending(ctx, r); err != nil {
				t.Fatal(err)
			}
			switch tc.reserved {
			case "held", "confirmed":
				rsv, err := c.products[0].Reserve(ctx, reserveFor(r))
				if err == nil && tc.reserved == "confirmed" {
					_, err = c.products[0].ConfirmReservation(ctx, rsv.ID)
				}
				if err != nil {
					t.Fatal(err)
				}
			case "lapsed":
				if _, err := lapsing.Reserve(ctx, reserveFor(r)); err != nil {
					t.Fatal(err)
				}
			}
			if tc.status == orderservice.StatusCancelling {
				if err := c.store.MarkCancelling(ctx, r.ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			left = append(left, crashedOrder{name: tc.name, id: r.ID, want: tc.want, product: tc.product})
		}
	}
	return left
}

// waitSettled waits, within a bound, until no order is pending or
// cancelling.
func (c *cluster) waitSettled() {
	c.t.Helper()
	testkit.Eventually(c.t, 15*time.Second, "the recovery loops to settle every order", func() bool {
		u, err := c.store.CountUnresolved(context.Background())
		return err == nil && u == orderservice.Unresolved{}
	})
}

// checkSettled checks what the instances made of the orders left: each
// order got exactly one final state change (never confirmed and rejected
// or cancelled) and the status it should have; it has at most one
// reservation, confirmed if and only if the order is; the instances
// confirmed its reservation only if the order ended confirmed, and
// released it only if the order ended cancelled; and for every product,
// initial stock = current stock + confirmed orders + held reservations
// (cluster.checkStock): its stock was taken once and, if undone, came back
// once.
func checkSettled(t *testing.T, c *cluster, left []crashedOrder, calls *settleCalls) {
	t.Helper()
	ctx := context.Background()
	reservations := c.reservations()
	raced := 0
	products := map[string]productservice.Product{}
	for _, o := range left {
		got, err := c.store.Get(ctx, o.id)
		if err != nil {
			t.Fatal(err)
		}
		n := calls.of(o.id)
		final := map[string]int{orderservice.StatusConfirmed: n.confirmed, orderservice.StatusRejected: n.rejected,
			orderservice.StatusCancelled: n.cancelled}
		if got.Status != o.want || final[o.want] != 1 || n.confirmed+n.rejected+n.cancelled != 1 || n.markedCancelling != 0 {
			t.Errorf("%s: order %s is %s (want %s) after confirm x%d, reject x%d, cancel x%d, mark cancelling x%d; want one final change",
				o.name, o.id, got.Status, o.want, n.confirmed, n.rejected, n.cancelled, n.markedCancelling)
		}
		if (n.reservationConfirmed > 0 && got.Status != orderservice.StatusConfirmed) ||
			(n.reservationReleased > 0 && got.Status != orderservice.StatusCancelled) {
			t.Errorf("%s: order %s is %s, yet its reservation was confirmed x%d, released x%d",
				o.name, o.id, got.Status, n.reservationConfirmed, n.reservationReleased)
		}
		rs := reservations[o.id]
		switch {
		case len(rs) > 1:
			t.Errorf("%s: order %s has %d reservations, want at most one", o.name, o.id, len(rs))
		case got.Status == orderservice.StatusConfirmed:
			if len(rs) != 1 || rs[0].Status != productservice.StatusConfirmed || got.ReservationID != rs[0].ID || got.TotalCents != 2*halfDonePrice {
				t.Errorf("%s: confirmed order %+v with reservations %+v", o.name, got, rs)
			}
		case len(rs) == 1 && (rs[0].Status == productservice.StatusHeld || rs[0].Status == productservice.StatusConfirmed):
			t.Errorf("%s: %s order %s keeps a %s reservation", o.name, got.Status, o.id, rs[0].Status)
		}
		at := 0
		for _, called := range n.instances {
			if called {
				at++
			}
		}
		if at > 1 {
			raced++
		}
		if o.product.Stock > 0 {
			products[o.product.ID] = o.product
		}
	}
	for _, p := range products {
		c.checkStock(p)
	}
	t.Logf("%d orders settled; %d of them had two or three instances at them", len(left), raced)
}
