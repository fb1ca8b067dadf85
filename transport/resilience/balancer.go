package resilience

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/kit/sd/lb"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/sony/gobreaker"
)

// balancer spreads attempts over the instances in round robin and skips the
// instances whose breaker refuses the attempt.
//
// go-kit's round robin picks where to start; the entry it picks walks the
// ring from there. A breaker that refuses answers in well under a
// microsecond without I/O, so trying it is how an open instance is skipped,
// and there is no gap between looking at a breaker's state and using it.
// Each instance is tried at most once per attempt, and since the round
// robin moves on with every attempt, a retry usually lands on another
// instance.
type balancer struct {
	d        *Dependency
	attempts []endpoint.Endpoint // one per instance, in d.instances order
	rr       lb.Balancer
}

// Balance returns the balancing endpoint over d's instances: one attempt
// goes to one instance in round robin, skipping those whose Breaker
// refuses, and answers dependency_unavailable when all refuse. perInstance
// builds each instance's endpoint, which should begin with d.Breaker(instance);
// it is called once per instance, now.
func (d *Dependency) Balance(perInstance func(instance string) endpoint.Endpoint) endpoint.Endpoint {
	attempts := make([]endpoint.Endpoint, len(d.instances))
	for i, in := range d.instances {
		attempts[i] = perInstance(in.url)
	}
	b := &balancer{d: d, attempts: attempts}
	starts := make(sd.FixedEndpointer, len(attempts))
	for i := range attempts {
		starts[i] = b.startingAt(i)
	}
	b.rr = lb.NewRoundRobin(starts)
	return b.call
}

func (b *balancer) call(ctx context.Context, request any) (any, error) {
	walk, err := b.rr.Endpoint()
	if err != nil { // only with no instances, which NewDependency refuses
		return nil, fmt.Errorf("%s: balancer: %w", b.d.name, err)
	}
	return walk(ctx, request)
}

func (b *balancer) startingAt(start int) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		return b.walk(ctx, request, start)
	}
}

// walk tries the instances from start on, returning the first outcome that
// is not a breaker's refusal. If every breaker refuses, it returns
// dependency_unavailable with RetryAfter the time until the soonest
// instance may take a request again: for an open breaker, until it turns
// half-open; for a half-open one whose probes are all out, one CallTimeout,
// by when those probes have an answer.
func (b *balancer) walk(ctx context.Context, request any, start int) (any, error) {
	n := len(b.attempts)
	retryAfter := time.Duration(math.MaxInt64)
	var refusal error
	var now time.Time
	for k := range n {
		i := (start + k) % n
		response, err := b.attempts[i](ctx, request)
		switch err {
		case gobreaker.ErrOpenState:
			if now.IsZero() {
				now = time.Now()
			}
			retryAfter = min(retryAfter, b.d.untilHalfOpen(b.d.instances[i], now))
		case gobreaker.ErrTooManyRequests:
			retryAfter = min(retryAfter, b.d.s.CallTimeout)
		default:
			return response, err
		}
		refusal = err
	}
	return nil, kitshop.DependencyUnavailable(b.d.name, retryAfter, refusal)
}

// isShortCircuit tells whether err is walk's refusal: every instance's
// breaker refused, nothing was sent.
func isShortCircuit(err error) bool {
	e, ok := err.(*kitshop.Error)
	if !ok || e.Code != kitshop.CodeDependencyUnavailable {
		return false
	}
	cause := e.Unwrap()
	return cause == gobreaker.ErrOpenState || cause == gobreaker.ErrTooManyRequests
}
