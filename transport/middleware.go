package transport

import (
	"context"
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/prometheus/client_golang/prometheus"
)

// HTTPMetrics is the request-duration histogram every service exports as
// http_request_duration_seconds{method,route,code}.
type HTTPMetrics struct {
	duration *prometheus.HistogramVec
}

// NewHTTPMetrics registers the request histogram on reg.
func NewHTTPMetrics(reg prometheus.Registerer) *HTTPMetrics {
	m := &HTTPMetrics{duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Duration of HTTP requests served, by method, route pattern and status code.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"method", "route", "code"})}
	reg.MustRegister(m.duration)
	return m
}

// requestInfo is shared between Instrument and the handlers it wraps through
// the request context, so that an error encoder can hand the internal cause
// of a 500 to the access log without it reaching the client.
type requestInfo struct {
	err   error
	route string
}

type requestInfoKey struct{}

// noteRoute records the route pattern that matched the request in ctx.
func noteRoute(ctx context.Context, pattern string) {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		ri.route = pattern
	}
}

// noteError records err for the access log line of the request in ctx.
func noteError(ctx context.Context, err error) {
	if ri, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		ri.err = err
	}
}

// Instrument wraps a service's whole handler with what every request gets:
// a request ID (taken from X-Request-ID when usable, else generated; set on
// the response and in the context for downstream calls), recovery from
// panics as a 500 internal error (or an aborted connection when the answer
// had already begun), one access log line (request_id, method,
// route, status, duration, and the error for 5xx), and an observation of
// http_request_duration_seconds. route is the ServeMux pattern that matched,
// so the label set stays bounded.
func Instrument(next http.Handler, logger log.Logger, metrics *HTTPMetrics) http.Handler {
	// The leveled loggers are built once, not once per request.
	infoLog, errorLog := level.Info(logger), level.Error(logger)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestIDFrom(r)
		w.Header()[requestIDHeaderKey] = []string{id} // Header().Set, without canonicalising the name each time
		info := &requestInfo{}
		ctx := context.WithValue(WithRequestID(r.Context(), id), requestInfoKey{}, info)
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}

		defer func() {
			p := recover()
			// A panic before the status line becomes a 500. After it (or an
			// http.ErrAbortHandler) a 500 cannot be sent: the connection is
			// aborted, once the request is logged, so the client sees a
			// failure rather than a truncated answer that looks complete.
			abort := false
			if p != nil {
				info.err = panicError{p}
				abort = rec.wroteHeader || p == http.ErrAbortHandler
				if !abort {
					EncodeError(ctx, kitshop.Internal(info.err), rec)
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
				if abort {
					status = http.StatusInternalServerError
				}
			}
			route := info.route
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			if metrics != nil {
				metrics.duration.WithLabelValues(methodLabel(r.Method), route, codeLabel(status)).Observe(elapsed.Seconds())
			}
			kv := []any{"request_id", id, "method", r.Method, "route", route, "path", r.URL.Path,
				"status", status, "duration", elapsed.String()}
			lvl := infoLog
			if status >= 500 || p != nil {
				lvl = errorLog
				if info.err != nil {
					kv = append(kv, "err", info.err.Error())
				}
			}
			_ = lvl.Log(kv...)
			if abort {
				panic(http.ErrAbortHandler)
			}
		}()
		if headerBytes(r) > MaxHeaderBytes {
			rec.Header().Set("Connection", "close")
			EncodeError(ctx, kitshop.NewError(CodeHeadersTooLarge, "request headers exceed %d bytes", MaxHeaderBytes), rec)
			return
		}
		next.ServeHTTP(rec, r)
	})
}

type panicError struct{ v any }

func (p panicError) Error() string { return "panic: " + stringify(p.v) }

func stringify(v any) string {
	switch t := v.(type) {
	case error:
		return t.Error()
	case string:
		return t
	}
	return "non-error panic value"
}

// statusRecorder remembers the status written through it.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets streaming handlers (the gateway's reverse proxy) flush.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// headerBytes is the size of r's request line and headers as sent, near
// enough to hold them to MaxHeaderBytes.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Host) + 16
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
