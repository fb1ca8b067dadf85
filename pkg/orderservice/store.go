package orderservice

import (
	"context"
	"errors"
	"time"
)

// Record is an order as the store keeps it, in any saga state, with what
// the saga needs to resume it.
type Record struct {
	Order
	IdempotencyKey string
	RequestHash    string
	ReservationID  string
	ErrorCode      string
	ErrorMessage   string
	UpdatedAt      time.Time
	// Attempts counts the recovery passes that failed to settle it.
	Attempts int
}

// ErrKeyTaken is what Store.CreatePending returns when another order holds
// the idempotency key.
var ErrKeyTaken = errors.New("idempotency key taken")

// Store is the order service's storage. Every state change is conditional
// on the state it starts from, so concurrent resolvers (a request and the
// recovery loop, or two instances on one PostgreSQL database) cannot undo
// each other's work: a change whose starting state has gone returns
// ErrStateChanged.
type Store interface {
	// CreatePending stores r as a pending order with its requested items;
	// ErrKeyTaken if r.IdempotencyKey is held by another order.
	CreatePending(ctx context.Context, r Record) error
	// Get returns the order with id in any state, or ErrNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// GetByKey returns the order holding idempotency key, or ErrNotFound.
	GetByKey(ctx context.Context, key string) (Record, error)
	// Confirm marks a pending or cancelling order confirmed with its priced
	// items, total and reservation.
	Confirm(ctx context.Context, id string, items []OrderItem, totalCents int64, reservationID string) error
	// Reject marks a pending order rejected with the error to replay.
	Reject(ctx context.Context, id, code, message string) error
	// MarkCancelling marks a pending order as failed, to be undone;
	// reservationID is "" when it is not known.
	MarkCancelling(ctx context.Context, id, reservationID string) error
	// Cancel marks a pending or cancelling order cancelled and frees its
	// idempotency key.
	Cancel(ctx context.Context, id string) error
	// ListConfirmed returns up to limit confirmed orders after ID after,
	// of userID or of everyone when userID is "".
	ListConfirmed(ctx context.Context, userID, after string, limit int) ([]Order, error)
	// ListUnresolved returns up to limit orders the recovery loop must look
	// at: cancelling ones, and pending ones not updated since before, that
	// are not postponed past now; those due longest ago first.
	ListUnresolved(ctx context.Context, before, now time.Time, limit int) ([]Record, error)
	// Postpone keeps the recovery loop off an order it failed to settle
	// until retryAt, and counts the attempt; ErrStateChanged if the order
	// is no longer in status.
	Postpone(ctx context.Context, id, status string, retryAt time.Time) error
	// CountUnresolved counts the orders not yet decided: pending ones (in
	// flight, or orphaned by a crash) and cancelling ones.
	CountUnresolved(ctx context.Context) (Unresolved, error)
	// Purge deletes rejected and cancelled orders last changed before
	// before, and clears the idempotency keys of confirmed orders settled
	// before it, in batches of at most batch orders, each its own short
	// transaction. Confirmed orders and unresolved ones are never deleted.
	Purge(ctx context.Context, before time.Time, batch int) (Purged, error)
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}

// Unresolved counts the orders that are neither confirmed, rejected nor
// cancelled: what requests in flight and the recovery loop have yet to
// decide.
type Unresolved struct {
	Pending    int
	Cancelling int
}

// ErrStateChanged means a conditional state change found the order in
// another state than the one it starts from.
var ErrStateChanged = errors.New("order state changed concurrently")

// Purged counts what a Purge did.
type Purged struct {
	Orders int // rejected and cancelled orders deleted
	Keys   int // idempotency keys of confirmed orders cleared
}
