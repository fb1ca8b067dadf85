package resilience

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/sony/gobreaker"
)

// balancer spreads attempts over the dependency's current instances by
// load, and skips the instances whose breaker refuses the attempt.
//
// The power of two choices (pick, load.go) says where to start: of two
// instances drawn at random, the one whose latency times calls in flight
// is lower. The attempt walks the ring from there. A breaker that refuses
// answers in well under a microsecond without I/O, so trying it is how an
// open instance is skipped, and there is no gap between looking at a
// breaker's state and using it. Each instance is tried at most once per
// attempt; a failure counts as a call of at least CallTimeout, so a retry
// usually lands on another instance. The instance set is an immutable
// snapshot behind an atomic pointer: the hot path takes no lock, and a
// change of instances costs one rebuild of the ring.
type balancer struct {
	d           *Dependency
	perInstance func(instance string) endpoint.Endpoint
	ring        atomic.Pointer[ring]
	mu          sync.Mutex // serialises rebuilds
}

// ring is the balancer's attempts for one instance set: attempts[i] goes to
// set.instances[i]. It is rebuilt when the dependency's set changes, keeping
// the endpoints of instances that stay.
type ring struct {
	set      *instanceSet
	attempts []endpoint.Endpoint
}

// Balance returns the balancing endpoint over d's current instances: one
// attempt goes to the less loaded of two instances drawn at random,
// skipping those whose Breaker
// refuses, and answers dependency_unavailable when all refuse or there is
// no instance. perInstance builds each instance's endpoint, which should
// begin with d.Breaker(instance); it is called once per instance, when the
// balancer first sees the instance.
func (d *Dependency) Balance(perInstance func(instance string) endpoint.Endpoint) endpoint.Endpoint {
	b := &balancer{d: d, perInstance: perInstance}
	b.ringFor(d.current())
	return b.call
}

func (b *balancer) call(ctx context.Context, request any) (any, error) {
	r := b.ring.Load()
	if set := b.d.current(); r.set != set {
		r = b.ringFor(set)
	}
	n := len(r.attempts)
	if n == 0 {
		return nil, b.d.noInstances()
	}
	return b.walk(ctx, request, r, pick(r.set.instances, b.d.sinceEpoch()))
}

// ringFor returns the ring of set, building it if needed.
func (b *balancer) ringFor(set *instanceSet) *ring {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.ring.Load()
	if old != nil && old.set == set {
		return old
	}
	built := make(map[*instance]endpoint.Endpoint)
	if old != nil {
		for i, in := range old.set.instances {
			built[in] = old.attempts[i]
		}
	}
	r := &ring{set: set, attempts: make([]endpoint.Endpoint, len(set.instances))}
	for i, in := range set.instances {
		if e, ok := built[in]; ok {
			r.attempts[i] = e
		} else {
			r.attempts[i] = b.perInstance(in.url)
		}
	}
	b.ring.Store(r)
	return r
}

// walk tries the instances from start on, returning the first outcome that
// is not a breaker's refusal. If every breaker refuses, it returns
// dependency_unavailable with RetryAfter the time until the soonest
// instance may take a request again: for an open breaker, until it turns
// half-open; for a half-open one whose probes are all out, one CallTimeout,
// by when those probes have an answer.
func (b *balancer) walk(ctx context.Context, request any, r *ring, start int) (any, error) {
	n := len(r.attempts)
	retryAfter := time.Duration(math.MaxInt64)
	var refusal error
	var now time.Time
	for k := range n {
		i := (start + k) % n
		in := r.set.instances[i]
		in.load.inflight.Add(1)
		began := b.d.sinceEpoch()
		response, err := r.attempts[i](ctx, request)
		in.load.inflight.Add(-1)
		switch err {
		case gobreaker.ErrOpenState:
			if now.IsZero() {
				now = time.Now()
			}
			retryAfter = min(retryAfter, b.d.untilHalfOpen(r.set.instances[i], now))
		case gobreaker.ErrTooManyRequests:
			retryAfter = min(retryAfter, b.d.s.CallTimeout)
		default:
			now := b.d.sinceEpoch()
			latency := now - began
			if err != nil && b.d.isFailure(err) {
				// A failure costs the caller a retry: count it as a call
				// of at least CallTimeout, so the next attempt goes
				// elsewhere.
				latency = max(latency, int64(b.d.s.CallTimeout))
			}
			in.load.observe(now, latency)
			return response, err
		}
		refusal = err
	}
	return nil, kitshop.DependencyUnavailable(b.d.name, retryAfter, refusal)
}

// isShortCircuit tells whether err is the balancer's refusal: every
// instance's breaker refused, or there was no instance; nothing was sent.
func isShortCircuit(err error) bool {
	e, ok := err.(*kitshop.Error)
	if !ok || e.Code != kitshop.CodeDependencyUnavailable {
		return false
	}
	cause := e.Unwrap()
	return cause == gobreaker.ErrOpenState || cause == gobreaker.ErrTooManyRequests ||
		cause == errNoInstances
}
