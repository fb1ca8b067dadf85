package orderservice_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
)

// hugeProduct stores a product at the int64 maximum price, as a product
// stored before prices were bounded may be.
func (s *shop) hugeProduct(stock int64) productservice.Product {
	s.t.Helper()
	p := productservice.Product{ID: ids.New(productservice.ProductIDPrefix), Name: "Old", PriceCents: 1<<63 - 1,
		Stock: stock, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := s.productStore.CreateProduct(context.Background(), p); err != nil {
		s.t.Fatal(err)
	}
	return p
}

func (s *shop) unresolved() orderservice.Unresolved {
	s.t.Helper()
	u, err := s.store.CountUnresolved(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

func TestOrderWhoseTotalOverflowsIsRefusedAndReservesNothing(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.hugeProduct(10)
	ctx := context.Background()
	for attempt := 0; attempt < 2; attempt++ {
		_, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 2)))
		if e := wantCode(t, err, kitshop.CodeInvalidArgument); !strings.HasPrefix(e.Message, "items[0].quantity: ") {
			t.Fatalf("attempt %d: message %q, want it to name items[0].quantity", attempt, e.Message)
		}
	}
	if s.stock(p.ID) != 10 || s.held(p.ID) != 0 {
		t.Fatalf("stock %d held %d, want 10 and 0", s.stock(p.ID), s.held(p.ID))
	}
	if un := s.unresolved(); un != (orderservice.Unresolved{}) {
		t.Fatalf("unresolved orders: %+v, want none", un)
	}
}

// A product service that prices an order past int64 (an older version,
// say) gets its reservation released: the order is never confirmed.
func TestOrderWhoseReservedTotalOverflowsIsUndone(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 10)
	ctx := context.Background()
	s.faults.set(func(f *faultyProducts) { f.overprice = true })
	_, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 2)))
	if e := wantCode(t, err, kitshop.CodeInvalidArgument); !strings.HasPrefix(e.Message, "items[0].quantity: ") {
		t.Fatalf("message %q, want it to name items[0].quantity", e.Message)
	}
	if s.stock(p.ID) != 10 || s.held(p.ID) != 0 {
		t.Fatalf("stock %d held %d, want 10 and 0", s.stock(p.ID), s.held(p.ID))
	}
	if orders, _, _ := s.orders.ListOrders(ctx, "", "", 10); len(orders) != 0 {
		t.Fatalf("orders = %+v, want none confirmed", orders)
	}
	if un := s.unresolved(); un != (orderservice.Unresolved{}) {
		t.Fatalf("unresolved orders: %+v, want none", un)
	}
}

// Orders the recovery loop cannot settle are put back by a growing delay
// each, so they never fill its batch for good: a real half-done order
// behind 150 of them is settled within a few passes.
func TestRecoveryIsNotStarvedByOrdersItCannotSettle(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 10)
	ctx := context.Background()
	poison := map[string]bool{}
	for i := 0; i < 150; i++ {
		r := orphanable(s, u.ID, p)
		poison[r.ID] = true
		s.clock.Advance(time.Millisecond)
	}
	real := orphanable(s, u.ID, p)
	s.faults.set(func(f *faultyProducts) { f.poison = func(id string) bool { return poison[id] } })
	s.clock.Advance(7 * time.Second) // all of them orphaned

	for pass := 1; ; pass++ {
		if _, err := s.recover(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := s.store.Get(ctx, real.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == orderservice.StatusConfirmed {
			break
		}
		if pass == 3 {
			t.Fatalf("after %d passes the real order is still %s", pass, r.Status)
		}
		s.clock.Advance(time.Second)
	}
	if s.stock(p.ID) != 9 {
		t.Fatalf("stock = %d, want 9", s.stock(p.ID))
	}
}

func orphanable(s *shop, userID string, p productservice.Product) orderservice.Record {
	s.t.Helper()
	now := s.clock.Now().UTC().Truncate(time.Microsecond)
	r := orderservice.Record{
		Order: orderservice.Order{ID: ids.New(orderservice.IDPrefix), UserID: userID, Status: orderservice.StatusPending,
			Items: []orderservice.OrderItem{{ProductID: p.ID, Quantity: 1}}, CreatedAt: now},
		RequestHash: "h",
		UpdatedAt:   now,
	}
	if err := s.store.CreatePending(context.Background(), r); err != nil {
		s.t.Fatal(err)
	}
	return r
}
