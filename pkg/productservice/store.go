package productservice

import (
	"context"
	"time"
)

// Store is the product service's storage. Implementations guarantee, also
// under concurrent use from several processes:
//   - stock never goes negative, and a reservation takes all its items or
//     none;
//   - a reservation's stock comes back at most once, whoever releases or
//     expires it;
//   - an idempotency key has at most one owner at a time, and at most one
//     outcome, recorded in the transaction that took the stock.
//
// Methods return the service's typed errors; anything else is wrapped in
// kitshop.Internal.
type Store interface {
	// CreateProduct stores p.
	CreateProduct(ctx context.Context, p Product) error
	// GetProduct returns the product with id, or ErrNotFound.
	GetProduct(ctx context.Context, id string) (Product, error)
	// ListProducts returns up to limit products with IDs greater than
	// after, in ID order.
	ListProducts(ctx context.Context, after string, limit int) ([]Product, error)

	// ClaimIdempotencyKey is phase one of an idempotent Reserve, in its own
	// short transaction. For a new key it records an in-progress claim for
	// requestHash and returns it. For a known key:
	//   - another requestHash: ErrIdempotencyKeyReused;
	//   - completed: a Claim with Completed set, holding the outcome to
	//     replay;
	//   - in progress since staleBefore or later: ErrRequestInProgress;
	//   - in progress from before staleBefore (its owner most likely
	//     crashed): the claim is taken over and returned, and the former
	//     owner can no longer record an outcome.
	ClaimIdempotencyKey(ctx context.Context, key, requestHash string, now, staleBefore time.Time) (Claim, error)
	// Reserve is phase two: in one transaction it takes the stock of every
	// item of r (all or none), fills in the current unit prices, stores r
	// and records the outcome under claim. Business errors
	// (ErrInsufficientStock, ErrUnknownProduct) are recorded as the
	// outcome too, and replayed by later claims. Amounts that do not fit
	// in int64 (a line's quantity times its price, or the total) are an
	// invalid_argument naming the field, and nothing is done. If claim was taken over
	// meanwhile nothing is done and the error is ErrRequestInProgress.
	Reserve(ctx context.Context, claim Claim, r Reservation, now time.Time) (Reservation, error)
	// DropClaim deletes claim if it is still in progress and still ours,
	// so that a retry after an internal error can claim the key again.
	DropClaim(ctx context.Context, claim Claim) error

	// ConfirmReservation confirms a held, unexpired reservation; see
	// Service.ConfirmReservation. A held one past its expiry is expired on
	// the spot (stock back) and is ErrReservationExpired.
	ConfirmReservation(ctx context.Context, id string, now time.Time) (Reservation, error)
	// ReleaseReservation releases a held reservation and gives its stock
	// back; see Service.ReleaseReservation.
	ReleaseReservation(ctx context.Context, id string, now time.Time) error
	// ExpireReservations expires every held reservation whose expiry is at
	// or before now, giving its stock back, and says how many it expired.
	ExpireReservations(ctx context.Context, now time.Time) (int, error)
	// ListReservations returns up to limit reservations with IDs greater
	// than after, in ID order, only those with status unless it is "".
	ListReservations(ctx context.Context, status, after string, limit int) ([]Reservation, error)

	// PurgeSettled deletes what only idempotency needs, once it has been
	// settled since before: idempotency records (completed, or claimed and
	// abandoned), then released and expired reservations that no record
	// refers to, in batches of at most batch rows, each its own short
	// transaction. Products and held or confirmed reservations are never
	// touched.
	PurgeSettled(ctx context.Context, before time.Time, batch int) (Purged, error)

	// Ping checks that the store answers, for readiness.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Claim is an idempotency key claimed for one Reserve call, or, when
// Completed, the recorded outcome of the call that first used the key.
type Claim struct {
	// Key is the idempotency key.
	Key string
	// Token identifies this owner of the key: a takeover gives the key a
	// new token, and only the current token can record an outcome.
	Token string

	// Completed says the key already has an outcome: Reservation (exactly
	// as first returned, status held) or Err.
	Completed   bool
	Reservation Reservation
	Err         error
}

// Purged counts what a PurgeSettled deleted.
type Purged struct {
	IdempotencyKeys int
	Reservations    int
}
