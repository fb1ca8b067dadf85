package transport

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/kitshop"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ReadyFunc reports whether a service can serve: nil when ready. The map,
// possibly nil, is merged into the /readyz body either way (ordersvc puts
// its dependencies' breaker states there).
type ReadyFunc func(ctx context.Context) (map[string]any, error)

// readyTimeout bounds one readiness check, so a hung database turns into a
// 503 rather than a hung probe.
const readyTimeout = 2 * time.Second

// HandleOps registers the operational routes every process serves:
// GET /healthz (liveness: 200 while the process runs), GET /readyz (200
// when ready() says so, else 503), and GET /metrics (Prometheus text format
// from gatherer).
func HandleOps(rt *Router, ready ReadyFunc, gatherer prometheus.Gatherer) {
	rt.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_ = WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	rt.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		extra, err := ready(ctx)
		body := map[string]any{}
		for k, v := range extra {
			body[k] = v
		}
		status := http.StatusOK
		body["status"] = "ok"
		if err != nil {
			noteError(r.Context(), err)
			status = http.StatusServiceUnavailable
			body["status"] = "unavailable"
			body["reason"] = kitshop.AsError(err).Message
		}
		_ = WriteJSON(w, status, body)
	})
	rt.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
}

// Ops is what every service's handler needs besides its own routes.
type Ops struct {
	// Logger receives one access log line per request.
	Logger log.Logger
	// Metrics observes every request; nil disables it.
	Metrics *HTTPMetrics
	// Ready backs /readyz.
	Ready ReadyFunc
	// Gatherer backs /metrics.
	Gatherer prometheus.Gatherer
	// Timeout, when positive, bounds every request's context: work still
	// running when it ends sees its context cancelled.
	Timeout time.Duration
	// Cursors signs the list routes' cursors (NewCursors of the service's
	// SERVICE_SECRET). A service with list routes requires it: see
	// ListCursors.
	Cursors *Cursors
}

// ListCursors returns o.Cursors, and panics at construction when it is
// missing, so that a handler with list routes cannot start without a key
// its instances share.
func (o Ops) ListCursors() *Cursors {
	if o.Cursors == nil {
		panic("transport: Ops.Cursors is required for list routes (NewCursors of SERVICE_SECRET)")
	}
	return o.Cursors
}

// Finish adds the operational routes to rt and wraps it with Instrument:
// the outermost layer of every service's handler.
func Finish(rt *Router, ops Ops) http.Handler {
	ready := ops.Ready
	if ready == nil {
		ready = func(context.Context) (map[string]any, error) { return nil, nil }
	}
	gatherer := ops.Gatherer
	if gatherer == nil {
		gatherer = prometheus.NewRegistry()
	}
	HandleOps(rt, ready, gatherer)
	logger := ops.Logger
	if logger == nil {
		logger = log.NewNopLogger()
	}
	var h http.Handler = rt
	if ops.Timeout > 0 {
		h = withTimeout(rt, ops.Timeout)
	}
	return routedHandler{Handler: Instrument(h, logger, ops.Metrics), rt: rt}
}

// routedHandler is a finished handler that can still list its routes.
type routedHandler struct {
	http.Handler
	rt *Router
}

// Routes lists the route patterns the handler serves.
func (h routedHandler) Routes() []string { return h.rt.Routes() }

// withTimeout bounds a request's work so that its answer, a 503 at worst,
// is written within d: the work gets d less a small reserve for writing.
// A caller such as the gateway, waiting the same d, then passes the
// service's own answer on instead of timing out at the same instant.
func withTimeout(next http.Handler, d time.Duration) http.Handler {
	work := d - min(d/20, 100*time.Millisecond)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), work)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ServerOptions are the go-kit server options every route uses: the
// contract's error encoder.
func ServerOptions() []httptransport.ServerOption {
	return []httptransport.ServerOption{httptransport.ServerErrorEncoder(EncodeError), httptransport.ServerBefore(BearerToContext)}
}

// BearerToContext is a go-kit server before-func: it puts the token of an
// "Authorization: Bearer <token>" header in the context, unverified
// (auth.ContextWithToken), for the authentication middleware to verify.
// Any other Authorization is left out: the request goes on anonymous.
func BearerToContext(ctx context.Context, r *http.Request) context.Context {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return ctx
	}
	return auth.ContextWithToken(ctx, strings.TrimSpace(token))
}

// Created wraps a response so EncodeJSONResponse answers 201.
type Created struct{ Body any }

// StatusCode implements StatusCoder.
func (Created) StatusCode() int { return http.StatusCreated }

// MarshalJSON encodes the wrapped body.
func (c Created) MarshalJSON() ([]byte, error) { return json.Marshal(c.Body) }

// NoContent is a response that EncodeJSONResponse answers with 204.
type NoContent struct{}

// StatusCode implements StatusCoder.
func (NoContent) StatusCode() int { return http.StatusNoContent }

// ListBody is the JSON of every list route.
type ListBody[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// NewListBody builds a list body; nextCursor is the cursor of the next
// page (Cursors.Encode), "" on the last page.
func NewListBody[T any](items []T, nextCursor string) ListBody[T] {
	if items == nil {
		items = []T{}
	}
	return ListBody[T]{Items: items, NextCursor: nextCursor}
}
