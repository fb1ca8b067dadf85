package resilience

import (
	"context"
	"time"

	"github.com/go-kit/kit/circuitbreaker"
	"github.com/go-kit/kit/endpoint"
	"github.com/sony/gobreaker"
)

// newBreaker builds the breaker of one instance. Only failures in the sense
// of Settings.IsFailure count against it; business errors and attempts cut
// short by the caller's own context count as successes (gobreaker v1 has no
// "ignore" outcome; see callerDone for the one consequence).
func (d *Dependency) newBreaker(in *instance) *gobreaker.CircuitBreaker {
	s := d.s
	return gobreaker.NewCircuitBreaker(gobreaker.Settings{
		Name:        in.url,
		MaxRequests: s.HalfOpenProbes,
		Interval:    s.BreakerWindow,
		Timeout:     s.BreakerOpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= s.ConsecutiveFailures ||
				(c.Requests >= s.MinRequests &&
					float64(c.TotalFailures) >= s.FailureRatio*float64(c.Requests))
		},
		IsSuccessful: func(err error) bool { return err == nil || in.isSuccessful(err, d.isFailure) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			d.onStateChange(in, from, to)
		},
	})
}

// isSuccessful tells the breaker whether an attempt's outcome speaks well of
// the instance, and remembers the last failure for the state-change log.
func (in *instance) isSuccessful(err error, isFailure func(error) bool) bool {
	if err == nil {
		return true
	}
	if _, ok := err.(*callerDoneError); ok {
		return true
	}
	if !isFailure(err) {
		return true
	}
	failure := err // a copy, so that err itself does not escape on the happy path
	in.lastFailure.Store(&failure)
	return false
}

// onStateChange runs under the breaker's lock: it must not call back into
// the breaker.
func (d *Dependency) onStateChange(in *instance, from, to gobreaker.State) {
	now := time.Since(d.epoch)
	if to == gobreaker.StateOpen {
		in.halfOpenAt.Store(int64(now + d.s.BreakerOpenTimeout))
	}
	setState(in.state, to)
	kv := []any{
		"msg", "circuit breaker state changed",
		"dependency", d.name,
		"instance", in.url,
		"from", from.String(),
		"to", to.String(),
	}
	if to == gobreaker.StateClosed {
		// The instance answers again: the error that opened the breaker is
		// over, and a new one must not be taken for it.
		in.lastFailure.Store(nil)
	} else {
		last := "none"
		if p := in.lastFailure.Load(); p != nil {
			last = (*p).Error()
		}
		kv = append(kv, "last_error", last)
	}
	_ = d.s.Logger.Log(kv...)
}

// Breaker is the circuit breaker middleware of one of d's instances, with
// the caller-cancellation guard (callerDone) inside it: next is that
// instance's attempt, timeout included. Every Breaker of one instance
// shares its breaker. An instance that is not (or no longer) one of d's
// refuses every attempt as an open breaker does, so a balancer skips it.
func (d *Dependency) Breaker(instance string) endpoint.Middleware {
	for _, in := range d.current().instances {
		if in.url == instance {
			return endpoint.Chain(breaker(in), callerDone)
		}
	}
	return func(endpoint.Endpoint) endpoint.Endpoint { return gone }
}

func gone(context.Context, any) (any, error) { return nil, gobreaker.ErrOpenState }

// breaker is the per-instance circuit breaker middleware: go-kit's Gobreaker
// around in's breaker. It returns gobreaker.ErrOpenState and
// gobreaker.ErrTooManyRequests unchanged, for the balancer to skip the
// instance; the balancer turns them into dependency_unavailable when no
// instance is left.
func breaker(in *instance) endpoint.Middleware {
	guard := circuitbreaker.Gobreaker(in.cb)
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		guarded := guard(next)
		return func(ctx context.Context, request any) (any, error) {
			response, err := guarded(ctx, request)
			if cd, ok := err.(*callerDoneError); ok {
				err = cd.err
			}
			return response, err
		}
	}
}

// callerDone sits between the breaker and the timeout. An attempt that
// failed because the caller's context ended (cancelled, or the caller's own
// deadline passed) says nothing about the instance, so its error is marked
// for isSuccessful, and unmarked again by breaker. An attempt ended by its
// own CallTimeout is not the caller's doing and stays a failure.
//
// The one consequence of counting such attempts as successes: in half-open
// state, a probe cut short by its caller counts as a good probe.
func callerDone(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		response, err := next(ctx, request)
		if err != nil && ctx.Err() != nil {
			if _, own := err.(*timeoutError); !own {
				err = &callerDoneError{err: err}
			}
		}
		return response, err
	}
}

// callerDoneError marks an attempt's error as caused by the caller's context.
type callerDoneError struct{ err error }

func (e *callerDoneError) Error() string { return e.err.Error() }
func (e *callerDoneError) Unwrap() error { return e.err }
