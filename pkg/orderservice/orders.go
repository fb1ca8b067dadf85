package orderservice

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// orders is the order service's business logic: it implements Service and
// Recoverer, and owns the order saga and its recovery.
type orders struct {
	store     Store
	users     Users
	products  Products
	userGate  Gate
	prodGate  Gate
	now       func() time.Time
	orphanAge time.Duration
	logger    log.Logger

	// running holds the IDs of orders this process is working on (a
	// request's saga, or a resolution), so that a repeat of the same key
	// is told "in progress" and two resolutions never overlap here.
	running sync.Map
}

// Option configures the Service NewService returns.
type Option func(*orders)

// WithGates makes CreateOrder answer at once, before any other work, while
// a gate says its dependency is unavailable. It replaces the gates that
// NewService takes from clients that are Gates themselves (NewUsersClient,
// NewProductsClient); a nil gate leaves that one as it was.
func WithGates(users, products Gate) Option {
	return func(o *orders) {
		if users != nil {
			o.userGate = users
		}
		if products != nil {
			o.prodGate = products
		}
	}
}

// WithOrphanAge sets how long a pending order may go without progress
// before the recovery loop takes it over as abandoned (default 6s). It
// must be longer than the longest request (REQUEST_TIMEOUT), so that no
// running request's order is ever taken over.
func WithOrphanAge(d time.Duration) Option { return func(o *orders) { o.orphanAge = d } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(o *orders) { o.now = now } }

// WithLogger sets the logger of the recovery loop.
func WithLogger(l log.Logger) Option { return func(o *orders) { o.logger = l } }

// NewService returns the order service over store, calling users and
// products. A client that is also a Gate (as NewUsersClient's and
// NewProductsClient's are) is its dependency's gate: CreateOrder answers
// 503 before any other work while it is closed. The Service is also a
// Recoverer, whose RunRecovery must run beside it (ordersvc runs it), or
// orders that a crash or an outage left half done stay so.
func NewService(store Store, users Users, products Products, opts ...Option) Service {
	o := &orders{store: store, users: users, products: products, now: time.Now,
		orphanAge: 6 * time.Second, logger: log.NewNopLogger()}
	o.userGate, _ = users.(Gate)
	o.prodGate, _ = products.(Gate)
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Limits of an order request.
const (
	MaxItems          = 100
	MaxQuantity       = 1_000_000
	MaxIdempotencyKey = 200
	MaxIDLength       = 200 // bytes of user_id and product_id
)

// CreateOrder implements Service.
func (o *orders) CreateOrder(ctx context.Context, req CreateOrderRequest) (Order, error) {
	if err := validateCreate(req); err != nil {
		return Order{}, err
	}
	// A dependency known to be down is answered before anything else: no
	// reads, no writes, no calls.
	if err := o.gatesOpen(); err != nil {
		return Order{}, err
	}
	hash := requestHash(req)
	if req.IdempotencyKey != "" {
		if r, err := o.store.GetByKey(ctx, req.IdempotencyKey); err == nil {
			order, err := o.replay(ctx, r, hash)
			if !errors.Is(err, errKeyFreed) {
				return order, err
			}
			// The earlier try was undone just now: this one starts afresh.
		} else if !errors.Is(err, ErrNotFound) {
			return Order{}, err
		}
	}

	now := o.now().UTC().Truncate(time.Microsecond)
	r := Record{
		Order: Order{ID: ids.New(IDPrefix), UserID: req.UserID, Status: StatusPending,
			Items: linesToItems(req.Items), CreatedAt: now},
		IdempotencyKey: req.IdempotencyKey,
		RequestHash:    hash,
		UpdatedAt:      now,
	}
	if !o.claim(r.ID) {
		return Order{}, ErrRequestInProgress
	}
	defer o.release(r.ID)
	if err := o.store.CreatePending(ctx, r); errors.Is(err, ErrKeyTaken) {
		// A concurrent request with the same key got there first.
		existing, err := o.store.GetByKey(ctx, req.IdempotencyKey)
		if err != nil {
			return Order{}, err
		}
		order, err := o.replay(ctx, existing, hash)
		if errors.Is(err, errKeyFreed) {
			return Order{}, stillResolving(0)
		}
		return order, err
	} else if err != nil {
		return Order{}, err
	}
	return o.runSaga(ctx, r, false)
}

// replay answers a request whose key an order already holds.
func (o *orders) replay(ctx context.Context, r Record, hash string) (Order, error) {
	if r.RequestHash != hash {
		return Order{}, ErrIdempotencyKeyReused
	}
	switch r.Status {
	case StatusConfirmed:
		return r.Order, nil
	case StatusRejected:
		return Order{}, &kitshop.Error{Code: kitshop.Code(r.ErrorCode), Message: r.ErrorMessage}
	}
	// Pending or cancelling: someone is working on it, or it was left half
	// done. Resolve it now if nobody here is, and if that settles it,
	// answer from the result; a cancelled order frees the key for a new try.
	if _, running := o.running.Load(r.ID); running {
		return Order{}, ErrRequestInProgress
	}
	// Not running here (any more): a saga of this process that just ended
	// wrote its outcome before it stopped running, so read it again.
	if cur, err := o.store.Get(ctx, r.ID); err != nil {
		return Order{}, err
	} else if cur.Status != r.Status {
		return o.replay(ctx, cur, hash)
	}
	if r.Status == StatusPending && o.now().Sub(r.UpdatedAt) < o.orphanAge {
		// Another process may still be running it; it will be resolved
		// once it is old enough to be taken over.
		return Order{}, stillResolving(o.orphanAge - o.now().Sub(r.UpdatedAt))
	}
	if err := o.resolve(ctx, r); err != nil {
		return Order{}, err
	}
	settled, err := o.store.Get(ctx, r.ID)
	if err != nil {
		return Order{}, err
	}
	switch settled.Status {
	case StatusConfirmed, StatusRejected:
		return o.replay(ctx, settled, hash)
	case StatusCancelled:
		return Order{}, errKeyFreed
	}
	return Order{}, stillResolving(time.Second)
}

// errKeyFreed tells CreateOrder that replay undid the order holding the
// key, so the request may start a new order.
var errKeyFreed = errors.New("idempotency key freed")

// stillResolving is the 503 for a key whose order is being finished or
// undone (after a crash, by this service's own recovery). It is this
// service's own state that is not settled yet, not a dependency that is
// down, so it names no dependency: callers should not blame one.
func stillResolving(wait time.Duration) error {
	if wait < time.Second {
		wait = time.Second
	}
	return &kitshop.Error{
		Code:       kitshop.CodeUnavailable,
		Message:    "the order of an earlier request with this idempotency key is still being finished or undone; retry later",
		RetryAfter: wait,
	}
}

func (o *orders) gatesOpen() error {
	for _, g := range []struct {
		name string
		gate Gate
	}{{DependencyUser, o.userGate}, {DependencyProduct, o.prodGate}} {
		if g.gate == nil {
			continue
		}
		if err := g.gate.Available(); err != nil {
			return unavailable(g.name, err)
		}
	}
	return nil
}

// GetOrder implements Service.
func (o *orders) GetOrder(ctx context.Context, id string) (Order, error) {
	if !ids.Valid(IDPrefix, id) {
		return Order{}, ErrNotFound
	}
	r, err := o.store.Get(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if r.Status != StatusConfirmed {
		return Order{}, ErrNotFound
	}
	return r.Order, nil
}

// ListOrders implements Service.
func (o *orders) ListOrders(ctx context.Context, userID, after string, limit int) ([]Order, string, error) {
	return kitshop.ListPage(limit, func(n int) ([]Order, error) {
		return o.store.ListConfirmed(ctx, userID, after, n)
	}, func(o Order) string { return o.ID })
}

func (o *orders) claim(id string) bool {
	_, loaded := o.running.LoadOrStore(id, struct{}{})
	return !loaded
}

func (o *orders) release(id string) { o.running.Delete(id) }
