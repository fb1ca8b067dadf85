package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/go-kit/kit/sd"

	"github.com/kitshop/kitshop/internal/gateway"
	"github.com/kitshop/kitshop/internal/obs"
	"github.com/kitshop/kitshop/transport"
)

// RunGateway runs the gateway, the shop's single entry point, until ctx
// ends, then shuts it down gracefully. It proxies /v1/users*, /v1/products*
// and /v1/orders* to their services and keeps /v1/reservations* (service to
// service only) to itself. Configuration comes from args, then getenv; logs
// go to stdout.
func RunGateway(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fl := NewFlags("gateway", getenv, stdout)
	httpAddr := fl.String("http-addr", "HTTP_ADDR", ":8080", "address to serve HTTP on")
	userURL := fl.String("user-url", "USER_SERVICE_URL", "http://localhost:8081", "user service base URL(s), comma-separated: balanced by load, each with its own circuit breaker")
	productURL := fl.String("product-url", "PRODUCT_SERVICE_URL", "http://localhost:8082", "product service base URL(s), comma-separated: balanced by load, each with its own circuit breaker")
	orderURL := fl.String("order-url", "ORDER_SERVICE_URL", "http://localhost:8083", "order service base URL(s), comma-separated: balanced by load, each with its own circuit breaker")
	logFormat := fl.String("log-format", "LOG_FORMAT", "logfmt", "log format: logfmt or json")
	requestTimeout := fl.Duration("request-timeout", "REQUEST_TIMEOUT", 5*time.Second, "longest time one inbound request may take, proxying included")
	maxConnections := fl.Int("max-connections", "MAX_CONNECTIONS", transport.DefaultMaxConnections, "most connections open at once; beyond it new ones wait in the kernel's backlog")
	interval := discoveryIntervalFlag(fl)
	drainDelay := fl.Delay("drain-delay", "DRAIN_DELAY", 0,
		"on SIGTERM, how long to keep serving with /readyz answering 503 before stopping")
	check := fl.Bool("healthcheck", "check the gateway already running at -http-addr (GET /healthz) and exit 0 if it is healthy, 1 if not")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *check {
		return healthcheck(ctx, *httpAddr)
	}
	logger, err := obs.NewLogger(stdout, *logFormat, "gateway")
	if err != nil {
		return err
	}
	reg := obs.NewRegistry()
	// Each backend's instances. The instancers are stopped by a defer
	// placed here, so that it runs after the gateway's Close below has
	// deregistered from them.
	found := newInstancers(*interval, logger, reg)
	defer found.stop()
	var cfg gateway.Config
	for _, s := range []struct {
		service, flag, env, list string
		into                     *sd.Instancer
	}{
		{"usersvc", "user-url", "USER_SERVICE_URL", *userURL, &cfg.Users},
		{"productsvc", "product-url", "PRODUCT_SERVICE_URL", *productURL, &cfg.Products},
		{"ordersvc", "order-url", "ORDER_SERVICE_URL", *orderURL, &cfg.Orders},
	} {
		if *s.into, err = found.open(ctx, s.service, s.flag, s.env, s.list); err != nil {
			return err
		}
	}
	cfg.RequestTimeout = *requestTimeout

	// The gateway verifies user tokens (a service token has no business
	// here: with no service secret, it is refused).
	verifier, userDep, err := remoteVerifier(cfg.Users, "", logger)
	if err != nil {
		return fmt.Errorf("-user-url (USER_SERVICE_URL): %w", err)
	}
	defer userDep.Close()
	cfg.Verify = verifier.Verify
	client := transport.NewPooledHTTPClient()
	defer client.CloseIdleConnections()
	gw, err := gateway.New(cfg, client.Transport, logger, reg)
	if err != nil {
		return err
	}
	defer gw.Close() // after serving: no request uses the backends any more
	return serveWith(ctx, getenv, *httpAddr, gw, *requestTimeout, *maxConnections, lifecycle{drainDelay: *drainDelay}, logger)
}
