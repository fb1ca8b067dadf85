package resilience

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/go-kit/kit/endpoint"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// defaultRetryAfter is the RetryAfter of a give-up error when the last
// failure did not carry one of its own.
const defaultRetryAfter = time.Second

// minAttemptBudget is the least time a later attempt must have before the
// caller's deadline, after its backoff wait, to be worth starting: a tenth
// of CallTimeout. Below that, the call gives up at once rather than sleep
// and then send an attempt that would most likely be cut short anyway. The
// first attempt is always made while the caller's context is live.
func (s Settings) minAttemptBudget() time.Duration { return s.CallTimeout / 10 }

// newBackOff is the wait policy of one call: backoff/v4's exponential
// backoff, doubling from BackoffInitial with +-50% jitter, every wait capped
// at BackoffMax (jitter included), and Stop after MaxAttempts-1 waits. The
// caller's context, not MaxElapsedTime, bounds the total.
func (s Settings) newBackOff() backoff.BackOff {
	exp := &backoff.ExponentialBackOff{
		InitialInterval:     s.BackoffInitial,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         s.BackoffMax,
		MaxElapsedTime:      0,
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	b := backoff.WithMaxRetries(&cappedBackOff{ExponentialBackOff: exp, max: s.BackoffMax}, uint64(s.MaxAttempts-1))
	b.Reset()
	return b
}

// cappedBackOff caps the randomized wait, where ExponentialBackOff caps only
// the interval before jitter.
type cappedBackOff struct {
	*backoff.ExponentialBackOff
	max time.Duration
}

func (b *cappedBackOff) NextBackOff() time.Duration {
	next := b.ExponentialBackOff.NextBackOff()
	if next != backoff.Stop && next > b.max {
		next = b.max
	}
	return next
}

// Retry is the outermost middleware of d: up to MaxAttempts attempts of
// next with backoff and jitter, never past the caller's context (see
// callWithRetry for when it stops). It is our own loop over backoff/v4's
// policy rather than backoff.Retry, because backoff.Retry returns ctx.Err()
// in place of the last failure, and cannot honour a failure's RetryAfter or
// decline an attempt that the caller's deadline would cut short.
func (d *Dependency) Retry() endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			return d.callWithRetry(ctx, next, request)
		}
	}
}

// callWithRetry makes up to MaxAttempts attempts. It returns at once, with
// no further attempt: on success; on a business error, as it is; on an
// error wrapped in backoff.Permanent; when every instance was short-
// circuited; and when a failure has just left every breaker open.
// Otherwise it waits the backoff (or the failure's RetryAfter from a
// 429/503, if longer) and tries again, unless the caller's context ended or
// its deadline would leave the next attempt less than minAttemptBudget.
// Every failure result is a dependency_unavailable *kitshop.Error whose
// chain holds the last attempt's error.
func (d *Dependency) callWithRetry(ctx context.Context, next endpoint.Endpoint, request any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, d.gaveUp(nil, fmt.Errorf("caller's context ended before the first attempt: %w", err))
	}
	var policy backoff.BackOff // built at the first failure: the happy path pays nothing for it
	for attempt := 1; ; attempt++ {
		response, err := next(ctx, request)
		if err == nil {
			return response, nil
		}
		if isShortCircuit(err) {
			d.metrics.shortCircuit()
			return nil, err
		}
		var permanent *backoff.PermanentError
		isPermanent := errors.As(err, &permanent)
		if isPermanent {
			err = permanent.Err
		}
		if !d.isFailure(err) {
			return nil, err
		}
		if isPermanent {
			return nil, d.gaveUp(err, fmt.Errorf("attempt %d failed and may not be retried: %w", attempt, err))
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, d.gaveUp(err, fmt.Errorf("caller's context ended (%w) after %d attempt(s); last error: %w", ctxErr, attempt, err))
		}
		if policy == nil {
			policy = d.s.newBackOff()
		}
		wait := policy.NextBackOff()
		if wait == backoff.Stop {
			return nil, d.gaveUp(err, fmt.Errorf("all %d attempts failed; last error: %w", attempt, err))
		}
		if refusal := d.allOpen(); refusal != nil { // a sleep would end in a refusal
			return nil, kitshop.DependencyUnavailable(d.name, refusal.RetryAfter,
				fmt.Errorf("%d attempt(s) failed and left every instance's breaker open; last error: %w", attempt, err))
		}
		wait = max(wait, retryAfterOf(err))
		if deadline, ok := ctx.Deadline(); ok {
			if left := time.Until(deadline) - wait; left < d.s.minAttemptBudget() {
				return nil, d.gaveUp(err, fmt.Errorf("%d attempt(s) failed and the caller's deadline leaves too little time for another (%v after a %v wait); last error: %w", attempt, left, wait, err))
			}
		}
		if !sleep(ctx, wait) {
			return nil, d.gaveUp(err, fmt.Errorf("caller's context ended (%w) after %d attempt(s); last error: %w", ctx.Err(), attempt, err))
		}
		d.metrics.retry()
	}
}

// gaveUp is the one failure result of an Endpoint: the typed 503, with the
// last failure's own RetryAfter if it carried one.
func (d *Dependency) gaveUp(last, cause error) *kitshop.Error {
	retryAfter := retryAfterOf(last)
	if retryAfter == 0 {
		retryAfter = defaultRetryAfter
	}
	return kitshop.DependencyUnavailable(d.name, retryAfter, cause)
}

// retryAfterOf is the RetryAfter that a 429 or 503 *kitshop.Error carries,
// or zero.
func retryAfterOf(err error) time.Duration {
	var e *kitshop.Error
	if err == nil || !errors.As(err, &e) {
		return 0
	}
	if s := transport.Status(err); s != http.StatusTooManyRequests && s != http.StatusServiceUnavailable {
		return 0
	}
	return max(e.RetryAfter, 0)
}

// sleep waits for d or until ctx ends, and tells whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
