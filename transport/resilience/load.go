package resilience

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// decayHalfLife is how fast what the balancer knows of an instance's
// latency fades when nothing new is observed: an instance it stopped
// choosing because it was slow is tried again after a few half-lives, and
// its next answers decide.
const decayHalfLife = time.Second

// load is what the balancer knows of one instance's load, shared by every
// method's balancer of the dependency: the calls in flight to it and a
// peak-sensitive moving average of its latency (Finagle's and Linkerd's
// peak EWMA: a slower answer counts at once, a faster one an eighth at a
// time), fading by half every decayHalfLife it goes unobserved.
type load struct {
	inflight atomic.Int64
	ewma     atomic.Int64 // nanoseconds
	stamp    atomic.Int64 // when ewma was last observed, ns since Dependency.epoch
}

// cost is the expected wait of one more call: the latency times the calls
// already waiting (each plus one, so an instance with no history still
// counts its load, and an idle one its latency).
func (l *load) cost(now int64) int64 {
	e := l.ewma.Load()
	if age := now - l.stamp.Load(); age >= int64(decayHalfLife) {
		if halves := age / int64(decayHalfLife); halves >= 62 {
			e = 0
		} else {
			e >>= halves
		}
	}
	return (e + 1) * (l.inflight.Load() + 1)
}

// observe folds one answer's latency into the average.
func (l *load) observe(now, latency int64) {
	for {
		old := l.ewma.Load()
		next := latency
		if latency < old {
			next = old + (latency-old)/8
		}
		if l.ewma.CompareAndSwap(old, next) {
			break
		}
	}
	l.stamp.Store(now)
}

// pick chooses where an attempt starts among n instances: the cheaper of
// two picked at random (the power of two choices), so a slow or busy
// instance loses its traffic long before its breaker would open, while no
// instance is ever starved of the answers that would clear its name.
func pick(instances []*instance, now int64) int {
	n := len(instances)
	if n < 2 {
		return 0
	}
	i := rand.IntN(n)
	j := rand.IntN(n - 1)
	if j >= i {
		j++
	}
	if instances[j].load.cost(now) < instances[i].load.cost(now) {
		return j
	}
	return i
}

// sinceEpoch is now on the dependency's monotonic clock, in nanoseconds.
func (d *Dependency) sinceEpoch() int64 { return int64(time.Since(d.epoch)) }
