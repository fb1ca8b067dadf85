package orderservice_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
)

func TestCreateOrderPricesFromProductsAndTakesStock(t *testing.T) {
	s := newShop(t)
	u, a, b := s.user(), s.product(250, 10), s.product(1999, 3)
	o, err := s.orders.CreateOrder(context.Background(), order(u.ID, "", line(a, 4), line(b, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != orderservice.StatusConfirmed || o.TotalCents != 4*250+1999 || len(o.Items) != 2 ||
		o.Items[0].UnitPriceCents != 250 || o.Items[1].UnitPriceCents != 1999 {
		t.Fatalf("order = %+v", o)
	}
	if s.stock(a.ID) != 6 || s.stock(b.ID) != 2 {
		t.Fatalf("stock after order: %d, %d", s.stock(a.ID), s.stock(b.ID))
	}
	got, err := s.orders.GetOrder(context.Background(), o.ID)
	if err != nil || got.TotalCents != o.TotalCents || len(got.Items) != 2 {
		t.Fatalf("GetOrder = %+v, %v", got, err)
	}
	s.checkStock(a)
	s.checkStock(b)
}

func TestCreateOrderValidation(t *testing.T) {
	s := newShop(t)
	p := s.product(100, 5)
	many := make([]orderservice.OrderLine, orderservice.MaxItems+1)
	for i := range many {
		many[i] = orderservice.OrderLine{ProductID: "prd_" + strings.Repeat("x", i), Quantity: 1}
	}
	for _, tc := range []struct {
		name  string
		req   orderservice.CreateOrderRequest
		field string
	}{
		{"no user", order("", "", line(p, 1)), "user_id"},
		{"no items", order("usr_x", ""), "items"},
		{"too many items", orderservice.CreateOrderRequest{UserID: "u", Items: many}, "items"},
		{"zero quantity", order("usr_x", "", line(p, 0)), "items[0].quantity"},
		{"negative quantity", order("usr_x", "", line(p, -2)), "items[0].quantity"},
		{"huge quantity", order("usr_x", "", line(p, orderservice.MaxQuantity+1)), "items[0].quantity"},
		{"no product", order("usr_x", "", orderservice.OrderLine{Quantity: 1}), "items[0].product_id"},
		{"repeated product", order("usr_x", "", line(p, 1), line(p, 2)), "items[1].product_id"},
		{"long product id", order("usr_x", "", orderservice.OrderLine{ProductID: strings.Repeat("p", 201), Quantity: 1}), "items[0].product_id"},
		{"long user id", order(strings.Repeat("u", 201), "", line(p, 1)), "user_id"},
		{"long key", order("usr_x", strings.Repeat("k", 201), line(p, 1)), "Idempotency-Key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.orders.CreateOrder(context.Background(), tc.req)
			e := wantCode(t, err, kitshop.CodeInvalidArgument)
			if !strings.HasPrefix(e.Message, tc.field+":") {
				t.Fatalf("message %q does not name %s", e.Message, tc.field)
			}
		})
	}
}

func TestBusinessRefusalsAreReplayedAndTakeNothing(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 2)
	ctx := context.Background()

	_, err := s.orders.CreateOrder(ctx, order("usr_00000000000000000000000000", "k1", line(p, 1)))
	wantCode(t, err, kitshop.CodeUnknownUser)
	_, err = s.orders.CreateOrder(ctx, order(u.ID, "k2", line(p, 3)))
	e := wantCode(t, err, kitshop.CodeInsufficientStock)
	if !strings.Contains(e.Message, p.ID) {
		t.Fatalf("insufficient stock message %q does not name the product", e.Message)
	}
	_, err = s.orders.CreateOrder(ctx, order(u.ID, "k3", orderservice.OrderLine{ProductID: "prd_00000000000000000000000000", Quantity: 1}))
	wantCode(t, err, kitshop.CodeUnknownProduct)

	// The same keys again: the same answers, and no new reservation.
	calls := s.faults.reserveCalls
	_, err = s.orders.CreateOrder(ctx, order(u.ID, "k2", line(p, 3)))
	if e2 := wantCode(t, err, kitshop.CodeInsufficientStock); e2.Message != e.Message {
		t.Fatalf("replayed message %q != first %q", e2.Message, e.Message)
	}
	_, err = s.orders.CreateOrder(ctx, order("usr_00000000000000000000000000", "k1", line(p, 1)))
	wantCode(t, err, kitshop.CodeUnknownUser)
	if s.faults.reserveCalls != calls {
		t.Fatalf("a replay called the product service")
	}
	if s.stock(p.ID) != 2 {
		t.Fatalf("stock = %d, want 2", s.stock(p.ID))
	}
}

func TestIdempotentCreate(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 10)
	ctx := context.Background()
	first, err := s.orders.CreateOrder(ctx, order(u.ID, "key-1", line(p, 2)))
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.orders.CreateOrder(ctx, order(u.ID, "key-1", line(p, 2)))
	if err != nil || again.ID != first.ID || again.TotalCents != first.TotalCents {
		t.Fatalf("replay = %+v, %v; want order %s", again, err, first.ID)
	}
	_, err = s.orders.CreateOrder(ctx, order(u.ID, "key-1", line(p, 3)))
	wantCode(t, err, kitshop.CodeIdempotencyKeyReused)
	if s.stock(p.ID) != 8 {
		t.Fatalf("stock = %d, want 8: one order only", s.stock(p.ID))
	}
	all, _, _ := s.orders.ListOrders(ctx, "", "", 50)
	if len(all) != 1 {
		t.Fatalf("%d orders, want 1", len(all))
	}
}

func TestConcurrentSameKeyMakesOneOrder(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 50)
	var wg sync.WaitGroup
	ids := make(chan string, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := s.orders.CreateOrder(context.Background(), order(u.ID, "same", line(p, 1)))
			switch {
			case err == nil:
				ids <- o.ID
			case errors.Is(err, orderservice.ErrRequestInProgress):
			default:
				t.Errorf("unexpected error %v", err)
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Fatalf("%d distinct orders for one key, want 1", len(seen))
	}
	if s.stock(p.ID) != 49 {
		t.Fatalf("stock = %d, want 49", s.stock(p.ID))
	}
}

func TestGateClosedAnswersBeforeAnyWork(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(100, 10)
	gate := gateFunc(func() error {
		return kitshop.DependencyUnavailable("user", 3*time.Second, nil)
	})
	counting := &countingStore{Store: s.store}
	orders := orderservice.NewService(counting, usersFunc(s.getUser), s.faults, orderservice.WithGates(gate, nil))
	_, err := orders.CreateOrder(context.Background(), order(u.ID, "k", line(p, 1)))
	e := wantCode(t, err, kitshop.CodeDependencyUnavailable)
	if e.Dependency != "user" || e.RetryAfter != 3*time.Second {
		t.Fatalf("error = %+v", e)
	}
	if counting.calls != 0 || s.faults.reserveCalls != 0 {
		t.Fatalf("store calls %d, reserve calls %d: want none", counting.calls, s.faults.reserveCalls)
	}
}

type gateFunc func() error

func (g gateFunc) Available() error { return g() }

type countingStore struct {
	orderservice.Store
	calls int
}

func (c *countingStore) GetByKey(ctx context.Context, key string) (orderservice.Record, error) {
	c.calls++
	return c.Store.GetByKey(ctx, key)
}

func (c *countingStore) CreatePending(ctx context.Context, r orderservice.Record) error {
	c.calls++
	return c.Store.CreatePending(ctx, r)
}

func TestReadsShowOnlyConfirmedOrdersAndPage(t *testing.T) {
	s := newShop(t)
	u1, u2, p := s.user(), s.user(), s.product(100, 100)
	ctx := context.Background()
	var mine []string
	for i := 0; i < 5; i++ {
		o, err := s.orders.CreateOrder(ctx, order(u1.ID, "", line(p, 1)))
		if err != nil {
			t.Fatal(err)
		}
		mine = append(mine, o.ID)
		if _, err := s.orders.CreateOrder(ctx, order(u2.ID, "", line(p, 1))); err != nil {
			t.Fatal(err)
		}
	}
	// A refused order is not visible.
	if _, err := s.orders.CreateOrder(ctx, order(u1.ID, "", line(p, 1000))); err == nil {
		t.Fatal("order beyond stock succeeded")
	}
	var got []string
	after := ""
	for {
		page, next, err := s.orders.ListOrders(ctx, u1.ID, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page {
			if o.UserID != u1.ID {
				t.Fatalf("order of %s in %s's list", o.UserID, u1.ID)
			}
			got = append(got, o.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if strings.Join(got, ",") != strings.Join(mine, ",") {
		t.Fatalf("paged list %v, want %v", got, mine)
	}
	all, _, _ := s.orders.ListOrders(ctx, "", "", 500)
	if len(all) != 10 {
		t.Fatalf("%d orders in all, want 10", len(all))
	}
	if _, err := s.orders.GetOrder(ctx, "ord_nope"); !errors.Is(err, orderservice.ErrNotFound) {
		t.Fatalf("GetOrder(bad id) = %v", err)
	}
	if _, _, err := s.orders.ListOrders(ctx, "", "", 0); err == nil {
		t.Fatal("limit 0 accepted")
	}
}
