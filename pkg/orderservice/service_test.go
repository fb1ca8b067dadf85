package orderservice_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/orderservice/orderstore"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/productservice/productstore"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/pkg/userservice/userstore"
)

// shop is an order service over real user and product services, all
// in-process on SQLite, with fault injection on the product calls.
type shop struct {
	t        *testing.T
	orders   orderservice.Service
	store    *orderstore.Store
	users    userservice.Service
	products productservice.Service
	faults   *faultyProducts
	// productStore is the product service's store, to put in what the
	// service itself would refuse (prices from before they were bounded).
	productStore productservice.Store
	userDown     atomic.Bool
	clock        *clock
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newShop(t *testing.T) *shop {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	userStore, err := userstore.Open(ctx, "sqlite:"+filepath.Join(dir, "users.db"))
	if err != nil {
		t.Fatal(err)
	}
	productStore, err := productstore.Open(ctx, "sqlite:"+filepath.Join(dir, "products.db"))
	if err != nil {
		t.Fatal(err)
	}
	orderStore, err := orderstore.Open(ctx, "sqlite:"+filepath.Join(dir, "orders.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { userStore.Close(); productStore.Close(); orderStore.Close() })

	s := &shop{t: t, store: orderStore, productStore: productStore, clock: &clock{now: time.Now()}}
	s.users = userservice.NewService(userStore, userservice.WithBcryptCost(bcrypt.MinCost))
	s.products = productservice.NewService(productStore)
	s.faults = &faultyProducts{Service: s.products}
	s.orders = orderservice.NewService(orderStore, usersFunc(s.getUser), s.faults,
		orderservice.WithClock(s.clock.Now), orderservice.WithOrphanAge(6*time.Second))
	return s
}

// recover makes one recovery pass of the shop's order service.
func (s *shop) recover(ctx context.Context) (int, error) {
	return s.orders.(orderservice.Recoverer).Recover(ctx)
}

type usersFunc func(ctx context.Context, id string) (userservice.User, error)

func (f usersFunc) GetUser(ctx context.Context, id string) (userservice.User, error) {
	return f(ctx, id)
}

func (s *shop) getUser(ctx context.Context, id string) (userservice.User, error) {
	if s.userDown.Load() {
		return userservice.User{}, errors.New("connection refused")
	}
	return s.users.GetUser(ctx, id)
}

// faultyProducts injects failures into product service calls: it can fail
// a call before it runs, or run it and then lose its answer.
type faultyProducts struct {
	productservice.Service
	mu           sync.Mutex
	failReserve  bool // fail before reserving
	loseReserve  bool // reserve, then fail
	loseConfirm  bool // confirm, then fail
	failRelease  bool
	overprice    bool                      // price every reserved line at the int64 maximum
	poison       func(orderID string) bool // reserve fails for these orders
	reserveCalls int
}

var errLost = errors.New("connection reset by peer")

func (f *faultyProducts) Reserve(ctx context.Context, req productservice.ReserveRequest) (productservice.Reservation, error) {
	f.mu.Lock()
	f.reserveCalls++
	fail, lose, overprice := f.failReserve, f.loseReserve, f.overprice
	if f.poison != nil && f.poison(req.OrderID) {
		fail = true
	}
	f.mu.Unlock()
	if fail {
		return productservice.Reservation{}, errLost
	}
	r, err := f.Service.Reserve(ctx, req)
	if lose && err == nil {
		return productservice.Reservation{}, errLost
	}
	if overprice && err == nil {
		for i := range r.Items {
			r.Items[i].UnitPriceCents = 1<<63 - 1
		}
	}
	return r, err
}

func (f *faultyProducts) ConfirmReservation(ctx context.Context, id string) (productservice.Reservation, error) {
	f.mu.Lock()
	lose := f.loseConfirm
	f.mu.Unlock()
	r, err := f.Service.ConfirmReservation(ctx, id)
	if lose && err == nil {
		return productservice.Reservation{}, errLost
	}
	return r, err
}

func (f *faultyProducts) ReleaseReservation(ctx context.Context, id string) error {
	f.mu.Lock()
	fail := f.failRelease
	f.mu.Unlock()
	if fail {
		return errLost
	}
	return f.Service.ReleaseReservation(ctx, id)
}

func (f *faultyProducts) set(fn func(f *faultyProducts)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func (s *shop) user() userservice.User {
	s.t.Helper()
	u, err := s.users.CreateUser(context.Background(), userservice.CreateUserRequest{
		Name: "Ada", Email: time.Now().Format("150405.000000000") + "@example.com", Password: "correct horse"})
	if err != nil {
		s.t.Fatal(err)
	}
	return u
}

func (s *shop) product(price, stock int64) productservice.Product {
	s.t.Helper()
	p, err := s.products.CreateProduct(context.Background(), productservice.CreateProductRequest{Name: "Widget", PriceCents: price, Stock: stock})
	if err != nil {
		s.t.Fatal(err)
	}
	return p
}

func (s *shop) stock(id string) int64 {
	s.t.Helper()
	p, err := s.products.GetProduct(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return p.Stock
}

// heldFor sums the quantities of held reservations of a product.
func (s *shop) held(productID string) int64 {
	s.t.Helper()
	rs, _, err := s.products.ListReservations(context.Background(), productservice.StatusHeld, "", 500)
	if err != nil {
		s.t.Fatal(err)
	}
	var n int64
	for _, r := range rs {
		for _, it := range r.Items {
			if it.ProductID == productID {
				n += it.Quantity
			}
		}
	}
	return n
}

// confirmedQuantity sums the quantities of a product over confirmed orders.
func (s *shop) confirmedQuantity(productID string) int64 {
	s.t.Helper()
	orders, _, err := s.orders.ListOrders(context.Background(), "", "", 500)
	if err != nil {
		s.t.Fatal(err)
	}
	var n int64
	for _, o := range orders {
		for _, it := range o.Items {
			if it.ProductID == productID {
				n += it.Quantity
			}
		}
	}
	return n
}

// checkStock asserts the invariant: initial = stock + confirmed + held.
func (s *shop) checkStock(p productservice.Product) {
	s.t.Helper()
	stock, confirmed, held := s.stock(p.ID), s.confirmedQuantity(p.ID), s.held(p.ID)
	if stock+confirmed+held != p.Stock {
		s.t.Fatalf("stock invariant broken for %s: initial %d != stock %d + confirmed %d + held %d",
			p.ID, p.Stock, stock, confirmed, held)
	}
}

func order(userID string, key string, lines ...orderservice.OrderLine) orderservice.CreateOrderRequest {
	return orderservice.CreateOrderRequest{IdempotencyKey: key, UserID: userID, Items: lines}
}

func line(p productservice.Product, q int64) orderservice.OrderLine {
	return orderservice.OrderLine{ProductID: p.ID, Quantity: q}
}

func wantCode(t *testing.T, err error, code kitshop.Code) *kitshop.Error {
	t.Helper()
	var e *kitshop.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
	return e
}
