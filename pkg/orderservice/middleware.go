package orderservice

import (
	"context"
	"time"

	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/internal/obs"
	"github.com/prometheus/client_golang/prometheus"
)

// Middleware decorates a Service.
type Middleware func(Service) Service

// LoggingMiddleware logs every call that changes state, and every failed
// call, with its request ID, outcome and duration. A successful read is in
// the access log alone.
func LoggingMiddleware(logger log.Logger) Middleware {
	return func(next Service) Service { return loggingMiddleware{logger, next} }
}

type loggingMiddleware struct {
	logger log.Logger
	next   Service
}

func (mw loggingMiddleware) CreateOrder(ctx context.Context, req CreateOrderRequest) (o Order, err error) {
	defer func(begin time.Time) {
		obs.LogCall(ctx, mw.logger, "CreateOrder", begin, err, "user_id", req.UserID, "items", len(req.Items),
			"idempotency_key", req.IdempotencyKey != "", "order_id", o.ID)
	}(time.Now())
	return mw.next.CreateOrder(ctx, req)
}

func (mw loggingMiddleware) GetOrder(ctx context.Context, id string) (o Order, err error) {
	defer func(begin time.Time) { obs.LogFailedCall(ctx, mw.logger, "GetOrder", begin, err, "order_id", id) }(time.Now())
	return mw.next.GetOrder(ctx, id)
}

func (mw loggingMiddleware) ListOrders(ctx context.Context, userID, after string, limit int) (orders []Order, next string, err error) {
	defer func(begin time.Time) {
		obs.LogFailedCall(ctx, mw.logger, "ListOrders", begin, err, "user_id", userID, "limit", limit, "count", len(orders))
	}(time.Now())
	return mw.next.ListOrders(ctx, userID, after, limit)
}

// NewMethodDuration registers with reg and returns the histogram that
// InstrumentingMiddleware observes: service_method_duration_seconds with
// labels method and outcome ("ok" or the error's code). It is the only
// histogram the middleware works with: one without those labels panics.
func NewMethodDuration(reg prometheus.Registerer) metrics.Histogram {
	return obs.MethodDuration(reg)
}

// InstrumentingMiddleware observes every call's duration in duration, with
// labels method and outcome (see NewMethodDuration).
func InstrumentingMiddleware(duration metrics.Histogram) Middleware {
	return func(next Service) Service { return instrumentingMiddleware{duration, next} }
}

type instrumentingMiddleware struct {
	duration metrics.Histogram
	next     Service
}

func (mw instrumentingMiddleware) CreateOrder(ctx context.Context, req CreateOrderRequest) (o Order, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "CreateOrder", begin, err) }(time.Now())
	return mw.next.CreateOrder(ctx, req)
}

func (mw instrumentingMiddleware) GetOrder(ctx context.Context, id string) (o Order, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "GetOrder", begin, err) }(time.Now())
	return mw.next.GetOrder(ctx, id)
}

func (mw instrumentingMiddleware) ListOrders(ctx context.Context, userID, after string, limit int) (orders []Order, next string, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "ListOrders", begin, err) }(time.Now())
	return mw.next.ListOrders(ctx, userID, after, limit)
}
