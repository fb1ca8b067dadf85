package orderservice_test

import (
	"context"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
)

func TestDependencyFailureAnswers503AndReleasesStock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  func(f *faultyProducts)
		userUp bool
	}{
		{"user down", nil, false},
		{"reserve never ran", func(f *faultyProducts) { f.failReserve = true }, true},
		{"reserve answer lost", func(f *faultyProducts) { f.loseReserve = true }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newShop(t)
			u, p := s.user(), s.product(100, 10)
			ctx := context.Background()
			s.userDown.Store(!tc.userUp)
			if tc.fault != nil {
				s.faults.set(tc.fault)
			}
			_, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 3)))
			e := wantCode(t, err, kitshop.CodeDependencyUnavailable)
			wantDep := "product"
			if !tc.userUp {
				wantDep = "user"
			}
			if e.Dependency != wantDep || e.RetryAfter <= 0 {
				t.Fatalf("error = %+v, want dependency %s with Retry-After", e, wantDep)
			}
			s.checkStock(p)

			// Heal; the recovery loop releases whatever was held.
			s.userDown.Store(false)
			s.faults.set(func(f *faultyProducts) { f.failReserve, f.loseReserve = false, false })
			if _, err := s.recover(ctx); err != nil {
				t.Fatal(err)
			}
			if s.stock(p.ID) != 10 || s.held(p.ID) != 0 {
				t.Fatalf("after recovery: stock %d held %d, want 10 and 0", s.stock(p.ID), s.held(p.ID))
			}
			// The key is free again: a retry makes the order.
			o, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 3)))
			if err != nil {
				t.Fatal(err)
			}
			if s.stock(p.ID) != 7 {
				t.Fatalf("stock = %d, want 7", s.stock(p.ID))
			}
			again, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 3)))
			if err != nil || again.ID != o.ID {
				t.Fatalf("replay = %v, %v", again.ID, err)
			}
			s.checkStock(p)
		})
	}
}

func TestLostConfirmationIsCompletedNotUndone(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 10)
	ctx := context.Background()
	s.faults.set(func(f *faultyProducts) { f.loseConfirm = true })
	_, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 2)))
	wantCode(t, err, kitshop.CodeDependencyUnavailable)

	s.faults.set(func(f *faultyProducts) { f.loseConfirm = false })
	if _, err := s.recover(ctx); err != nil {
		t.Fatal(err)
	}
	// The reservation was confirmed at the product service: the order must
	// exist, and a retry of the key finds it.
	o, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 2)))
	if err != nil || o.Status != orderservice.StatusConfirmed || o.TotalCents != 200 {
		t.Fatalf("retry = %+v, %v", o, err)
	}
	if s.stock(p.ID) != 8 {
		t.Fatalf("stock = %d, want 8", s.stock(p.ID))
	}
	s.checkStock(p)
}

func TestRetryOfFailedKeyResolvesItInline(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 10)
	ctx := context.Background()
	s.faults.set(func(f *faultyProducts) { f.loseReserve = true })
	if _, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 4))); err == nil {
		t.Fatal("want failure")
	}
	s.faults.set(func(f *faultyProducts) { f.loseReserve = false })
	// No recovery pass ran: the retry itself undoes the first try and
	// makes the order, taking the stock once.
	o, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if s.stock(p.ID) != 6 || s.held(p.ID) != 0 {
		t.Fatalf("stock %d held %d, want 6 and 0 (order %s)", s.stock(p.ID), s.held(p.ID), o.ID)
	}
	s.checkStock(p)
}

// A pending order is what a crash between reserve and confirm leaves.
func TestRecoveryFinishesOrphanedPendingOrders(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 10)
	ctx := context.Background()

	// Simulate the crashed process: its order is pending and its
	// reservation held.
	r := orderservice.Record{
		Order: orderservice.Order{ID: "ord_01jd00000000000000000crash", UserID: u.ID, CreatedAt: s.clock.Now(),
			Items: []orderservice.OrderItem{{ProductID: p.ID, Quantity: 3}}},
		IdempotencyKey: "crash-key",
		RequestHash:    requestHashOf(t, s, u.ID, p.ID, 3),
	}
	if err := s.store.CreatePending(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.products.Reserve(ctx, reserveFor(r)); err != nil {
		t.Fatal(err)
	}

	// Young pending order: a retry is told it is being resolved.
	_, err := s.orders.CreateOrder(ctx, order(u.ID, "crash-key", line(p, 3)))
	if e := wantCode(t, err, kitshop.CodeUnavailable); e.RetryAfter <= 0 || e.Dependency != "" {
		t.Fatalf("want Retry-After and no dependency blamed on a 503, got %+v", e)
	}
	if n, _ := s.recover(ctx); n != 0 {
		t.Fatalf("recovery took over a young pending order")
	}

	// Old enough: recovery finishes it, taking the stock once.
	s.clock.Advance(7 * time.Second)
	if n, err := s.recover(ctx); err != nil || n != 1 {
		t.Fatalf("Recover = %d, %v; want 1", n, err)
	}
	o, err := s.orders.GetOrder(ctx, r.ID)
	if err != nil || o.TotalCents != 300 {
		t.Fatalf("recovered order = %+v, %v", o, err)
	}
	if s.stock(p.ID) != 7 || s.held(p.ID) != 0 {
		t.Fatalf("stock %d held %d, want 7 and 0", s.stock(p.ID), s.held(p.ID))
	}
	again, err := s.orders.CreateOrder(ctx, order(u.ID, "crash-key", line(p, 3)))
	if err != nil || again.ID != r.ID {
		t.Fatalf("retry after recovery = %v, %v; want %s", again.ID, err, r.ID)
	}
	s.checkStock(p)
}

func TestRecoveryWaitsWhileDependencyDown(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 10)
	ctx := context.Background()
	s.faults.set(func(f *faultyProducts) { f.loseReserve = true })
	if _, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 1))); err == nil {
		t.Fatal("want failure")
	}
	s.faults.set(func(f *faultyProducts) { f.loseReserve, f.failReserve = false, true })
	if n, _ := s.recover(ctx); n != 0 {
		t.Fatalf("recovered %d orders while the product service is down", n)
	}
	s.checkStock(p) // still held, and counted as held
	s.faults.set(func(f *faultyProducts) { f.failReserve = false })
	if n, _ := s.recover(ctx); n != 0 {
		t.Fatalf("recovered %d orders before their retry delay", n)
	}
	s.clock.Advance(time.Second) // the first retry delay
	if n, _ := s.recover(ctx); n != 1 {
		t.Fatalf("recovered %d orders after healing, want 1", n)
	}
	if s.stock(p.ID) != 10 {
		t.Fatalf("stock = %d, want 10", s.stock(p.ID))
	}
	if _, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 1))); err != nil {
		t.Fatalf("retry after undo: %v", err)
	}
}
