package cli

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/obs"
	"github.com/kitshop/kitshop/internal/periodic"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/productservice/productstore"
	"github.com/kitshop/kitshop/transport"
)

// RunProductService runs the product service until ctx ends, then shuts it
// down gracefully: the HTTP server drains, the expiry sweeper and the purger
// stop, and only then is the database closed. Configuration comes from
// args, then getenv; logs go to stdout. It returns an error, one line, for bad
// configuration or a failed start.
func RunProductService(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fl := NewFlags("productsvc", getenv, stdout)
	common := commonFlags(fl, ":8082", "productsvc")
	ttl := fl.Duration("reservation-ttl", "RESERVATION_TTL", productservice.DefaultReservationTTL,
		"how long a reservation is held before it expires")
	idemTTL := fl.Duration("idempotency-ttl", "IDEMPOTENCY_TTL", productservice.DefaultIdempotencyTTL,
		"how long an idempotency record (and an ended reservation) is kept after it settled")
	userURL := fl.String("user-url", "USER_SERVICE_URL", "http://localhost:8081",
		"user service whose keys verify access tokens: base URL(s), comma-separated, dns+http://name:port or etcd://host:port/usersvc")
	interval := discoveryIntervalFlag(fl)
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
	logger, err := obs.NewLogger(stdout, *common.logFormat, "productsvc")
	if err != nil {
		return err
	}
	lc, err := common.lifecycle("productsvc", logger)
	if err != nil {
		return err
	}
	found := newInstancers(*interval, logger, nil)
	defer found.stop()
	users, err := found.open(ctx, "usersvc", "user-url", "USER_SERVICE_URL", *userURL)
	if err != nil {
		return err
	}
	verifier, userDep, err := remoteVerifier(users, *common.serviceSecret, logger)
	if err != nil {
		return fmt.Errorf("-user-url (USER_SERVICE_URL): %w", err)
	}
	defer userDep.Close()
	store, err := productstore.Open(ctx, *common.databaseURL)
	if err != nil {
		return err
	}
	defer store.Close()

	sweepCtx, stopSweeper := context.WithCancel(context.WithoutCancel(ctx))
	var sweeper sync.WaitGroup
	sweeper.Go(func() {
		productservice.RunExpirySweeper(sweepCtx, store, productservice.SweepInterval(*ttl), time.Now,
			log.With(logger, "component", "sweeper"))
	})
	sweeper.Go(func() {
		productservice.RunPurger(sweepCtx, store, *idemTTL, periodic.PurgeInterval(*idemTTL), time.Now,
			log.With(logger, "component", "purger"))
	})
	// Deferred after store.Close, so it runs first: the store outlives it.
	defer func() {
		stopSweeper()
		sweeper.Wait()
	}()

	reg := obs.NewRegistry()
	var svc productservice.Service = productservice.NewService(store,
		productservice.WithReservationTTL(*ttl),
		// No request can still own a claim twice its time limit old.
		productservice.WithStaleClaimAfter(2**common.requestTimeout))
	svc = productservice.LoggingMiddleware(log.With(logger, "component", "service"))(svc)
	svc = productservice.InstrumentingMiddleware(productservice.NewMethodDuration(reg))(svc)

	handler := productservice.NewHTTPHandler(productservice.NewEndpointSet(svc, verifier.Authenticate()), transport.Ops{
		Logger:   log.With(logger, "component", "http"),
		Metrics:  transport.NewHTTPMetrics(reg),
		Ready:    pingReady(store.Ping),
		Gatherer: reg,
		Timeout:  *common.requestTimeout,
		Cursors:  cursors,
	})
	return serveWith(ctx, getenv, *common.httpAddr, handler, *common.requestTimeout, *common.maxConnections, lc, logger)
}
