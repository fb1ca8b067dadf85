// Package resilience wraps the client endpoints one service uses to call
// another (ordersvc calling usersvc and productsvc) in retry, load balancing,
// per-instance circuit breakers and per-attempt timeouts, so that a slow,
// dead or flapping dependency costs the caller a bounded, predictable time
// and a typed 503 instead of a hung request.
//
// # API
//
//	type Settings struct {
//		CallTimeout         time.Duration // one attempt; default 1s
//		MaxAttempts         int           // attempts per call; default 3 (1 = no retry)
//		BackoffInitial      time.Duration // first wait between attempts; default 50ms
//		BackoffMax          time.Duration // cap on any wait, jitter included; default 1s
//		BreakerOpenTimeout  time.Duration // open -> half-open; default 5s
//		BreakerWindow       time.Duration // closed-state counting window; default 10s
//		ConsecutiveFailures uint32        // trip after N consecutive failures; default 5
//		FailureRatio        float64       // or failures/requests >= ratio ...; default 0.5
//		MinRequests         uint32        // ... over at least this many requests; default 20
//		HalfOpenProbes      uint32        // requests let through half-open; default 1
//		IsFailure           func(error) bool // failure (retried, trips) or result; default transport.IsFailure
//		Schemes             []string      // instance URL schemes; default http, https
//		Logger              log.Logger    // one line per breaker state change; nil = discard
//		Metrics             *Metrics      // nil = no metrics
//	}
//
//	func NewMetrics(reg prometheus.Registerer) *Metrics
//
//	func NewDependency(name string, instances []string, s Settings) (*Dependency, error)
//	func NewDependencyFromInstancer(name string, instancer sd.Instancer, s Settings) (*Dependency, error)
//	func (d *Dependency) Close() error
//	func (d *Dependency) Name() string
//	func (d *Dependency) Endpoint(factory func(instance string) endpoint.Endpoint) endpoint.Endpoint
//	func (d *Dependency) Available() error
//
//	// The layers of Endpoint, as go-kit middleware sharing d's breakers,
//	// settings and metrics, for another composition (see chain.go):
//	func (d *Dependency) Retry() endpoint.Middleware
//	func (d *Dependency) Balance(perInstance func(instance string) endpoint.Endpoint) endpoint.Endpoint
//	func (d *Dependency) Breaker(instance string) endpoint.Middleware
//	func (d *Dependency) Timeout() endpoint.Middleware
//	func (d *Dependency) States() map[string]string
//
// A Dependency is one named downstream service ("user", "product") with one
// or more instances (base URLs), each with its own circuit breaker. The
// endpoints need not be HTTP: with its own Schemes and IsFailure, any
// go-kit endpoint goes through the same chain (see Example_ownEndpoint). Each
// method of the service's HTTP client becomes one Endpoint of the
// Dependency; all of them share the per-instance breakers, because a breaker
// judges an instance, not a method.
//
// The instances come from a go-kit sd.Instancer: NewDependency takes a fixed
// list (sd.FixedInstancer), NewDependencyFromInstancer any other (DNS, etcd),
// followed until Close. An instance that appears gets a new breaker and its
// metric series; one that vanishes is no longer chosen, and its breaker and
// series go; with no instance at all, calls answer dependency_unavailable
// at once. Discovery errors keep the last known instances.
//
// # What an Endpoint returns
//
// Exactly one of:
//   - the dependency's response;
//   - a business error (anything for which Settings.IsFailure is false;
//     by default a 4xx *kitshop.Error) exactly as the endpoint returned it: it
//     is never retried and never counted against a breaker;
//   - a *kitshop.Error with code dependency_unavailable, Dependency set to
//     the dependency's name and RetryAfter set, for every failure: all
//     instances short-circuited by open breakers, attempts exhausted, the
//     caller's deadline too close for another attempt, or the caller's context
//     ended. Its Unwrap chain holds the last attempt's error (or
//     gobreaker.ErrOpenState / gobreaker.ErrTooManyRequests, or the caller's
//     context error), so errors.Is and errors.As on those still work; only
//     errors.As to *kitshop.Error finds this outer error first, which is
//     the one a service answers with (kitshop.AsError).
//
// # Rules where a choice had to be made
//
//   - Retry: waits double from BackoffInitial with +-50% jitter, each capped
//     at BackoffMax. A failure's own RetryAfter (from a 429 or 503) is
//     waited instead when longer. A later attempt is started only if, after
//     its wait, at least CallTimeout/10 remains before the caller's
//     deadline; otherwise the call gives up at once, without sleeping. A
//     failure that leaves every breaker open also ends the call at once.
//     An endpoint may wrap an error in backoff.Permanent to forbid its retry.
//   - Breakers count as failures what Settings.IsFailure calls one (by
//     default transport errors, timeouts, 5xx and 429); results and attempts ended by the caller's own context (cancelled,
//     or its deadline passed) count as successes, since gobreaker v1 has no
//     neutral outcome. They trip on ConsecutiveFailures, or on FailureRatio
//     once MinRequests were seen within BreakerWindow.
//   - dependency_short_circuits_total counts calls refused without I/O:
//     each Available that returns an error, and each Endpoint call that
//     found every breaker refusing. A call whose own failure opened the last
//     breaker did I/O and is not counted.
//   - dependency_timeouts_total counts attempts ended by their own
//     CallTimeout, not by the caller's deadline.
//
// The composition of the middlewares, and why each sits where it does, is
// documented once, in chain.go. The wrapped endpoints must honour their
// context: the per-attempt timeout and the caller's deadline are enforced
// through it (go-kit's HTTP client does).
//
// The package keeps no global state and starts no goroutines.
package resilience
