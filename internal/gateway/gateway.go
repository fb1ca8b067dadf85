// Package gateway is the shop's single entry point: a reverse proxy per
// backend service (users, products, orders) with the access log, metrics,
// request IDs and the whole-request timeout every service has, and the
// contract's JSON 503 (backend unreachable or too slow) and 502 (backend
// broke off) when a backend gives no answer.
//
// Each backend's instances come from a go-kit sd.Instancer and are
// balanced with the same machinery ordersvc uses for its dependencies
// (package resilience): the less loaded of two instances, a circuit breaker
// per instance, refused instances skipped, and a resend to another instance
// only where it is safe (backend.go, resend.go).
package gateway

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net/http"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
	"github.com/kitshop/kitshop/transport/resilience"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is where each backend's instances are, and the bound on a whole
// request.
type Config struct {
	// Users, Products and Orders report the base URLs of each service's
	// instances (sd.FixedInstancer for a fixed list). The gateway follows
	// them from New until Close; they belong to the caller, who stops them
	// after Close.
	Users, Products, Orders sd.Instancer
	// RequestTimeout bounds a whole request, proxying included
	// (REQUEST_TIMEOUT). It must be positive.
	RequestTimeout time.Duration
	// Verify checks the bearer token of a proxied request that has one:
	// one that does not verify is answered here (401), and never reaches
	// a service. The services verify it again; a request without a token
	// goes through, for them to decide. Nil verifies nothing.
	Verify func(ctx context.Context, token string) (auth.Caller, error)
}

// Gateway is the gateway's handler. Close it once the server that uses it
// has stopped: that ends its subscriptions to the instancers.
type Gateway struct {
	handler  http.Handler
	backends []*backend
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.handler.ServeHTTP(w, r) }

// Close stops following the backends' instancers. It is safe to call more
// than once.
func (g *Gateway) Close() error {
	var errs []error
	for _, b := range g.backends {
		errs = append(errs, b.close())
	}
	return errors.Join(errs...)
}

// gatewayRetryAfter is the Retry-After of the gateway's 503s when no
// breaker knows better: a backend that is down is usually being restarted,
// which takes about a second.
const gatewayRetryAfter = time.Second

// statusClientClosedRequest is logged and counted when the client went away
// before the backend answered (nginx's convention); nobody receives it.
const statusClientClosedRequest = 499

// New builds the gateway's handler: one resilient backend per service,
// built once and sharing rt (so connections to the instances are pooled and
// reused), the operational routes, and the access log, metrics, request ID
// and timeout every service has. /v1/reservations* is not exposed (404).
// The backends' breaker states and retry counts are registered on reg
// (resilience.NewMetrics), one series per live instance.
func New(cfg Config, rt http.RoundTripper, logger log.Logger, reg *prometheus.Registry) (*Gateway, error) {
	if cfg.RequestTimeout <= 0 {
		return nil, fmt.Errorf("gateway: request timeout %v: must be positive", cfg.RequestTimeout)
	}
	errorLog := stdlog.New(log.NewStdlibAdapter(log.With(logger, "component", "proxy")), "", 0)
	settings := backendSettings(cfg.RequestTimeout, log.With(logger, "component", "breaker"), resilience.NewMetrics(reg))
	g := &Gateway{}
	backends := map[string]*backend{}
	for _, b := range []struct {
		dependency string
		instancer  sd.Instancer
	}{{"user", cfg.Users}, {"product", cfg.Products}, {"order", cfg.Orders}} {
		be, err := newBackend(b.dependency, b.instancer, settings, rt, errorLog)
		if err != nil {
			_ = g.Close()
			return nil, err
		}
		g.backends = append(g.backends, be)
		backends[b.dependency] = be
	}

	router := transport.NewRouter()
	for _, r := range []struct {
		pattern, dependency string
		// keyed: the service keeps the first answer under an
		// Idempotency-Key here, so a request carrying one may be resent
		// (POST /v1/orders). Elsewhere a key is ignored by the service and
		// makes nothing safe to repeat.
		keyed bool
	}{
		{"/v1/users", "user", false}, {"/v1/users/", "user", false},
		{"/v1/sessions", "user", false}, {"/.well-known/jwks.json", "user", false},
		{"/v1/products", "product", false}, {"/v1/products/", "product", false},
		{"/v1/orders", "order", true}, {"/v1/orders/", "order", false},
	} {
		router.Handle(r.pattern, verified(cfg.Verify, backends[r.dependency].proxy(r.keyed)))
	}
	notExposed := func(w http.ResponseWriter, r *http.Request) {
		transport.EncodeError(r.Context(), kitshop.NewError(kitshop.CodeNotFound,
			"no route for %s %s: reservations are not exposed by the gateway", r.Method, r.URL.Path), w)
	}
	router.HandleFunc("/v1/reservations", notExposed)
	router.HandleFunc("/v1/reservations/", notExposed)

	g.handler = transport.Finish(router, transport.Ops{
		Logger:   log.With(logger, "component", "http"),
		Metrics:  transport.NewHTTPMetrics(reg),
		Gatherer: reg,
		Timeout:  cfg.RequestTimeout,
		// Ready is left out: the gateway is ready while it serves. Taking it
		// out of rotation because a backend is down would turn one
		// service's outage into the whole shop's.
	})
	return g, nil
}

// verified answers a request whose bearer token does not verify with the
// verifier's error, and passes every other on to next.
func verified(verify func(ctx context.Context, token string) (auth.Caller, error), next http.Handler) http.Handler {
	if verify == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token, ok := auth.TokenFromContext(transport.BearerToContext(r.Context(), r)); ok {
			if _, err := verify(r.Context(), token); err != nil {
				transport.EncodeError(r.Context(), err, w)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
