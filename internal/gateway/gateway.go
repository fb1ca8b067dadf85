// Package gateway is the shop's single entry point: a reverse proxy per
// backend service (users, products, orders) with the access log, metrics,
// request IDs and the whole-request timeout every service has, and the
// contract's JSON 503 (backend unreachable or too slow) and 502 (backend
// broke off) when a backend gives no answer.
package gateway

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is where each backend's instances are, and the bound on a whole
// request.
type Config struct {
	// Users, Products and Orders are the base URLs of each service's
	// instances, used in turn.
	Users, Products, Orders []string
	// RequestTimeout bounds a whole request, proxying included
	// (REQUEST_TIMEOUT).
	RequestTimeout time.Duration
	// Verify checks the bearer token of a proxied request that has one:
	// one that does not verify is answered here (401), and never reaches
	// a service. The services verify it again; a request without a token
	// goes through, for them to decide. Nil verifies nothing.
	Verify func(ctx context.Context, token string) (auth.Caller, error)
}

// gatewayRetryAfter is the Retry-After of the gateway's 503s: a backend
// that is down is usually being restarted, which takes about a second.
const gatewayRetryAfter = time.Second

// statusClientClosedRequest is logged and counted when the client went away
// before the backend answered (nginx's convention); nobody receives it.
const statusClientClosedRequest = 499

// New builds the gateway's handler: one reverse proxy per backend, built
// once and sharing rt (so connections to the backends are pooled and
// reused), the operational routes, and the access log, metrics, request ID
// and timeout every service has. /v1/reservations* is not exposed (404).
func New(cfg Config, rt http.RoundTripper, logger log.Logger, reg *prometheus.Registry) (http.Handler, error) {
	errorLog := stdlog.New(log.NewStdlibAdapter(log.With(logger, "component", "proxy")), "", 0)
	router := transport.NewRouter()
	backends := map[string]*backend{}
	for _, b := range []struct {
		dependency string
		instances  []string
	}{{"user", cfg.Users}, {"product", cfg.Products}, {"order", cfg.Orders}} {
		be, err := newBackend(b.dependency, b.instances, rt, errorLog)
		if err != nil {
			return nil, err
		}
		backends[b.dependency] = be
	}
	for _, r := range []struct{ pattern, dependency string }{
		{"/v1/users", "user"}, {"/v1/users/", "user"},
		{"/v1/sessions", "user"}, {"/.well-known/jwks.json", "user"},
		{"/v1/products", "product"}, {"/v1/products/", "product"},
		{"/v1/orders", "order"}, {"/v1/orders/", "order"},
	} {
		router.Handle(r.pattern, verified(cfg.Verify, backends[r.dependency].proxy))
	}
	notExposed := func(w http.ResponseWriter, r *http.Request) {
		transport.EncodeError(r.Context(), kitshop.NewError(kitshop.CodeNotFound,
			"no route for %s %s: reservations are not exposed by the gateway", r.Method, r.URL.Path), w)
	}
	router.HandleFunc("/v1/reservations", notExposed)
	router.HandleFunc("/v1/reservations/", notExposed)

	return transport.Finish(router, transport.Ops{
		Logger:   log.With(logger, "component", "http"),
		Metrics:  transport.NewHTTPMetrics(reg),
		Gatherer: reg,
		Timeout:  cfg.RequestTimeout,
		// Ready is left out: the gateway is ready while it serves. Taking it
		// out of rotation because a backend is down would turn one
		// service's outage into the whole shop's.
	}), nil
}

// backend is one proxied service. Its instances are used in turn (plain
// round-robin, no health checks: a dead instance keeps getting its share,
// and those requests get 503 until it is back; balancing with breakers is
// ordersvc's job, where a retry can go elsewhere).
type backend struct {
	dependency string
	instances  []*url.URL
	next       atomic.Uint64
	proxy      *httputil.ReverseProxy
}

func newBackend(dependency string, instances []string, rt http.RoundTripper, errorLog *stdlog.Logger) (*backend, error) {
	b := &backend{dependency: dependency}
	for _, s := range instances {
		u, err := url.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%s instance %q: %w", dependency, s, err)
		}
		b.instances = append(b.instances, u)
	}
	if len(b.instances) == 0 {
		return nil, fmt.Errorf("%s: no instances", dependency)
	}
	b.proxy = &httputil.ReverseProxy{
		Rewrite:        b.rewrite,
		Transport:      rt,
		ModifyResponse: keepOurRequestID,
		ErrorHandler:   b.proxyError,
		ErrorLog:       errorLog,
		BufferPool:     newCopyBuffers(),
	}
	return b, nil
}

// copyBufferSize is the size of the buffers a ReverseProxy copies response
// bodies through (its own default).
const copyBufferSize = 32 << 10

// copyBuffers lends a ReverseProxy its copy buffers from a pool, instead
// of it allocating one per response.
type copyBuffers struct{ pool sync.Pool }

func newCopyBuffers() *copyBuffers {
	return &copyBuffers{pool: sync.Pool{New: func() any {
		b := make([]byte, copyBufferSize)
		return &b
	}}}
}

// Get implements httputil.BufferPool.
func (c *copyBuffers) Get() []byte { return *c.pool.Get().(*[]byte) }

// Put implements httputil.BufferPool.
func (c *copyBuffers) Put(b []byte) { c.pool.Put(&b) }

// rewrite sends the request to the next instance, with the gateway's
// request ID, so that the backend logs the same ID as the gateway.
func (b *backend) rewrite(pr *httputil.ProxyRequest) {
	n := b.next.Add(1) - 1
	pr.SetURL(b.instances[n%uint64(len(b.instances))])
	pr.SetXForwarded()
	transport.PropagateRequestID(pr.In.Context(), pr.Out)
}

// keepOurRequestID drops the backend's X-Request-ID (the same ID, since we
// sent it) so the response carries the gateway's one header, not two.
func keepOurRequestID(resp *http.Response) error {
	resp.Header.Del(transport.RequestIDHeader)
	return nil
}

// proxyError answers when the backend gave no response:
//   - it could not be reached (refused, no route, dial timeout) or did not
//     answer within the request's time: 503 dependency_unavailable with
//     Retry-After, as ordersvc does for its dependencies;
//   - anything else (connection reset or closed mid-request, a malformed
//     answer): 502 with the same code and body, and no Retry-After, since
//     the backend may have acted on the request. Retry with the same
//     Idempotency-Key.
//
// A request with a body closes its connection after the answer: the body
// may not have been read to its end (one that never ends, say), and
// net/http would otherwise try to drain it before writing the answer,
// holding the client until the server's read timeout instead of answering
// in time.
func (b *backend) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
	e := kitshop.DependencyUnavailable(b.dependency, gatewayRetryAfter, err)
	if !unreachable(err) {
		e.RetryAfter = 0
		e = e.WithMessage("%s service failed to answer", b.dependency)
		transport.EncodeError(r.Context(), transport.WithStatus(e, http.StatusBadGateway), w)
		return
	}
	transport.EncodeError(r.Context(), e, w)
}

// unreachable tells whether err means the request never got an answer
// because the backend is down or too slow, rather than that it broke off.
func unreachable(err error) bool {
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ECONNREFUSED):
		return true
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	}
	return false
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
