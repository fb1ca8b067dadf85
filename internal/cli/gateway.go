package cli

import (
	"context"
	"fmt"
	"io"
	"time"

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
	userURL := fl.String("user-url", "USER_SERVICE_URL", "http://localhost:8081", "user service base URL; several, comma-separated, are used in turn")
	productURL := fl.String("product-url", "PRODUCT_SERVICE_URL", "http://localhost:8082", "product service base URL; several, comma-separated, are used in turn")
	orderURL := fl.String("order-url", "ORDER_SERVICE_URL", "http://localhost:8083", "order service base URL; several, comma-separated, are used in turn")
	logFormat := fl.String("log-format", "LOG_FORMAT", "logfmt", "log format: logfmt or json")
	requestTimeout := fl.Duration("request-timeout", "REQUEST_TIMEOUT", 5*time.Second, "longest time one inbound request may take, proxying included")
	maxConnections := fl.Int("max-connections", "MAX_CONNECTIONS", transport.DefaultMaxConnections, "most connections open at once; beyond it new ones wait in the kernel's backlog")
	check := fl.Bool("healthcheck", "check the gateway already running at -http-addr (GET /healthz) and exit 0 if it is healthy, 1 if not")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *check {
		return healthcheck(ctx, *httpAddr)
	}
	var cfg gateway.Config
	for _, s := range []struct {
		flag, env, list string
		into            *[]string
	}{
		{"user-url", "USER_SERVICE_URL", *userURL, &cfg.Users},
		{"product-url", "PRODUCT_SERVICE_URL", *productURL, &cfg.Products},
		{"order-url", "ORDER_SERVICE_URL", *orderURL, &cfg.Orders},
	} {
		instances, err := transport.ParseInstances(s.list)
		if err != nil {
			return fmt.Errorf("-%s (%s): %w", s.flag, s.env, err)
		}
		*s.into = instances
	}
	cfg.RequestTimeout = *requestTimeout

	logger, err := obs.NewLogger(stdout, *logFormat, "gateway")
	if err != nil {
		return err
	}
	// The gateway verifies user tokens (a service token has no business
	// here: with no service secret, it is refused).
	verifier, userDep, err := remoteVerifier(*userURL, "", logger)
	if err != nil {
		return fmt.Errorf("-user-url (USER_SERVICE_URL): %w", err)
	}
	defer userDep.Close()
	cfg.Verify = verifier.Verify
	client := transport.NewPooledHTTPClient()
	defer client.CloseIdleConnections()
	handler, err := gateway.New(cfg, client.Transport, logger, obs.NewRegistry())
	if err != nil {
		return err
	}
	return serve(ctx, getenv, *httpAddr, handler, *requestTimeout, *maxConnections, logger)
}
