// Package obs builds the loggers and metrics every kitshop process uses,
// always on registries and writers passed in, never on global state.
package obs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/go-kit/kit/metrics"
	kitprometheus "github.com/go-kit/kit/metrics/prometheus"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewLogger returns a go-kit logger writing format ("logfmt" or "json") to
// w, with a UTC timestamp and the service name on every line.
func NewLogger(w io.Writer, format, service string) (log.Logger, error) {
	var logger log.Logger
	switch format {
	case "", "logfmt":
		logger = log.NewLogfmtLogger(log.NewSyncWriter(w))
	case "json":
		logger = log.NewJSONLogger(log.NewSyncWriter(w))
	default:
		return nil, fmt.Errorf("log format %q: want logfmt or json", format)
	}
	return log.With(logger, "ts", log.DefaultTimestampUTC, "service", service), nil
}

// NewRegistry returns a Prometheus registry with the Go runtime and process
// collectors, so /metrics also shows goroutines, memory and file descriptors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// MethodDuration returns the histogram the instrumenting middleware of every
// service observes: service_method_duration_seconds{method,outcome}, where
// outcome is "ok", or the error code of the result.
func MethodDuration(reg prometheus.Registerer) metrics.Histogram {
	hv := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "service_method_duration_seconds",
		Help:    "Duration of service method calls, by method and outcome (ok or error code).",
		Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"method", "outcome"})
	reg.MustRegister(hv)
	return kitprometheus.NewHistogram(hv)
}

// Outcome names the result of a call for metrics and logs: "ok", the code
// of its error, or, for an error that is not the domain's (a client's call
// that never got an answer), "canceled", "timeout" or "unreachable" (the
// network refused or broke the call) before falling back to "internal".
func Outcome(err error) string {
	if err == nil {
		return "ok"
	}
	var e *kitshop.Error
	var netErr net.Error
	switch {
	case errors.As(err, &e):
		return string(e.Code)
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &netErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return "unreachable"
	}
	return string(kitshop.CodeInternal)
}

// LogCall writes the log line of a typed logging middleware: method,
// request ID, outcome, duration, then kv; internal errors add their text,
// which is for operators only.
func LogCall(ctx context.Context, logger log.Logger, method string, begin time.Time, err error, kv ...any) {
	outcome := Outcome(err)
	line := append([]any{"method", method, "request_id", transport.RequestID(ctx), "outcome", outcome,
		"took", time.Since(begin).String()}, kv...)
	if err != nil && kitshop.ErrorCode(err) == kitshop.CodeInternal {
		line = append(line, "err", err.Error())
	}
	_ = logger.Log(line...)
}

// LogFailedCall is LogCall for reads: a successful read is in the access
// log already (one line per request, with its request ID, route, status
// and duration), so only a failed one gets a line of its own.
func LogFailedCall(ctx context.Context, logger log.Logger, method string, begin time.Time, err error, kv ...any) {
	if err == nil {
		return
	}
	LogCall(ctx, logger, method, begin, err, kv...)
}

// ObserveCall records a call in the histogram of an instrumenting
// middleware (see MethodDuration).
func ObserveCall(h metrics.Histogram, method string, begin time.Time, err error) {
	h.With("method", method, "outcome", Outcome(err)).Observe(time.Since(begin).Seconds())
}
