package cli

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kitshop/kitshop/internal/authn"
	"github.com/kitshop/kitshop/internal/obs"
	"github.com/kitshop/kitshop/internal/periodic"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/orderservice/orderstore"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
	"github.com/kitshop/kitshop/transport/resilience"
)

// RunOrderService runs the order service until ctx ends: its HTTP API, the
// recovery loop that finishes or undoes orders left half done, and the
// purger of settled orders' idempotency records. Calls
// to the user and product services go through resilient clients (retry
// with backoff, per-instance circuit breakers, per-attempt timeouts).
func RunOrderService(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fl := NewFlags("ordersvc", getenv, stdout)
	common := commonFlags(fl, ":8083", "ordersvc")
	deps := dependencyFlags(fl)
	recoveryEvery := fl.Duration("recovery-interval", "RECOVERY_INTERVAL", time.Second, "how often half-done orders are finished or undone")
	idemTTL := fl.Duration("idempotency-ttl", "IDEMPOTENCY_TTL", orderservice.DefaultIdempotencyTTL,
		"how long an idempotency key, and a rejected or cancelled order, is kept after it settled")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *idemTTL <= 0 {
		return fmt.Errorf("-idempotency-ttl (IDEMPOTENCY_TTL) must be positive, got %v", *idemTTL)
	}
	if *common.healthcheck {
		return healthcheck(ctx, *common.httpAddr)
	}
	cursors, err := common.cursors()
	if err != nil {
		return err
	}
	logger, err := obs.NewLogger(stdout, *common.logFormat, "ordersvc")
	if err != nil {
		return err
	}
	lc, err := common.lifecycle("ordersvc", logger)
	if err != nil {
		return err
	}
	reg := obs.NewRegistry()
	found := newInstancers(*deps.interval, logger, reg)
	defer found.stop() // after the dependencies' Close, deferred below
	userDep, productDep, err := deps.build(ctx, found, logger, reg)
	if err != nil {
		return err
	}
	defer userDep.Close()
	defer productDep.Close()

	store, err := orderstore.Open(ctx, *common.databaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	reg.MustRegister(newUnresolvedOrders(store.CountUnresolved))

	httpClient := transport.NewPooledHTTPClient()
	// ordersvc calls as itself, with a service token, also from its
	// recovery loop, which has no user; it verifies its callers' tokens
	// against usersvc's keys, fetched through the same resilient client.
	asService := transport.WithTokenSource(auth.ServiceTokenSource(*common.serviceSecret, "ordersvc"))
	verifier := authn.NewVerifier(auth.NewKeySet(userservice.NewHTTPClient(userDep, httpClient).JWKS), *common.serviceSecret)
	svc := orderservice.NewService(store,
		orderservice.NewUsersClient(userDep, httpClient, asService),
		orderservice.NewProductsClient(productDep, httpClient, asService),
		// No request outlives REQUEST_TIMEOUT, nor its bookkeeping the
		// cleanup budget: an order older than both is abandoned.
		orderservice.WithOrphanAge(*common.requestTimeout+time.Second),
		orderservice.WithLogger(log.With(logger, "component", "recovery")),
	)
	recoverer := svc.(orderservice.Recoverer) // NewService's Service always is one
	svc = orderservice.LoggingMiddleware(log.With(logger, "component", "service"))(svc)
	svc = orderservice.InstrumentingMiddleware(orderservice.NewMethodDuration(reg))(svc)

	handler := orderservice.NewHTTPHandler(orderservice.NewEndpointSet(svc, verifier.Authenticate()), transport.Ops{
		Logger:   log.With(logger, "component", "http"),
		Metrics:  transport.NewHTTPMetrics(reg),
		Ready:    orderReady(store.Ping, userDep, productDep),
		Gatherer: reg,
		Timeout:  *common.requestTimeout,
		Cursors:  cursors,
	})

	stopBackground := startOrderBackground(ctx, recoverer, store, *recoveryEvery, *idemTTL, logger)
	defer stopBackground()
	return serveWith(ctx, getenv, *common.httpAddr, handler, *common.requestTimeout, *common.maxConnections, lc, logger)
}

// orderDependencyFlags are ordersvc's settings for its calls to usersvc and
// productsvc.
type orderDependencyFlags struct {
	userURL, productURL      *string
	interval                 *time.Duration
	callTimeout, openTimeout *time.Duration
	maxAttempts, consecutive *int
	minRequests, probes      *int
	ratio                    *float64
}

func dependencyFlags(fl *Flags) orderDependencyFlags {
	return orderDependencyFlags{
		userURL: fl.String("user-url", "USER_SERVICE_URL", "http://localhost:8081",
			"user service: base URL(s), comma-separated, dns+http://name:port or etcd://host:port/usersvc"),
		productURL: fl.String("product-url", "PRODUCT_SERVICE_URL", "http://localhost:8082",
			"product service: base URL(s), comma-separated, dns+http://name:port or etcd://host:port/productsvc"),
		interval:    discoveryIntervalFlag(fl),
		callTimeout: fl.Duration("call-timeout", "CALL_TIMEOUT", time.Second, "timeout of one attempt of one downstream call"),
		maxAttempts: fl.Int("retry-max-attempts", "RETRY_MAX_ATTEMPTS", 3, "attempts per downstream call, the first included"),
		openTimeout: fl.Duration("breaker-open-timeout", "BREAKER_OPEN_TIMEOUT", 5*time.Second, "how long a circuit breaker stays open before probing"),
		consecutive: fl.Int("breaker-consecutive-failures", "BREAKER_CONSECUTIVE_FAILURES", 5, "consecutive failures that open a breaker"),
		ratio:       fl.Float("breaker-failure-ratio", "BREAKER_FAILURE_RATIO", 0.5, "failure ratio that opens a breaker, over at least -breaker-min-requests requests"),
		minRequests: fl.Int("breaker-min-requests", "BREAKER_MIN_REQUESTS", 20, "requests counted before the failure ratio applies"),
		probes:      fl.Int("breaker-half-open-probes", "BREAKER_HALF_OPEN_PROBES", 1, "requests a half-open breaker lets through"),
	}
}

// build makes the resilient dependencies on usersvc and productsvc, their
// instances found by found; the settings are checked once, by package
// resilience.
func (f orderDependencyFlags) build(ctx context.Context, found *instancers, logger log.Logger, reg *prometheus.Registry) (users, products *resilience.Dependency, err error) {
	settings := resilience.Settings{
		CallTimeout:         *f.callTimeout,
		MaxAttempts:         *f.maxAttempts,
		BreakerOpenTimeout:  *f.openTimeout,
		ConsecutiveFailures: uint32(*f.consecutive),
		FailureRatio:        *f.ratio,
		MinRequests:         uint32(*f.minRequests),
		HalfOpenProbes:      uint32(*f.probes),
		Logger:              log.With(logger, "component", "breaker"),
		Metrics:             resilience.NewMetrics(reg),
	}
	if *f.ratio <= 0 { // 0 would otherwise read as "unset" and become the default
		return nil, nil, fmt.Errorf("-breaker-failure-ratio (BREAKER_FAILURE_RATIO) must be in (0, 1], got %v", *f.ratio)
	}
	for _, d := range []struct {
		name, service, flag, env, list string
		into                           **resilience.Dependency
	}{
		{orderservice.DependencyUser, "usersvc", "user-url", "USER_SERVICE_URL", *f.userURL, &users},
		{orderservice.DependencyProduct, "productsvc", "product-url", "PRODUCT_SERVICE_URL", *f.productURL, &products},
	} {
		instances, err := found.open(ctx, d.service, d.flag, d.env, d.list)
		if err != nil {
			return nil, nil, err
		}
		if *d.into, err = resilience.NewDependencyFromInstancer(d.name, instances, settings); err != nil {
			return nil, nil, err
		}
	}
	return users, products, nil
}

// startOrderBackground runs ordersvc's background work until ctx ends or
// the returned stop is called, which waits for it: the recovery loop and
// the purge of settled orders.
func startOrderBackground(ctx context.Context, recoverer orderservice.Recoverer, store *orderstore.Store,
	recoveryEvery, idemTTL time.Duration, logger log.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		recoverer.RunRecovery(ctx, recoveryEvery)
	}()
	go func() {
		defer wg.Done()
		orderservice.RunPurger(ctx, store, idemTTL, periodic.PurgeInterval(idemTTL), time.Now,
			log.With(logger, "component", "purger"))
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// orderReady is ready when the database answers, and reports each
// dependency's breaker state either way. An open breaker does not make
// ordersvc unready: taking it out of a load balancer would only spread the
// outage.
func orderReady(ping func(context.Context) error, deps ...*resilience.Dependency) transport.ReadyFunc {
	db := pingReady(ping)
	return func(ctx context.Context) (map[string]any, error) {
		states := map[string]any{}
		for _, d := range deps {
			states[d.Name()] = dependencyState(d.States())
		}
		_, err := db(ctx)
		return map[string]any{"dependencies": states}, err
	}
}

// dependencyState sums up the breakers of a dependency's instances: "open"
// when all are open, "half-open" when none is closed, else "closed"; each
// instance's own state is listed too.
func dependencyState(instances map[string]string) map[string]any {
	open, closed := 0, 0
	for _, s := range instances {
		switch s {
		case "open":
			open++
		case "closed":
			closed++
		}
	}
	state := "closed"
	switch {
	case open == len(instances):
		state = "open"
	case closed == 0:
		state = "half-open"
	}
	return map[string]any{"state": state, "instances": instances}
}
