package userservice

import (
	"context"
	"time"

	"github.com/go-kit/kit/metrics"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/internal/obs"
	"github.com/kitshop/kitshop/transport"
)

// Middleware decorates a Service.
type Middleware func(Service) Service

// LoggingMiddleware logs every call with its request ID, outcome and
// duration. Passwords and hashes are never logged: CreateUser logs only the
// resulting user's ID.
func LoggingMiddleware(logger log.Logger) Middleware {
	return func(next Service) Service { return loggingMiddleware{logger, next} }
}

type loggingMiddleware struct {
	logger log.Logger
	next   Service
}

func (mw loggingMiddleware) log(ctx context.Context, method string, begin time.Time, err error, kv ...any) {
	kv = append([]any{"method", method, "request_id", transport.RequestID(ctx), "outcome", obs.Outcome(err),
		"took", time.Since(begin).String()}, kv...)
	if err != nil && obs.Outcome(err) == string(transport.CodeInternal) {
		kv = append(kv, "err", err.Error())
	}
	_ = mw.logger.Log(kv...)
}

func (mw loggingMiddleware) CreateUser(ctx context.Context, req CreateUserRequest) (u User, err error) {
	defer func(begin time.Time) { mw.log(ctx, "CreateUser", begin, err, "id", u.ID) }(time.Now())
	return mw.next.CreateUser(ctx, req)
}

func (mw loggingMiddleware) GetUser(ctx context.Context, id string) (u User, err error) {
	defer func(begin time.Time) { mw.log(ctx, "GetUser", begin, err, "id", id) }(time.Now())
	return mw.next.GetUser(ctx, id)
}

func (mw loggingMiddleware) ListUsers(ctx context.Context, after string, limit int) (users []User, next string, err error) {
	defer func(begin time.Time) { mw.log(ctx, "ListUsers", begin, err, "limit", limit, "count", len(users)) }(time.Now())
	return mw.next.ListUsers(ctx, after, limit)
}

// InstrumentingMiddleware observes every call's duration in duration, with
// labels method and outcome (see obs.MethodDuration).
func InstrumentingMiddleware(duration metrics.Histogram) Middleware {
	return func(next Service) Service { return instrumentingMiddleware{duration, next} }
}

type instrumentingMiddleware struct {
	duration metrics.Histogram
	next     Service
}

func (mw instrumentingMiddleware) observe(method string, begin time.Time, err error) {
	mw.duration.With("method", method, "outcome", obs.Outcome(err)).Observe(time.Since(begin).Seconds())
}

func (mw instrumentingMiddleware) CreateUser(ctx context.Context, req CreateUserRequest) (u User, err error) {
	defer func(begin time.Time) { mw.observe("CreateUser", begin, err) }(time.Now())
	return mw.next.CreateUser(ctx, req)
}

func (mw instrumentingMiddleware) GetUser(ctx context.Context, id string) (u User, err error) {
	defer func(begin time.Time) { mw.observe("GetUser", begin, err) }(time.Now())
	return mw.next.GetUser(ctx, id)
}

func (mw instrumentingMiddleware) ListUsers(ctx context.Context, after string, limit int) (users []User, next string, err error) {
	defer func(begin time.Time) { mw.observe("ListUsers", begin, err) }(time.Now())
	return mw.next.ListUsers(ctx, after, limit)
}
