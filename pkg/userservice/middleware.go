package userservice

import (
	"context"
	"time"

	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/internal/obs"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/prometheus/client_golang/prometheus"
)

// Middleware decorates a Service.
type Middleware func(Service) Service

// LoggingMiddleware logs every call that changes state, and every failed
// call, with its request ID, outcome and duration; a successful read is in
// the access log alone. Passwords, hashes and tokens are never logged:
// CreateUser logs only the resulting user's ID, CreateSession the signed-in
// user's ID (or the failure).
func LoggingMiddleware(logger log.Logger) Middleware {
	return func(next Service) Service { return loggingMiddleware{logger, next} }
}

type loggingMiddleware struct {
	logger log.Logger
	next   Service
}

func (mw loggingMiddleware) CreateUser(ctx context.Context, req CreateUserRequest) (u User, err error) {
	defer func(begin time.Time) { obs.LogCall(ctx, mw.logger, "CreateUser", begin, err, "id", u.ID) }(time.Now())
	return mw.next.CreateUser(ctx, req)
}

func (mw loggingMiddleware) GetUser(ctx context.Context, id string) (u User, err error) {
	defer func(begin time.Time) { obs.LogFailedCall(ctx, mw.logger, "GetUser", begin, err, "id", id) }(time.Now())
	return mw.next.GetUser(ctx, id)
}

func (mw loggingMiddleware) ListUsers(ctx context.Context, after string, limit int) (users []User, next string, err error) {
	defer func(begin time.Time) {
		obs.LogFailedCall(ctx, mw.logger, "ListUsers", begin, err, "limit", limit, "count", len(users))
	}(time.Now())
	return mw.next.ListUsers(ctx, after, limit)
}

func (mw loggingMiddleware) CreateSession(ctx context.Context, req CreateSessionRequest) (sess Session, err error) {
	defer func(begin time.Time) {
		obs.LogCall(ctx, mw.logger, "CreateSession", begin, err, "user_id", sess.User.ID)
	}(time.Now())
	return mw.next.CreateSession(ctx, req)
}

func (mw loggingMiddleware) JWKS(ctx context.Context) (keys auth.JWKS, err error) {
	defer func(begin time.Time) { obs.LogFailedCall(ctx, mw.logger, "JWKS", begin, err) }(time.Now())
	return mw.next.JWKS(ctx)
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

func (mw instrumentingMiddleware) CreateUser(ctx context.Context, req CreateUserRequest) (u User, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "CreateUser", begin, err) }(time.Now())
	return mw.next.CreateUser(ctx, req)
}

func (mw instrumentingMiddleware) GetUser(ctx context.Context, id string) (u User, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "GetUser", begin, err) }(time.Now())
	return mw.next.GetUser(ctx, id)
}

func (mw instrumentingMiddleware) ListUsers(ctx context.Context, after string, limit int) (users []User, next string, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "ListUsers", begin, err) }(time.Now())
	return mw.next.ListUsers(ctx, after, limit)
}

func (mw instrumentingMiddleware) CreateSession(ctx context.Context, req CreateSessionRequest) (sess Session, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "CreateSession", begin, err) }(time.Now())
	return mw.next.CreateSession(ctx, req)
}

func (mw instrumentingMiddleware) JWKS(ctx context.Context) (keys auth.JWKS, err error) {
	defer func(begin time.Time) { obs.ObserveCall(mw.duration, "JWKS", begin, err) }(time.Now())
	return mw.next.JWKS(ctx)
}
