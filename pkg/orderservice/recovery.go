package orderservice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/productservice"
)

// recoveryBatch bounds the orders one Recover pass looks at.
const recoveryBatch = 100

// An order a pass fails to settle is postponed by retryBase, doubled at
// every failed attempt: up to retryMaxOutage while the cause is a
// dependency that could not answer (it heals, and the order must follow
// soon after), up to retryMax for any other cause (an order that can never
// be settled costs a few calls an hour instead of three a second). Either
// way it leaves the batch to the orders behind it.
const (
	retryBase      = time.Second
	retryMaxOutage = 4 * time.Second
	retryMax       = 5 * time.Minute
)

// Recoverer finishes or undoes the orders that were left half done. The
// Service NewService returns is one; the recovery shares its knowledge of
// which orders this process is still working on, so it is not built apart.
type Recoverer interface {
	// Recover makes one pass and returns how many orders it settled.
	Recover(ctx context.Context) (settled int, err error)
	// RunRecovery runs Recover at once and then every interval until ctx
	// ends.
	RunRecovery(ctx context.Context, interval time.Duration)
}

var _ Recoverer = (*orders)(nil)

// retryDelay is how long to leave an order alone after its attempts-th
// failed attempt (1 for the first), which failed with cause.
func retryDelay(attempts int, cause error) time.Duration {
	limit := retryMax
	var e *kitshop.Error
	if errors.As(cause, &e) && e.Code == kitshop.CodeDependencyUnavailable {
		limit = retryMaxOutage
	}
	if attempts < 1 {
		attempts = 1
	}
	if attempts > 20 {
		return limit
	}
	return min(retryBase<<(attempts-1), limit)
}

// Recover finishes or undoes the orders that were left half done: pending
// orders nobody has advanced for the orphan age (their request died with a
// crashed process) are taken forward through the saga, which is safe to
// repeat; cancelling orders (a request failed after it may have reserved
// stock) have their reservation released. It returns how many orders it
// settled. A dependency that is down stops nothing: those orders wait for
// the next pass. An order that fails to settle is postponed (retryDelay),
// so that orders which cannot be settled never hold up the others.
func (o *orders) Recover(ctx context.Context) (int, error) {
	if err := o.gatesOpen(); err != nil {
		return 0, nil // nothing can progress while a dependency is known down
	}
	now := o.now()
	records, err := o.store.ListUnresolved(ctx, now.Add(-o.orphanAge), now, recoveryBatch)
	if err != nil {
		return 0, err
	}
	settled := 0
	for _, r := range records {
		if ctx.Err() != nil {
			break
		}
		err := o.resolve(ctx, r)
		switch {
		case err == nil:
			settled++
		case errors.Is(err, ErrRequestInProgress) || ctx.Err() != nil:
			// Someone here is at it, or we are stopping: not its failure.
		default:
			o.postpone(ctx, r, err)
		}
	}
	return settled, ctx.Err()
}

// postpone puts an order the recovery loop failed to settle back by its
// retry delay, with one log line.
func (o *orders) postpone(ctx context.Context, r Record, cause error) {
	delay := retryDelay(r.Attempts+1, cause)
	wctx, cancel := detach(ctx)
	defer cancel()
	err := o.store.Postpone(wctx, r.ID, r.Status, o.now().Add(delay))
	if errors.Is(err, ErrStateChanged) {
		return // settled meanwhile by someone else
	}
	if err != nil {
		cause = fmt.Errorf("%w (and postponing it: %v)", cause, err)
	}
	_ = o.logger.Log("msg", "order not resolved yet", "order_id", r.ID, "status", r.Status,
		"attempts", r.Attempts+1, "retry_in", delay, "err", cause)
}

// RunRecovery runs Recover at once and then every interval until ctx ends.
func (o *orders) RunRecovery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := o.Recover(ctx); err != nil && ctx.Err() == nil {
			_ = o.logger.Log("msg", "recovery pass failed", "err", err)
		} else if n > 0 {
			_ = o.logger.Log("msg", "recovered orders", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// resolve settles one unresolved order: forward for pending, back for
// cancelling. Only one resolution of an order runs in this process at once.
func (o *orders) resolve(ctx context.Context, r Record) error {
	if !o.claim(r.ID) {
		return ErrRequestInProgress
	}
	defer o.release(r.ID)
	switch r.Status {
	case StatusPending:
		_, err := o.runSaga(ctx, r, true)
		if isBusinessRefusal(err) {
			return nil // recorded as rejected
		}
		return err
	case StatusCancelling:
		return o.undo(ctx, r)
	}
	return nil
}

// undo releases what the product service holds for a failed order, and
// then drops the order, freeing its key. The reservation is found again by
// replaying the order's reservation request under the same idempotency
// key, which returns the original reservation if there is one. If the
// reservation turns out to be confirmed already (the confirmation went
// through but its answer was lost), the order is completed instead: stock
// is never taken for an order that does not exist, nor an order kept
// without its stock.
func (o *orders) undo(ctx context.Context, r Record) error {
	rsv, err := o.products.Reserve(ctx, o.reserveRequest(r))
	switch {
	case errors.Is(err, productservice.ErrUnknownProduct), errors.Is(err, productservice.ErrInsufficientStock),
		isInvalidArgument(err):
		return o.store.Cancel(ctx, r.ID) // nothing is held
	case err != nil:
		return err
	}
	err = o.products.ReleaseReservation(ctx, rsv.ID)
	switch {
	case err == nil, errors.Is(err, productservice.ErrNotFound):
		return o.store.Cancel(ctx, r.ID)
	case errors.Is(err, productservice.ErrAlreadyConfirmed):
		_, err = o.complete(ctx, r, rsv)
		return err
	}
	return err
}

func isBusinessRefusal(err error) bool {
	return errors.Is(err, ErrUnknownUser) || errors.Is(err, ErrUnknownProduct) || errors.Is(err, ErrInsufficientStock) ||
		isInvalidArgument(err)
}

// isInvalidArgument tells a refusal of the request itself (at the product
// service: amounts that overflow), which no retry can change.
func isInvalidArgument(err error) bool {
	var e *kitshop.Error
	return errors.As(err, &e) && e.Code == kitshop.CodeInvalidArgument
}
