package resilience

import (
	"context"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"
)

// Timeout is the per-attempt middleware of d: it gives each attempt the deadline min(CallTimeout, caller's
// deadline). When the caller's deadline is the sooner one, the caller's
// context already carries the attempt's deadline and is passed on as it is,
// which saves a context and a timer; otherwise the attempt gets its own.
//
// A failure that comes back after the attempt's own deadline passed is
// returned as a *timeoutError (which matches context.DeadlineExceeded) and
// counted in dependency_timeouts_total. Expiry of the caller's deadline is
// not counted: it is the caller's budget, not the dependency, that ran out.
func (d *Dependency) Timeout() endpoint.Middleware { return d.timeout }

func (d *Dependency) timeout(next endpoint.Endpoint) endpoint.Endpoint {
	limit := d.s.CallTimeout
	return func(ctx context.Context, request any) (any, error) {
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= limit {
			return next(ctx, request)
		}
		attemptCtx, cancel := context.WithTimeout(ctx, limit)
		response, err := next(attemptCtx, request)
		// The own deadline is sooner than the caller's, so DeadlineExceeded
		// here means the own timer fired.
		timedOut := attemptCtx.Err() == context.DeadlineExceeded
		cancel()
		if err != nil && timedOut && d.s.IsFailure(err) {
			d.metrics.timeout()
			err = &timeoutError{limit: limit, err: err}
		}
		return response, err
	}
}

// timeoutError is an attempt that ran out of its own CallTimeout.
type timeoutError struct {
	limit time.Duration
	err   error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("attempt timed out after %v: %v", e.limit, e.err)
}

// Unwrap lets errors.Is(err, context.DeadlineExceeded) hold whatever the
// endpoint returned, and keeps the endpoint's own error reachable.
func (e *timeoutError) Unwrap() []error { return []error{context.DeadlineExceeded, e.err} }

// Timeout reports true, as net.Error does for timeouts.
func (e *timeoutError) Timeout() bool { return true }
