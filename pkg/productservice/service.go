// Package productservice is the product service: the catalogue, its stock,
// and reservations of stock that orders confirm or release. It is layered
// like userservice:
//
//   - service.go, validate.go, idempotency.go: the Service, its types,
//     errors and business logic, with no HTTP in it;
//   - store.go: the storage interface and its guarantees; the SQL adapter
//     (SQLite or PostgreSQL) and its schema are package productstore;
//   - sweeper.go: the loop that expires held reservations past their TTL;
//     purger.go: the loop that deletes idempotency records and ended
//     reservations once IDEMPOTENCY_TTL has passed;
//   - endpoints.go: one go-kit endpoint per method, in a Set that is itself
//     a Service;
//   - transport_http.go: the HTTP JSON server; client.go: the HTTP client,
//     which returns a Service;
//   - middleware.go: typed logging and instrumenting service middleware.
//
// Reserve is idempotent by key in two phases: the key is claimed in a
// short transaction of its own (so a repeat in flight sees
// ErrRequestInProgress), then the stock is taken and the outcome recorded
// in one transaction. A claim older than the stale bound
// (WithStaleClaimAfter, 2x the longest request) is taken over, so a crash
// mid-request does not lock its key forever; the former owner can then no
// longer record an outcome, so stock is never taken twice for one key.
package productservice

import (
	"context"
	"fmt"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// Service manages products and stock reservations.
type Service interface {
	// CreateProduct validates and stores a product (price_cents 1..MaxPriceCents,
	// stock >= 0).
	CreateProduct(ctx context.Context, req CreateProductRequest) (Product, error)
	// GetProduct returns the product with id, or ErrNotFound.
	GetProduct(ctx context.Context, id string) (Product, error)
	// ListProducts returns up to limit products in creation order after
	// the product with ID after; next is "" on the last page.
	ListProducts(ctx context.Context, after string, limit int) (products []Product, next string, err error)

	// Reserve takes stock for every item of req, all or none, at the
	// current prices, and holds it until the reservation is confirmed,
	// released or expires. A repeat with the same IdempotencyKey and the
	// same order and items returns the first result (the same reservation,
	// or the same error) and takes no more stock; the same key with other
	// contents is ErrIdempotencyKeyReused; the same key while the first
	// call is still running is ErrRequestInProgress. Errors:
	// ErrInsufficientStock (naming the product), ErrUnknownProduct, and an
	// invalid_argument naming the field when a line's amount or the total
	// would not fit in int64 (then no stock is taken).
	Reserve(ctx context.Context, req ReserveRequest) (Reservation, error)
	// ConfirmReservation makes a held reservation permanent (idempotent:
	// confirming a confirmed one returns it). A released or expired one is
	// ErrReservationExpired; an unknown one ErrNotFound.
	ConfirmReservation(ctx context.Context, id string) (Reservation, error)
	// ReleaseReservation gives a held reservation's stock back, exactly
	// once; releasing a released or expired one succeeds and does nothing.
	// A confirmed one is ErrAlreadyConfirmed; an unknown one ErrNotFound.
	ReleaseReservation(ctx context.Context, id string) error
	// ListReservations is the operator's view of reservations, optionally
	// only those with status, in creation order.
	ListReservations(ctx context.Context, status string, after string, limit int) (reservations []Reservation, next string, err error)
}

// Product is an item of the catalogue. Money is integer cents.
type Product struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	PriceCents int64     `json:"price_cents"`
	Stock      int64     `json:"stock"`
	CreatedAt  time.Time `json:"created_at"`
}

// CreateProductRequest is what a new product needs.
type CreateProductRequest struct {
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Stock      int64  `json:"stock"`
}

// ReserveRequest asks to hold stock for an order.
type ReserveRequest struct {
	// IdempotencyKey makes a retried call safe; it travels in the
	// Idempotency-Key header, not the body.
	IdempotencyKey string        `json:"-"`
	OrderID        string        `json:"order_id"`
	Items          []ReserveItem `json:"items"`
}

// ReserveItem is one line of a reservation request.
type ReserveItem struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// ReservedItem is one line of a reservation, priced when it was made.
type ReservedItem struct {
	ProductID      string `json:"product_id"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// Reservation statuses.
const (
	StatusHeld      = "held"
	StatusConfirmed = "confirmed"
	StatusReleased  = "released"
	StatusExpired   = "expired"
)

// Reservation is stock held for an order.
type Reservation struct {
	ID        string         `json:"id"`
	OrderID   string         `json:"order_id"`
	Items     []ReservedItem `json:"items"`
	Status    string         `json:"status"`
	ExpiresAt time.Time      `json:"expires_at"`
}

// Errors of the product service; they match remote errors of the same code
// under errors.Is.
var (
	ErrNotFound             = kitshop.NewError(kitshop.CodeNotFound, "not found")
	ErrInsufficientStock    = kitshop.NewError(kitshop.CodeInsufficientStock, "insufficient stock")
	ErrUnknownProduct       = kitshop.NewError(kitshop.CodeUnknownProduct, "unknown product")
	ErrIdempotencyKeyReused = kitshop.NewError(kitshop.CodeIdempotencyKeyReused, "idempotency key was used with another request")
	ErrRequestInProgress    = kitshop.NewError(kitshop.CodeRequestInProgress, "a request with this idempotency key is in progress")
	ErrReservationExpired   = kitshop.NewError(kitshop.CodeReservationExpired, "reservation expired or was released")
	ErrAlreadyConfirmed     = kitshop.NewError(kitshop.CodeAlreadyConfirmed, "reservation is already confirmed")
)

// ID prefixes.
const (
	ProductIDPrefix     = "prd"
	ReservationIDPrefix = "rsv"
)

// Validation limits.
const (
	MaxNameLength        = 200 // characters
	MaxReservationItems  = 100 // lines of one reservation
	MaxIdempotencyKeyLen = 200 // bytes
	MaxReferenceLength   = 200 // bytes of an order_id or product_id
	// MaxPriceCents bounds a product's price so that no order total can
	// overflow: 100 lines of 1,000,000 at this price stay far below int64.
	MaxPriceCents = 10_000_000_000
)

// Defaults of the options.
const (
	DefaultReservationTTL = 30 * time.Second
	// DefaultStaleClaimAfter is twice the default REQUEST_TIMEOUT (5s): no
	// live request can still own a claim that old, so a claim left behind
	// by a crash is taken over rather than locking its key forever.
	DefaultStaleClaimAfter = 10 * time.Second
)

// Option configures the service.
type Option func(*service)

// WithReservationTTL sets how long a reservation is held before it expires
// (default 30s).
func WithReservationTTL(ttl time.Duration) Option { return func(s *service) { s.ttl = ttl } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *service) { s.now = now } }

// WithStaleClaimAfter sets how old an in-progress idempotency claim must be
// before a repeat of its request takes it over instead of getting
// ErrRequestInProgress (default DefaultStaleClaimAfter). Set it to at least
// twice the longest a request may run.
func WithStaleClaimAfter(d time.Duration) Option { return func(s *service) { s.staleAfter = d } }

type service struct {
	store      Store
	ttl        time.Duration
	staleAfter time.Duration
	now        func() time.Time
}

// NewService returns the product service's business logic over store.
func NewService(store Store, opts ...Option) Service {
	s := &service{store: store, ttl: DefaultReservationTTL, staleAfter: DefaultStaleClaimAfter, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// clock is the service's current time at the storage precision.
func (s *service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *service) CreateProduct(ctx context.Context, req CreateProductRequest) (Product, error) {
	if err := validateCreateProduct(req); err != nil {
		return Product{}, err
	}
	p := Product{
		ID:         ids.New(ProductIDPrefix),
		Name:       req.Name,
		PriceCents: req.PriceCents,
		Stock:      req.Stock,
		CreatedAt:  s.clock(),
	}
	if err := s.store.CreateProduct(ctx, p); err != nil {
		return Product{}, err
	}
	return p, nil
}

func (s *service) GetProduct(ctx context.Context, id string) (Product, error) {
	if !ids.Valid(ProductIDPrefix, id) {
		return Product{}, ErrNotFound
	}
	return s.store.GetProduct(ctx, id)
}

func (s *service) ListProducts(ctx context.Context, after string, limit int) ([]Product, string, error) {
	return kitshop.ListPage(limit, func(n int) ([]Product, error) {
		return s.store.ListProducts(ctx, after, n)
	}, func(p Product) string { return p.ID })
}

// Reserve runs in two phases so that a request in flight is visible to its
// repeats: it claims the idempotency key (its own short transaction), then
// takes the stock and records the outcome in one transaction. A claim whose
// work failed for any reason but a recorded business refusal is dropped, so
// a retry can proceed.
func (s *service) Reserve(ctx context.Context, req ReserveRequest) (Reservation, error) {
	if err := validateReserve(req); err != nil {
		return Reservation{}, err
	}
	now := s.clock()
	claim, err := s.store.ClaimIdempotencyKey(ctx, req.IdempotencyKey, requestHash(req), now, now.Add(-s.staleAfter))
	if err != nil {
		return Reservation{}, err
	}
	if claim.Completed {
		return claim.Reservation, claim.Err
	}
	r := Reservation{
		ID:        ids.New(ReservationIDPrefix),
		OrderID:   req.OrderID,
		Items:     make([]ReservedItem, len(req.Items)),
		Status:    StatusHeld,
		ExpiresAt: now.Add(s.ttl),
	}
	for i, it := range req.Items {
		r.Items[i] = ReservedItem{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	r, err = s.store.Reserve(ctx, claim, r, now)
	if _, recorded := RecordableError(err); err != nil && !recorded {
		// Not an outcome to replay (an internal error, or amounts that do
		// not fit): drop the claim so that a retry runs again. The
		// caller's context may be what failed: drop it anyway.
		dropCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if dropErr := s.store.DropClaim(dropCtx, claim); dropErr != nil {
			err = fmt.Errorf("%w (and dropping the idempotency claim: %v)", err, dropErr)
		}
	}
	return r, err
}

func (s *service) ConfirmReservation(ctx context.Context, id string) (Reservation, error) {
	if !ids.Valid(ReservationIDPrefix, id) {
		return Reservation{}, ErrNotFound
	}
	return s.store.ConfirmReservation(ctx, id, s.clock())
}

func (s *service) ReleaseReservation(ctx context.Context, id string) error {
	if !ids.Valid(ReservationIDPrefix, id) {
		return ErrNotFound
	}
	return s.store.ReleaseReservation(ctx, id, s.clock())
}

func (s *service) ListReservations(ctx context.Context, status, after string, limit int) ([]Reservation, string, error) {
	switch status {
	case "", StatusHeld, StatusConfirmed, StatusReleased, StatusExpired:
	default:
		return nil, "", kitshop.InvalidArgument("status", "must be one of held, confirmed, released, expired")
	}
	return kitshop.ListPage(limit, func(n int) ([]Reservation, error) {
		return s.store.ListReservations(ctx, status, after, n)
	}, func(r Reservation) string { return r.ID })
}
