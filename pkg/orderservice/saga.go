package orderservice

import (
	"context"
	"errors"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
)

// cleanupBudget bounds the store writes that record a failed saga, which
// run even when the request's own context has ended.
const cleanupBudget = 2 * time.Second

// reservationKey is the Idempotency-Key of an order's reservation: derived
// from the order ID, so every retry and every resumption of the saga
// reserves the same stock at most once.
func reservationKey(orderID string) string { return "order:" + orderID }

// runSaga takes a pending order through user check, reservation and
// confirmation. Each step is safe to repeat. When a dependency fails, a
// request's saga (resuming false) records the order as failed so that its
// reservation is released, and answers 503; a resumed saga (resuming true)
// leaves the order pending to try again later.
func (o *orders) runSaga(ctx context.Context, r Record, resuming bool) (Order, error) {
	if _, err := o.users.GetUser(ctx, r.UserID); err != nil {
		if errors.Is(err, userservice.ErrNotFound) {
			return o.reject(ctx, r, ErrUnknownUser.WithMessage("user %s does not exist", r.UserID))
		}
		// Nothing was reserved yet: the order can be dropped at once.
		return o.fail(ctx, r, false, "", unavailable(DependencyUser, err), resuming)
	}

	rsv, err := o.products.Reserve(ctx, o.reserveRequest(r))
	if err != nil {
		if errors.Is(err, productservice.ErrUnknownProduct) || errors.Is(err, productservice.ErrInsufficientStock) ||
			isInvalidArgument(err) {
			// Refused, nothing taken; an invalid_argument names a field of
			// the order (its lines are the reservation's, in order).
			return o.reject(ctx, r, kitshop.AsError(err))
		}
		return o.fail(ctx, r, true, "", unavailable(DependencyProduct, err), resuming)
	}
	if _, _, err := priced(rsv); err != nil {
		// An order whose total cannot be computed is never confirmed: its
		// stock goes back and the order is refused.
		if rerr := o.products.ReleaseReservation(ctx, rsv.ID); rerr != nil && !errors.Is(rerr, productservice.ErrNotFound) {
			return o.fail(ctx, r, true, rsv.ID, unavailable(DependencyProduct, rerr), resuming)
		}
		return o.reject(ctx, r, kitshop.AsError(err))
	}

	if _, err := o.products.ConfirmReservation(ctx, rsv.ID); err != nil {
		if errors.Is(err, productservice.ErrReservationExpired) {
			// The hold lapsed (the saga was interrupted for longer than the
			// reservation TTL) and its stock is back: drop the order.
			wctx, cancel := detach(ctx)
			defer cancel()
			if cerr := o.store.Cancel(wctx, r.ID); cerr != nil && !errors.Is(cerr, ErrStateChanged) {
				return Order{}, cerr
			}
			return Order{}, kitshop.DependencyUnavailable(DependencyProduct, time.Second, err)
		}
		return o.fail(ctx, r, true, rsv.ID, unavailable(DependencyProduct, err), resuming)
	}
	return o.complete(ctx, r, rsv)
}

func (o *orders) reserveRequest(r Record) productservice.ReserveRequest {
	items := make([]productservice.ReserveItem, len(r.Items))
	for i, it := range r.Items {
		items[i] = productservice.ReserveItem{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return productservice.ReserveRequest{IdempotencyKey: reservationKey(r.ID), OrderID: r.ID, Items: items}
}

// complete records a confirmed reservation's order as confirmed, priced as
// the product service priced the reservation.
func (o *orders) complete(ctx context.Context, r Record, rsv productservice.Reservation) (Order, error) {
	items, sum, err := priced(rsv)
	if err != nil {
		// Only a reservation confirmed before its total was checked gets
		// here; the recovery loop postpones it, it never confirms it.
		return Order{}, kitshop.Internal(err)
	}
	wctx, cancel := detach(ctx)
	defer cancel()
	if err := o.store.Confirm(wctx, r.ID, items, sum, rsv.ID); err != nil {
		if errors.Is(err, ErrStateChanged) {
			return o.settled(wctx, r.ID)
		}
		return Order{}, err
	}
	order := r.Order
	order.Items, order.TotalCents, order.Status = items, sum, StatusConfirmed
	return order, nil
}

// priced returns a reservation's lines as order items, with their total;
// amounts that do not fit in int64 are an invalid_argument naming the
// field.
func priced(rsv productservice.Reservation) ([]OrderItem, int64, error) {
	items := make([]OrderItem, len(rsv.Items))
	for i, it := range rsv.Items {
		items[i] = OrderItem{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceCents: it.UnitPriceCents}
	}
	sum, err := total(items)
	return items, sum, err
}

// settled reads back an order another resolver finished first.
func (o *orders) settled(ctx context.Context, id string) (Order, error) {
	cur, err := o.store.Get(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if cur.Status == StatusConfirmed {
		return cur.Order, nil
	}
	return Order{}, stillResolving(time.Second)
}

// reject records a business refusal, to be replayed for the same key.
func (o *orders) reject(ctx context.Context, r Record, cause *kitshop.Error) (Order, error) {
	wctx, cancel := detach(ctx)
	defer cancel()
	if err := o.store.Reject(wctx, r.ID, string(cause.Code), cause.Message); err != nil && !errors.Is(err, ErrStateChanged) {
		return Order{}, err
	}
	return Order{}, cause
}

// fail handles a dependency failure. A resumed saga leaves the order as it
// is. A request's saga drops the order when nothing can have been reserved,
// and otherwise marks it cancelling for the recovery loop, which releases
// whatever the product service holds for it.
func (o *orders) fail(ctx context.Context, r Record, mayHoldStock bool, reservationID string, cause error, resuming bool) (Order, error) {
	if resuming {
		return Order{}, cause
	}
	wctx, cancel := detach(ctx)
	defer cancel()
	var err error
	if mayHoldStock {
		err = o.store.MarkCancelling(wctx, r.ID, reservationID)
	} else {
		err = o.store.Cancel(wctx, r.ID)
	}
	if err != nil && !errors.Is(err, ErrStateChanged) {
		_ = o.logger.Log("msg", "cannot record failed order; recovery will resume it", "order_id", r.ID, "err", err)
	}
	return Order{}, cause
}

// detach returns a context for bookkeeping writes that must happen even
// when the request's context has ended, bounded by cleanupBudget.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), cleanupBudget)
}

// unavailable turns a failed dependency call into the 503 the caller gets.
// Errors that are not failures (a 4xx the saga did not expect) are
// internal errors: they mean a bug, not an outage.
func unavailable(dependency string, err error) error {
	var e *kitshop.Error
	isAPIError := errors.As(err, &e)
	switch {
	case isAPIError && e.Code == kitshop.CodeDependencyUnavailable && e.Dependency == dependency:
		return e // already the answer (an open breaker, exhausted retries)
	case errors.Is(err, productservice.ErrRequestInProgress):
		// An earlier attempt of ours is still running at the product
		// service: transient.
	case isAPIError && !transport.IsFailure(err):
		return kitshop.Internal(err)
	}
	wait := time.Second
	if isAPIError && e.RetryAfter > 0 {
		wait = e.RetryAfter
	}
	return kitshop.DependencyUnavailable(dependency, wait, err)
}
