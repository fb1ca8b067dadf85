// Package productservice is the product service: the catalogue, its stock,
// and reservations of stock that orders confirm or release. It is layered
// like userservice: service.go (no HTTP), store.go/store_sql.go,
// endpoints.go, transport_http.go, client.go, middleware.go.
package productservice

import (
	"context"
	"time"

	"github.com/kitshop/kitshop/transport"
)

// Service manages products and stock reservations.
type Service interface {
	// CreateProduct validates and stores a product (price_cents > 0,
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
	// ErrInsufficientStock (naming the product), ErrUnknownProduct.
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
	ErrNotFound             = transport.NewError(transport.CodeNotFound, "not found")
	ErrInsufficientStock    = transport.NewError(transport.CodeInsufficientStock, "insufficient stock")
	ErrUnknownProduct       = transport.NewError(transport.CodeUnknownProduct, "unknown product")
	ErrIdempotencyKeyReused = transport.NewError(transport.CodeIdempotencyKeyReused, "idempotency key was used with another request")
	ErrRequestInProgress    = transport.NewError(transport.CodeRequestInProgress, "a request with this idempotency key is in progress")
	ErrReservationExpired   = transport.NewError(transport.CodeReservationExpired, "reservation expired or was released")
	ErrAlreadyConfirmed     = transport.NewError(transport.CodeAlreadyConfirmed, "reservation is already confirmed")
)

// ID prefixes.
const (
	ProductIDPrefix     = "prd"
	ReservationIDPrefix = "rsv"
)
