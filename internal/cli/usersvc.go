package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/obs"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/pkg/userservice/userstore"
	"github.com/kitshop/kitshop/transport"
)

// RunUserService runs the user service until ctx ends, then shuts it down
// gracefully. Configuration comes from args, then getenv; logs go to
// stdout. It returns an error, one line, for bad configuration or a failed
// start.
func RunUserService(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fl := NewFlags("usersvc", getenv, stdout)
	common := commonFlags(fl, ":8081", "usersvc")
	cacheSize := fl.Int("cache-size", "USER_CACHE_SIZE", userservice.DefaultCacheSize,
		"users kept in memory for GET /v1/users/{id} (users never change, so never stale); 0: none")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *cacheSize < 0 {
		return fmt.Errorf("-cache-size (USER_CACHE_SIZE) must be >= 0, got %d", *cacheSize)
	}
	if *common.healthcheck {
		return healthcheck(ctx, *common.httpAddr)
	}
	cursors, err := common.cursors()
	if err != nil {
		return err
	}
	logger, err := obs.NewLogger(stdout, *common.logFormat, "usersvc")
	if err != nil {
		return err
	}
	store, err := userstore.Open(ctx, *common.databaseURL)
	if err != nil {
		return err
	}
	defer store.Close()

	reg := obs.NewRegistry()
	var svc userservice.Service = userservice.NewService(userservice.NewCachedStore(store, *cacheSize))
	svc = userservice.LoggingMiddleware(log.With(logger, "component", "service"))(svc)
	svc = userservice.InstrumentingMiddleware(userservice.NewMethodDuration(reg))(svc)

	handler := userservice.NewHTTPHandler(userservice.NewEndpointSet(svc), transport.Ops{
		Logger:   log.With(logger, "component", "http"),
		Metrics:  transport.NewHTTPMetrics(reg),
		Ready:    pingReady(store.Ping),
		Gatherer: reg,
		Timeout:  *common.requestTimeout,
		Cursors:  cursors,
	})
	return serve(ctx, getenv, *common.httpAddr, handler, *common.requestTimeout, *common.maxConnections, logger)
}

// pingReady makes a readiness check out of a database ping.
func pingReady(ping func(context.Context) error) transport.ReadyFunc {
	return func(ctx context.Context) (map[string]any, error) {
		if err := ping(ctx); err != nil {
			return nil, kitshop.NewError(kitshop.CodeInternal, "database unavailable").WithCause(err)
		}
		return nil, nil
	}
}
