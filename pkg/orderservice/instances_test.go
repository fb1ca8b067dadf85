package orderservice_test

// Several ordersvc instances on one order database (CONTRACT.md, "Several
// instances"), on SQLite (one file, a pool per instance) and PostgreSQL:
// the recovery loops (instances_recovery_test.go), requests under one
// Idempotency-Key (instances_idempotency_test.go) and the purgers
// (instances_purge_test.go) of three instances race, and each order is
// still settled once, with no SQLite writer failing for want of the lock.
// instances_process_test.go runs the instances as separate OS processes.
// This file holds what they share.

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/go-kit/log"
	"golang.org/x/crypto/bcrypt"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/orderservice/orderstore"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/productservice/productstore"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/pkg/userservice/userstore"
)

// databases are the URLs of a shop's three databases, all new.
type databases struct{ users, products, orders string }

// forEachBackend runs fn on new databases of each engine: SQLite files,
// and PostgreSQL databases (skipped where there is none, see
// internal/pgtest).
func forEachBackend(t *testing.T, fn func(t *testing.T, dbs databases)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, databases{"sqlite:" + filepath.Join(dir, "users.db"), "sqlite:" + filepath.Join(dir, "products.db"),
			"sqlite:" + filepath.Join(dir, "orders.db")})
	})
	t.Run("postgres", func(t *testing.T) { fn(t, databases{pgtest.URL(t), pgtest.URL(t), pgtest.URL(t)}) })
}

// cluster is three order service instances, each with its own order store
// on one order database and its own product service instance (in process,
// as newShop's) on one product database, sharing a user service; plus a
// fourth order store, to set up and check, and the settling calls of
// every instance, counted.
type cluster struct {
	t             *testing.T
	users         userservice.Service
	productStores []*productstore.Store
	products      []productservice.Service // one per instance, uncounted
	orderStores   []*orderstore.Store
	orders        []orderservice.Service
	store         *orderstore.Store
	calls         *settleCalls
	logs          testkit.LogSink
}

const instances = 3

func newCluster(t *testing.T, dbs databases, opts ...orderservice.Option) *cluster {
	t.Helper()
	ctx := context.Background()
	c := &cluster{t: t, calls: &settleCalls{orders: map[string]*orderCalls{}, reservations: map[string]string{}}}
	userStore, err := userstore.Open(ctx, dbs.users)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { userStore.Close() })
	c.users = userservice.NewService(userStore, userservice.WithBcryptCost(bcrypt.MinCost))
	productStores := make([]*productstore.Store, instances)
	c.productStores = productStores
	c.orderStores = make([]*orderstore.Store, instances)
	var wg sync.WaitGroup
	errs := make([]error, 2*instances)
	for i := range instances { // opened at once, as instances starting together
		wg.Go(func() { productStores[i], errs[i] = productstore.Open(ctx, dbs.products) })
		wg.Go(func() { c.orderStores[i], errs[instances+i] = orderstore.Open(ctx, dbs.orders) })
	}
	wg.Wait()
	for i := range instances {
		if productStores[i] != nil {
			t.Cleanup(func() { productStores[i].Close() })
		}
		if c.orderStores[i] != nil {
			t.Cleanup(func() { c.orderStores[i].Close() })
		}
	}
	for _, err := range errs {
		if err != nil {
			t.Fatalf("open an instance's store: %v", err)
		}
	}
	logger := log.NewLogfmtLogger(&c.logs)
	for i := range instances {
		c.products = append(c.products, productservice.NewService(productStores[i]))
		c.orders = append(c.orders, orderservice.NewService(
			settlingStore{Store: c.orderStores[i], calls: c.calls},
			usersFunc(c.users.GetUser),
			settlingProducts{Products: c.products[i], calls: c.calls, instance: i},
			append([]orderservice.Option{orderservice.WithLogger(log.With(logger, "instance", i))}, opts...)...))
	}
	c.store = openOrderStore(t, dbs.orders)
	return c
}

func (c *cluster) user() userservice.User {
	c.t.Helper()
	u, err := c.users.CreateUser(context.Background(), userservice.CreateUserRequest{
		Name: "Ada", Email: ids.New("ada") + "@example.com", Password: "correct horse"})
	if err != nil {
		c.t.Fatal(err)
	}
	return u
}

func (c *cluster) product(price, stock int64) productservice.Product {
	c.t.Helper()
	p, err := c.products[0].CreateProduct(context.Background(), productservice.CreateProductRequest{Name: "Widget", PriceCents: price, Stock: stock})
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// reservations returns every reservation, by order ID.
func (c *cluster) reservations() map[string][]productservice.Reservation {
	c.t.Helper()
	byOrder := map[string][]productservice.Reservation{}
	after := ""
	for {
		rs, next, err := c.products[1].ListReservations(context.Background(), "", after, kitshop.MaxPageLimit)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, r := range rs {
			byOrder[r.OrderID] = append(byOrder[r.OrderID], r)
		}
		if next == "" {
			return byOrder
		}
		after = next
	}
}

// checkStock checks, for product p, CONTRACT.md's "Resilience" point 6:
// initial stock = current stock + quantities of confirmed orders + of held
// reservations; and that every confirmed reservation belongs to a confirmed
// order and every confirmed order to a confirmed reservation.
func (c *cluster) checkStock(p productservice.Product) {
	c.t.Helper()
	ctx := context.Background()
	cur, err := c.products[2].GetProduct(ctx, p.ID)
	if err != nil {
		c.t.Fatal(err)
	}
	var confirmed, held int64
	orderOf := map[string]string{} // reservation -> confirmed order
	after := ""
	for {
		orders, err := c.store.ListConfirmed(ctx, "", after, kitshop.MaxPageLimit)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, o := range orders {
			r, err := c.store.Get(ctx, o.ID)
			if err != nil {
				c.t.Fatal(err)
			}
			orderOf[r.ReservationID] = o.ID
			for _, it := range o.Items {
				if it.ProductID == p.ID {
					confirmed += it.Quantity
				}
			}
		}
		if len(orders) < kitshop.MaxPageLimit {
			break
		}
		after = orders[len(orders)-1].ID
	}
	for orderID, rs := range c.reservations() {
		for _, r := range rs {
			switch r.Status {
			case productservice.StatusHeld:
				for _, it := range r.Items {
					if it.ProductID == p.ID {
						held += it.Quantity
					}
				}
			case productservice.StatusConfirmed:
				if orderOf[r.ID] != orderID {
					c.t.Errorf("reservation %s of order %s is confirmed, but no confirmed order has it", r.ID, orderID)
				}
				delete(orderOf, r.ID)
			}
		}
	}
	for rsv, o := range orderOf {
		c.t.Errorf("confirmed order %s has no confirmed reservation (%s)", o, rsv)
	}
	if cur.Stock+confirmed+held != p.Stock {
		c.t.Fatalf("product %s: initial %d != stock %d + confirmed %d + held %d", p.ID, p.Stock, cur.Stock, confirmed, held)
	}
}

// settleCalls counts, per order, the calls of every instance that settle
// it and succeeded: the order store's state changes, and the product
// service's confirmations and releases of its reservation.
type settleCalls struct {
	mu           sync.Mutex
	orders       map[string]*orderCalls
	reservations map[string]string // reservation ID -> order ID, from Reserve's answers
}

type orderCalls struct {
	confirmed, rejected, cancelled, markedCancelling int
	reservationConfirmed, reservationReleased        int
	instances                                        [instances]bool // which called the product service for it
}

func (s *settleCalls) add(orderID string, f func(*orderCalls)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.orders[orderID]
	if c == nil {
		c = &orderCalls{}
		s.orders[orderID] = c
	}
	f(c)
}

func (s *settleCalls) of(orderID string) orderCalls {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.orders[orderID]; c != nil {
		return *c
	}
	return orderCalls{}
}

func (s *settleCalls) orderOf(reservationID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reservations[reservationID]
}

// settlingStore counts an instance's successful state changes.
type settlingStore struct {
	orderservice.Store
	calls *settleCalls
}

func (s settlingStore) Confirm(ctx context.Context, id string, items []orderservice.OrderItem, total int64, rsv string) error {
	err := s.Store.Confirm(ctx, id, items, total, rsv)
	if err == nil {
		s.calls.add(id, func(c *orderCalls) { c.confirmed++ })
	}
	return err
}

func (s settlingStore) Reject(ctx context.Context, id, code, message string) error {
	err := s.Store.Reject(ctx, id, code, message)
	if err == nil {
		s.calls.add(id, func(c *orderCalls) { c.rejected++ })
	}
	return err
}

func (s settlingStore) MarkCancelling(ctx context.Context, id, rsv string) error {
	err := s.Store.MarkCancelling(ctx, id, rsv)
	if err == nil {
		s.calls.add(id, func(c *orderCalls) { c.markedCancelling++ })
	}
	return err
}

func (s settlingStore) Cancel(ctx context.Context, id string) error {
	err := s.Store.Cancel(ctx, id)
	if err == nil {
		s.calls.add(id, func(c *orderCalls) { c.cancelled++ })
	}
	return err
}

// settlingProducts counts an instance's calls to its product service.
type settlingProducts struct {
	orderservice.Products
	calls    *settleCalls
	instance int
}

func (p settlingProducts) Reserve(ctx context.Context, req productservice.ReserveRequest) (productservice.Reservation, error) {
	p.calls.add(req.OrderID, func(c *orderCalls) { c.instances[p.instance] = true })
	r, err := p.Products.Reserve(ctx, req)
	if err == nil {
		p.calls.mu.Lock()
		p.calls.reservations[r.ID] = req.OrderID
		p.calls.mu.Unlock()
	}
	return r, err
}

func (p settlingProducts) ConfirmReservation(ctx context.Context, id string) (productservice.Reservation, error) {
	r, err := p.Products.ConfirmReservation(ctx, id)
	if err == nil {
		p.calls.add(p.calls.orderOf(id), func(c *orderCalls) { c.reservationConfirmed++ })
	}
	return r, err
}

func (p settlingProducts) ReleaseReservation(ctx context.Context, id string) error {
	err := p.Products.ReleaseReservation(ctx, id)
	if err == nil {
		p.calls.add(p.calls.orderOf(id), func(c *orderCalls) { c.reservationReleased++ })
	}
	return err
}
