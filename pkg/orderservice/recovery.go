package orderservice

import (
	"context"
	"errors"
	"time"

	"github.com/kitshop/kitshop/pkg/productservice"
)

// recoveryBatch bounds the orders one Recover pass looks at.
const recoveryBatch = 100

// Recover finishes or undoes the orders that were left half done: pending
// orders nobody has advanced for the orphan age (their request died with a
// crashed process) are taken forward through the saga, which is safe to
// repeat; cancelling orders (a request failed after it may have reserved
// stock) have their reservation released. It returns how many orders it
// settled. A dependency that is down stops nothing: those orders wait for
// the next pass.
func (o *Orders) Recover(ctx context.Context) (int, error) {
	if err := o.gatesOpen(); err != nil {
		return 0, nil // nothing can progress while a dependency is known down
	}
	records, err := o.store.ListUnresolved(ctx, o.now().Add(-o.orphanAge), recoveryBatch)
	if err != nil {
		return 0, err
	}
	settled := 0
	for _, r := range records {
		if ctx.Err() != nil {
			break
		}
		if err := o.resolve(ctx, r); err != nil {
			_ = o.logger.Log("msg", "order not resolved yet", "order_id", r.ID, "status", r.Status, "err", err)
			continue
		}
		settled++
	}
	return settled, ctx.Err()
}

// RunRecovery runs Recover at once and then every interval until ctx ends.
func (o *Orders) RunRecovery(ctx context.Context, interval time.Duration) {
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
func (o *Orders) resolve(ctx context.Context, r Record) error {
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
func (o *Orders) undo(ctx context.Context, r Record) error {
	rsv, err := o.products.Reserve(ctx, o.reserveRequest(r))
	switch {
	case errors.Is(err, productservice.ErrUnknownProduct), errors.Is(err, productservice.ErrInsufficientStock):
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
	return errors.Is(err, ErrUnknownUser) || errors.Is(err, ErrUnknownProduct) || errors.Is(err, ErrInsufficientStock)
}
