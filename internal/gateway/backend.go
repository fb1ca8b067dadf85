package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
	"github.com/kitshop/kitshop/transport/resilience"
)

// backend is one proxied service. A request goes through, outer to inner:
//
//	client request
//	  |
//	  v
//	ReverseProxy ------ hop-by-hop headers, X-Forwarded-*, request ID; copies
//	  |                 the answer back as it streams (proxyError if none)
//	  | Transport: proxyTransport, one call of the chain per request
//	  v
//	retry ------------- resilience.Dependency.Endpoint, as chain.go draws it:
//	  |                 <= 3 attempts, a resend only where safe (resend.go)
//	balancer ---------- the less loaded of two instances, refused ones skipped
//	  |
//	breaker ----------- one per instance; counts attempts that got no answer
//	  |
//	timeout ----------- one attempt: attemptTimeout, nearly the whole request
//	  |
//	  v
//	attempt ----------- the request pointed at one instance, rt.RoundTrip
//
// Why each sits where it does:
//   - the ReverseProxy is outermost because it is the HTTP part: it makes
//     the outgoing request once and copies the answer back as it arrives,
//     so the chain measures and guards only the wait for the answer's
//     headers, and a large answer is never buffered;
//   - the chain is the ReverseProxy's Transport, so each attempt is one
//     RoundTrip on one instance, and the ReverseProxy sees one answer or
//     one error however many instances were tried;
//   - whether a failed attempt may be sent again is decided in the attempt,
//     where its error and its request are known, and told to the retry
//     layer with backoff.Permanent.
type backend struct {
	name  string
	dep   *resilience.Dependency
	call  endpoint.Endpoint
	rt    http.RoundTripper
	plain *httputil.ReverseProxy // routes where an Idempotency-Key means nothing
	keyed *httputil.ReverseProxy // routes whose service honours Idempotency-Key
}

// backendSettings are every backend's resilience settings; the rest are
// the package's defaults, as ordersvc has them: 3 attempts 50ms apart and
// doubling, with jitter; a breaker that opens after 5 failures in a row or
// half of at least 20 calls in 10s, for 5s.
//
// An attempt fails only when no answer came (isAttemptFailure): an answer
// of any status is passed on to the client as it is and speaks well of the
// instance that gave it. A service's 503 dependency_unavailable says that
// its dependency is unwell, not the service; a breaker that opened on it
// would turn ordersvc's "product is down" into "order is down" for every
// order route, GET /v1/orders included, which calls no one.
func backendSettings(requestTimeout time.Duration, logger log.Logger, metrics *resilience.Metrics) resilience.Settings {
	return resilience.Settings{
		CallTimeout: attemptTimeout(requestTimeout),
		IsFailure:   isAttemptFailure,
		Logger:      logger,
		Metrics:     metrics,
	}
}

// attemptTimeout is one attempt's budget: nearly the whole request's. The
// gateway cannot cut a slow request short to send it elsewhere (most are
// not safe to resend), and a service bounds its own work by its own
// REQUEST_TIMEOUT.
//
// transport.Finish gives the request's work its timeout less a reserve for
// writing the answer, min(timeout/20, 100ms); the attempt gets one reserve
// less again, so that an attempt which started a little late (after token
// verification) is still ended by its own timer, not by the request's
// deadline. An attempt ended by its own timer counts against the
// instance's breaker and in dependency_timeouts_total; one ended by the
// request's deadline would be taken for the caller's doing (package
// resilience's callerDone) and count nowhere, so a hung instance would
// never open its breaker. After such a timeout less than a tenth of the
// budget is left, and the retry layer makes no further attempt.
func attemptTimeout(requestTimeout time.Duration) time.Duration {
	return requestTimeout - 2*min(requestTimeout/20, 100*time.Millisecond)
}

func newBackend(name string, instancer sd.Instancer, s resilience.Settings, rt http.RoundTripper, errorLog *stdlog.Logger) (*backend, error) {
	if instancer == nil {
		return nil, fmt.Errorf("gateway: %s: no instancer", name)
	}
	dep, err := resilience.NewDependencyFromInstancer(name, instancer, s)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	b := &backend{name: name, dep: dep, rt: rt}
	b.call = dep.Endpoint(b.attempt)
	buffers := newCopyBuffers()
	newProxy := func(keyed bool) *httputil.ReverseProxy {
		return &httputil.ReverseProxy{
			Rewrite:        rewrite,
			Transport:      proxyTransport{b: b, keyed: keyed},
			ModifyResponse: keepOurRequestID,
			ErrorHandler:   b.proxyError,
			ErrorLog:       errorLog,
			BufferPool:     buffers,
		}
	}
	b.plain, b.keyed = newProxy(false), newProxy(true)
	return b, nil
}

// proxy is the backend's handler for a route; keyed says whether the
// route's service honours Idempotency-Key.
func (b *backend) proxy(keyed bool) http.Handler {
	if keyed {
		return b.keyed
	}
	return b.plain
}

func (b *backend) close() error { return b.dep.Close() }

// proxyTransport is a backend's ReverseProxy transport: each proxied
// request is one call of the backend's resilient endpoint.
type proxyTransport struct {
	b     *backend
	keyed bool
}

// RoundTrip implements http.RoundTripper. The ReverseProxy closes the
// request's body; each attempt's transport closes that attempt's reader.
func (t proxyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	response, err := t.b.call(req.Context(), newProxyCall(req, t.keyed))
	if err != nil {
		return nil, err
	}
	return transport.Assert[*http.Response](response)
}

// attempt is the bare endpoint of one instance: the proxied request, sent
// to the instance at base, with its answer as the response whatever its
// status. It is built once per instance, when the instance appears.
//
// The attempt's context (ctx: its timeout, the caller's cancellation)
// governs the wait for the answer's headers only. The chain cancels it as
// soon as the attempt returns, while the ReverseProxy has yet to copy the
// answer's body: so the request is sent on a context of its own, derived
// from the proxied request's (which bounds the whole request), cancelled
// when ctx ends before the answer came, and released when the answer's body
// is closed.
func (b *backend) attempt(base string) endpoint.Endpoint {
	target, err := url.Parse(base)
	if err != nil { // the Dependency lets only valid base URLs through
		return func(context.Context, any) (any, error) { return nil, fmt.Errorf("instance %q: %w", base, err) }
	}
	return func(ctx context.Context, request any) (any, error) {
		call, err := transport.Assert[*proxyCall](request)
		if err != nil {
			return nil, err
		}
		sendCtx, release := context.WithCancel(call.req.Context())
		out, err := call.outgoing(sendCtx, target)
		if err != nil {
			release()
			return nil, err
		}
		stop := context.AfterFunc(ctx, release)
		resp, err := b.rt.RoundTrip(out)
		if !stop() { // ctx ended before the answer came: it has none
			if err == nil {
				_ = resp.Body.Close()
			}
			err = fmt.Errorf("%w: %w", ctx.Err(), errOr(err, context.Canceled))
		}
		if err != nil {
			release()
			return nil, call.failed(err)
		}
		resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
		return resp, nil
	}
}

// errOr is err, or def when err is nil.
func errOr(err, def error) error {
	if err == nil {
		return def
	}
	return err
}

// releasingBody is an answer's body that releases its request's context
// once closed.
type releasingBody struct {
	io.ReadCloser
	release context.CancelFunc
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// rewrite prepares the outgoing request once for all its attempts: the
// instance (URL and Host) is set by each attempt; the gateway's request
// ID goes with it, so that the backend logs the same ID as the gateway.
func rewrite(pr *httputil.ProxyRequest) {
	pr.Out.Host = ""
	pr.SetXForwarded()
	transport.PropagateRequestID(pr.In.Context(), pr.Out)
}

// keepOurRequestID drops the backend's X-Request-ID (the same ID, since we
// sent it) so the response carries the gateway's one header, not two.
func keepOurRequestID(resp *http.Response) error {
	resp.Header.Del(transport.RequestIDHeader)
	return nil
}

// proxyError answers when no instance gave a response:
//   - the last attempt reached an instance, which broke off (connection
//     reset or closed mid-request, a malformed answer): 502 with code
//     dependency_unavailable and no Retry-After, since the backend may
//     have acted on the request. Retry with the same Idempotency-Key;
//   - anything else (no instance, every breaker open, could not connect,
//     no answer within the request's time): 503 dependency_unavailable
//     with the Retry-After of package resilience, as ordersvc answers for
//     its dependencies: until the soonest breaker lets a request through
//     when the breakers refused, one attempt's budget when there is no
//     instance (discovery may know one by then), else a second.
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
	if brokeOff(err) {
		e := kitshop.DependencyUnavailable(b.name, 0, err).WithMessage("%s service failed to answer", b.name)
		transport.EncodeError(r.Context(), transport.WithStatus(e, http.StatusBadGateway), w)
		return
	}
	e := kitshop.AsError(err)
	if e.Code != kitshop.CodeDependencyUnavailable || e.Dependency != b.name || e.RetryAfter <= 0 {
		e = kitshop.DependencyUnavailable(b.name, gatewayRetryAfter, err)
	}
	transport.EncodeError(r.Context(), e, w)
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
