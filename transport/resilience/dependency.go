package resilience

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker"
)

// Settings configure one dependency, in the manner of gobreaker.Settings: a
// zero field takes the documented default, so Settings{} is a sound
// configuration.
type Settings struct {
	// CallTimeout bounds one attempt; the attempt's deadline is the sooner of
	// this and the caller's deadline. Default 1s.
	CallTimeout time.Duration
	// MaxAttempts is the most attempts one call makes, the first included.
	// Default 3; 1 disables retries.
	MaxAttempts int
	// BackoffInitial is the mean wait before the second attempt; each later
	// wait doubles, with +-50% jitter. Default 50ms.
	BackoffInitial time.Duration
	// BackoffMax caps every wait, jitter included. Default 1s.
	BackoffMax time.Duration
	// BreakerOpenTimeout is how long a breaker stays open before it lets
	// probes through (half-open). Default 5s.
	BreakerOpenTimeout time.Duration
	// BreakerWindow is the period after which a closed breaker forgets its
	// counts, so old failures do not add up with new ones. Default 10s.
	BreakerWindow time.Duration
	// ConsecutiveFailures trips a closed breaker after this many failures in
	// a row. Default 5.
	ConsecutiveFailures uint32
	// FailureRatio also trips a closed breaker when failures/requests within
	// the window reach it, once MinRequests requests were counted; it must lie
	// in (0, 1]. Default 0.5. To trip on ConsecutiveFailures alone, set
	// MinRequests above any count the window can reach.
	FailureRatio float64
	// MinRequests is the least number of requests in the window before
	// FailureRatio applies. Default 20.
	MinRequests uint32
	// HalfOpenProbes is how many requests a half-open breaker lets through;
	// it closes after that many successes in a row and reopens on any
	// failure. Default 1.
	HalfOpenProbes uint32
	// IsFailure classifies the error of one attempt: true for a failure
	// (the callee is unwell: the attempt is retried and counts against the
	// instance's breaker), false for a business result, which is returned
	// as it is, never retried and never counted. It is called only with
	// non-nil errors and must be safe for concurrent use. Default
	// transport.IsFailure: transport errors, timeouts, 5xx and 429 answers
	// are failures, other 4xx answers results. A gRPC client, or any
	// endpoint of the caller's own, brings its own classifier here.
	IsFailure func(error) bool
	// Schemes are the URL schemes an instance may have. Default http and
	// https.
	Schemes []string
	// Logger gets one line per breaker state change. It must be safe for
	// concurrent use. Nil discards.
	Logger log.Logger
	// Metrics, if not nil, receives the dependency's metrics.
	Metrics *Metrics
}

// withDefaults returns s with every zero field set to its default.
func (s Settings) withDefaults() Settings {
	setDefault(&s.CallTimeout, time.Second)
	setDefault(&s.MaxAttempts, 3)
	setDefault(&s.BackoffInitial, 50*time.Millisecond)
	setDefault(&s.BackoffMax, time.Second)
	setDefault(&s.BreakerOpenTimeout, 5*time.Second)
	setDefault(&s.BreakerWindow, 10*time.Second)
	setDefault(&s.ConsecutiveFailures, 5)
	setDefault(&s.FailureRatio, 0.5)
	setDefault(&s.MinRequests, 20)
	setDefault(&s.HalfOpenProbes, 1)
	if s.IsFailure == nil {
		s.IsFailure = transport.IsFailure
	}
	if s.Schemes == nil {
		s.Schemes = []string{"http", "https"}
	}
	if s.Logger == nil {
		s.Logger = log.NewNopLogger()
	}
	return s
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// validate reports the first setting that cannot work; s has its defaults.
func (s Settings) validate() error {
	switch {
	case s.CallTimeout < 0, s.BackoffInitial < 0, s.BackoffMax < 0,
		s.BreakerOpenTimeout < 0, s.BreakerWindow < 0:
		return errors.New("durations must not be negative")
	case s.MaxAttempts < 0:
		return fmt.Errorf("MaxAttempts %d is negative", s.MaxAttempts)
	case s.BackoffInitial > s.BackoffMax:
		return fmt.Errorf("BackoffInitial %v exceeds BackoffMax %v", s.BackoffInitial, s.BackoffMax)
	case !(s.FailureRatio > 0 && s.FailureRatio <= 1):
		return fmt.Errorf("FailureRatio %v is outside (0, 1]", s.FailureRatio)
	}
	return nil
}

// A Dependency is one named downstream service with one or more instances,
// each guarded by its own circuit breaker. It is safe for concurrent use.
type Dependency struct {
	name    string
	s       Settings // defaults applied
	set     atomic.Pointer[instanceSet]
	metrics dependencyMetrics
	epoch   time.Time // origin of the monotonic instants kept in atomics
	watch   *watch    // nil for a fixed list
	// discoveryFailing is whether the last event was an error; only
	// update touches it.
	discoveryFailing bool
}

// instance is one base URL of a dependency and its breaker, shared by every
// Endpoint of the dependency.
type instance struct {
	url   string
	cb    *gobreaker.CircuitBreaker
	state prometheus.Gauge // the breaker state series; nil without Metrics
	// halfOpenAt is when the breaker, if open, turns half-open, as
	// nanoseconds since Dependency.epoch. Written under the breaker's lock
	// when it opens; read by anyone who saw it open.
	halfOpenAt atomic.Int64
	// lastFailure is the last error counted as a failure, for the logs.
	lastFailure atomic.Pointer[error]
	// load is what the balancers know of the instance's load.
	load load
}

// NewDependency validates the instances (absolute base URLs with one of
// Settings.Schemes, no query or fragment, no duplicates) and settings, and returns a
// Dependency whose breakers are all closed and whose metrics, if any, are
// present at zero. It is NewDependencyFromInstancer over a fixed list, with
// no goroutine and nothing to Close.
func NewDependency(name string, instances []string, s Settings) (*Dependency, error) {
	if len(instances) == 0 {
		return nil, fmt.Errorf("resilience: dependency %q: no instances", name)
	}
	seen := make(map[string]bool, len(instances))
	for _, raw := range instances {
		if err := validateInstance(raw, s.withDefaults().Schemes); err != nil {
			return nil, fmt.Errorf("resilience: dependency %q: %w", name, err)
		}
		if seen[raw] {
			return nil, fmt.Errorf("resilience: dependency %q: instance %q listed twice", name, raw)
		}
		seen[raw] = true
	}
	return NewDependencyFromInstancer(name, sd.FixedInstancer(instances), s)
}

func validateInstance(raw string, schemes []string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("instance %q: %w", raw, err)
	}
	switch {
	case !slices.Contains(schemes, u.Scheme):
		return fmt.Errorf("instance %q: scheme must be one of %s", raw, strings.Join(schemes, ", "))
	case u.Host == "":
		return fmt.Errorf("instance %q: no host", raw)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return fmt.Errorf("instance %q: a base URL has no user, query or fragment", raw)
	}
	return nil
}

// isFailure is Settings.IsFailure, except that an attempt cut by its own
// CallTimeout is a failure whatever the classifier says of its wrapper (the
// timeout marks only errors the classifier called failures).
func (d *Dependency) isFailure(err error) bool {
	if _, ok := err.(*timeoutError); ok {
		return true
	}
	return d.s.IsFailure(err)
}

// Name returns the dependency's name, as used in errors, logs and metrics.
func (d *Dependency) Name() string { return d.name }

// Available returns nil if at least one current instance's breaker is not open
// (closed, or half-open even with its probes taken). When every breaker is
// open it returns, without any I/O, a *kitshop.Error with code
// dependency_unavailable whose RetryAfter is the time until the soonest
// breaker turns half-open, and counts one short circuit: the caller is
// expected to refuse its request at once.
func (d *Dependency) Available() error {
	if refusal := d.allOpen(); refusal != nil {
		d.metrics.shortCircuit()
		return refusal
	}
	return nil
}

// allOpen is Available without the metric: the refusal when every breaker
// is open, else nil.
func (d *Dependency) allOpen() *kitshop.Error {
	set := d.current()
	if len(set.instances) == 0 {
		return d.noInstances()
	}
	var now time.Time
	soonest := time.Duration(math.MaxInt64)
	for _, in := range set.instances {
		if in.cb.State() != gobreaker.StateOpen {
			return nil
		}
		if now.IsZero() {
			now = time.Now()
		}
		soonest = min(soonest, d.untilHalfOpen(in, now))
	}
	return kitshop.DependencyUnavailable(d.name, soonest, gobreaker.ErrOpenState)
}

// States returns each current instance's breaker state: "closed", "half-open" or
// "open". Reading a state also moves an open breaker whose timeout passed
// to half-open.
func (d *Dependency) States() map[string]string {
	set := d.current()
	states := make(map[string]string, len(set.instances))
	for _, in := range set.instances {
		states[in.url] = in.cb.State().String()
	}
	return states
}

// untilHalfOpen is how long the open breaker of in stays open from now; at
// least a millisecond, so that a Retry-After built from it is never zero.
func (d *Dependency) untilHalfOpen(in *instance, now time.Time) time.Duration {
	left := time.Duration(in.halfOpenAt.Load()) - now.Sub(d.epoch)
	return max(left, time.Millisecond)
}
