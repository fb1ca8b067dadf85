// Package orderservice is the order service. Creating an order is a saga
// across the user and product services:
//
//	claim the Idempotency-Key ── write the order as pending
//	check the user            ── GET  usersvc /v1/users/{id}
//	reserve the stock         ── POST productsvc /v1/reservations (Idempotency-Key "order:<id>")
//	confirm the reservation   ── POST productsvc /v1/reservations/{id}/confirm
//	mark the order confirmed
//
// Every step can be repeated safely, so an order that a crash or an outage
// left half done is finished or undone later by Recover: see recovery.go.
// Settled orders' idempotency keys, and rejected and cancelled orders, are
// purged once IDEMPOTENCY_TTL has passed: see purger.go.
// The package is layered like userservice: service.go (the Service, its
// types and errors, no HTTP), orders.go/saga.go/recovery.go (NewService and
// the business logic), store.go (the storage interface; the SQL adapter is
// package orderstore), endpoints.go, transport_http.go, client.go (the
// order service's HTTP client), dependencies.go (its clients of usersvc and
// productsvc), middleware.go.
package orderservice

import (
	"context"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/userservice"
)

// Service creates and reads orders.
type Service interface {
	// CreateOrder places an order for req.UserID, priced by the product
	// service, and returns it confirmed. With an IdempotencyKey, a repeat
	// returns the first result (the same order or the same error) and never
	// makes a second order; the same key with another body is
	// ErrIdempotencyKeyReused; while the first is running,
	// ErrRequestInProgress. A dependency that cannot answer is a
	// dependency_unavailable error naming it, and then no stock stays
	// taken for the order.
	CreateOrder(ctx context.Context, req CreateOrderRequest) (Order, error)
	// GetOrder returns the confirmed order with id, or ErrNotFound. It
	// never calls another service.
	GetOrder(ctx context.Context, id string) (Order, error)
	// ListOrders returns up to limit confirmed orders (of userID, or of
	// everyone when userID is "") in creation order after the order with ID
	// after; next is "" on the last page. It never calls another service.
	ListOrders(ctx context.Context, userID, after string, limit int) (orders []Order, next string, err error)
}

// Order is a confirmed order. Money is integer cents; prices are the
// product service's at the time of the order.
type Order struct {
	ID         string      `json:"id"`
	UserID     string      `json:"user_id"`
	Items      []OrderItem `json:"items"`
	TotalCents int64       `json:"total_cents"`
	Status     string      `json:"status"`
	CreatedAt  time.Time   `json:"created_at"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	ProductID      string `json:"product_id"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// CreateOrderRequest is what a client sends to place an order.
type CreateOrderRequest struct {
	// IdempotencyKey, optional, makes retrying the request safe; it
	// travels in the Idempotency-Key header.
	IdempotencyKey string      `json:"-"`
	UserID         string      `json:"user_id"`
	Items          []OrderLine `json:"items"`
}

// OrderLine is one requested line: a product and how many.
type OrderLine struct {
	ProductID string `json:"product_id"`
	Quantity  int64  `json:"quantity"`
}

// Order statuses. Only confirmed orders are visible to readers; the others
// are states of the saga.
const (
	StatusPending    = "pending"    // saga running, or interrupted
	StatusConfirmed  = "confirmed"  // done
	StatusRejected   = "rejected"   // refused for a business reason, kept for replay
	StatusCancelling = "cancelling" // failed; its reservation must be released
	StatusCancelled  = "cancelled"  // failed and undone; its key is free again
)

// Errors of the order service; they match remote errors of the same code
// under errors.Is.
var (
	ErrNotFound             = kitshop.NewError(kitshop.CodeNotFound, "order not found")
	ErrUnknownUser          = kitshop.NewError(kitshop.CodeUnknownUser, "unknown user")
	ErrUnknownProduct       = productservice.ErrUnknownProduct
	ErrInsufficientStock    = productservice.ErrInsufficientStock
	ErrIdempotencyKeyReused = kitshop.NewError(kitshop.CodeIdempotencyKeyReused, "idempotency key was used with another request")
	ErrRequestInProgress    = kitshop.NewError(kitshop.CodeRequestInProgress, "a request with this idempotency key is in progress")
)

// IDPrefix starts every order ID.
const IDPrefix = "ord"

// Users is what the order service needs of the user service;
// userservice.Service (and so its HTTP client) is one.
type Users interface {
	GetUser(ctx context.Context, id string) (userservice.User, error)
}

// Products is what the order service needs of the product service;
// productservice.Service (and so its HTTP client) is one.
type Products interface {
	Reserve(ctx context.Context, req productservice.ReserveRequest) (productservice.Reservation, error)
	ConfirmReservation(ctx context.Context, id string) (productservice.Reservation, error)
	ReleaseReservation(ctx context.Context, id string) error
}

// Gate tells whether a dependency may be called now: nil, or an error to
// answer at once (a dependency_unavailable *kitshop.Error with
// RetryAfter). *resilience.Dependency is one: it fails while every
// instance's circuit breaker is open.
type Gate interface {
	Available() error
}

// Dependency names, as they appear in 503 errors, logs and metrics.
const (
	DependencyUser    = "user"
	DependencyProduct = "product"
)
