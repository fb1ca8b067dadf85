package productservice

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
// call, with its request ID, outcome and duration, and the IDs it
// concerns. A successful read is in the access log alone.
func LoggingMiddleware(logger log.Logger) Middleware {
	return func(next Service) Service { return loggingMiddleware{logger, next} }
}

type loggingMiddleware struct {
	logger log.Logger
	next   Service
}

func (mw loggingMiddleware) CreateProduct(ctx context.Context, req CreateProductRequest) (p Product, err error) {
	defer func(begin time.Time) { obs.LogCall(ctx, mw.logger, "CreateProduct", begin, err, "id", p.ID) }(time.Now())
	return mw.next.CreateProduct(ctx, req)
}

func (mw loggingMiddleware) GetProduct(ctx context.Context, id string) (p Product, err error) {
	defer func(begin time.Time) { obs.LogFailedCall(ctx, mw.logger, "GetProduct", begin, err, "id", id) }(time.Now())
	return mw.next.GetProduct(ctx, id)
}

func (mw loggingMiddleware) ListProducts(ctx context.Context, after string, limit int) (products []Product, next string, err error) {
	defer func(begin time.Time) {
		obs.LogFailedCall(ctx, mw.logger, "ListProducts", begin, err, "limit", limit, "count", len(products))
	}(time.Now())
	return mw.next.ListProducts(ctx, after, limit)
}

func (mw loggingMiddleware) Reserve(ctx context.Context, req ReserveRequest) (r Reservation, err error) {
	defer func(begin time.Time) {
		obs.LogCall(ctx, mw.logger, "Reserve", begin, err, "order_id", req.OrderID, "items", len(req.Items), "id", r.ID)
	}(time.Now())
	return mw.next.Reserve(ctx, req)
}

func (mw loggingMiddleware) ConfirmReservation(ctx context.Context, id string) (r Reservation, err error) {
	defer func(begin time.Time) { obs.LogCall(ctx, mw.logger, "ConfirmReservation", begin, err, "id", id) }(time.Now())
	return mw.next.ConfirmReservation(ctx, id)
}

func (mw loggingMiddleware) ReleaseReservation(ctx context.Context, id string) (err error) {
	defer func(begin time.Time) { obs.LogCall(ctx, mw.logger, "ReleaseReservation", begin, err, "id", id) }(time.Now())
	return mw.next.ReleaseReservation(ctx, id)
}

func (mw loggingMiddleware) ListReservations(ctx context.Context, status, after string, limit int) (rs []Reservation, next string, err error) {
	defer func(begin time.Time) {
		obs.LogFailedCall(ctx, mw.logger, "ListReservations", begin, err, "status", status, "limit", limit, "count", len(rs))
	}(time.Now())
	return mw.next.ListReservations(ctx, status, after, limit)
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

func (mw instrumentingMiddleware) CreateProduct(ctx context.Context, req CreateProductRequest) (p Product, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "CreateProduct", begin, err) }(time.Now())
	return mw.next.CreateProduct(ctx, req)
}

func (mw instrumentingMiddleware) GetProduct(ctx context.Context, id string) (p Product, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "GetProduct", begin, err) }(time.Now())
	return mw.next.GetProduct(ctx, id)
}

func (mw instrumentingMiddleware) ListProducts(ctx context.Context, after string, limit int) (products []Product, next string, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "ListProducts", begin, err) }(time.Now())
	return mw.next.ListProducts(ctx, after, limit)
}

func (mw instrumentingMiddleware) Reserve(ctx context.Context, req ReserveRequest) (r Reservation, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "Reserve", begin, err) }(time.Now())
	return mw.next.Reserve(ctx, req)
}

func (mw instrumentingMiddleware) ConfirmReservation(ctx context.Context, id string) (r Reservation, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "ConfirmReservation", begin, err) }(time.Now())
	return mw.next.ConfirmReservation(ctx, id)
}

func (mw instrumentingMiddleware) ReleaseReservation(ctx context.Context, id string) (err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "ReleaseReservation", begin, err) }(time.Now())
	return mw.next.ReleaseReservation(ctx, id)
}

func (mw instrumentingMiddleware) ListReservations(ctx context.Context, status, after string, limit int) (rs []Reservation, next string, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "ListReservations", begin, err) }(time.Now())
	return mw.next.ListReservations(ctx, status, after, limit)
}
