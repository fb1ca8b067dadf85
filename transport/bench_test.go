package transport

// Benchmarks of what every request pays in this package, server side
// (Instrument, JSON in and out, errors) and client side (building a
// request, reading an answer):
//
//	go test -run '^$' -bench . -benchmem ./transport/

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/prometheus/client_golang/prometheus"
)

// benchBody is shaped like the services' answers: IDs, text, a time.
type benchBody struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

var benchValue = benchBody{ID: "usr_01jd3k5x0r8f3m4c8q9w2e7t6y", Name: "Ada Lovelace", Email: "ada@example.com",
	CreatedAt: time.Date(2025, 3, 1, 12, 30, 45, 123456000, time.UTC)}

// discardWriter is a ResponseWriter that throws the answer away and
// reuses its header map.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func BenchmarkServerSide(b *testing.B) {
	ctx := context.Background()
	w := &discardWriter{h: http.Header{}}
	b.Run("EncodeJSONResponse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			if err := EncodeJSONResponse(ctx, w, benchValue); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EncodeJSONResponse-created", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			if err := EncodeJSONResponse(ctx, w, Created{Body: benchValue}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("EncodeError", func(b *testing.B) {
		e := kitshop.NewError(kitshop.CodeNotFound, "user not found")
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			EncodeError(ctx, e, w)
		}
	})
	b.Run("DecodeJSON", func(b *testing.B) {
		body := []byte(`{"user_id":"usr_01jd3k5x0r8f3m4c8q9w2e7t6y","items":[{"product_id":"prd_01jd3k5x0r8f3m4c8q9w2e7t6y","quantity":2}]}`)
		r, _ := http.NewRequest(http.MethodPost, "/v1/orders", nil)
		r.Header.Set("Content-Type", "application/json")
		var v struct {
			UserID string `json:"user_id"`
			Items  []struct {
				ProductID string `json:"product_id"`
				Quantity  int64  `json:"quantity"`
			} `json:"items"`
		}
		b.ReportAllocs()
		for b.Loop() {
			r.Body = io.NopCloser(bytes.NewReader(body))
			if err := DecodeJSON(r, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Instrument around a handler that answers a small JSON body: request
	// ID, recorder, access log line (to io.Discard), histogram.
	b.Run("Instrument", func(b *testing.B) {
		inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			noteRoute(r.Context(), "GET /v1/users/{id}")
			_ = EncodeJSONResponse(r.Context(), w, benchValue)
		})
		h := Instrument(inner, log.NewLogfmtLogger(io.Discard), NewHTTPMetrics(prometheus.NewRegistry()))
		r, _ := http.NewRequest(http.MethodGet, "/v1/users/usr_1", nil)
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	})
	b.Run("bare-handler", func(b *testing.B) { // what Instrument wraps, alone
		r, _ := http.NewRequest(http.MethodGet, "/v1/users/usr_1", nil)
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			_ = EncodeJSONResponse(r.Context(), w, benchValue)
		}
	})
}

func BenchmarkClientSide(b *testing.B) {
	ctx := WithRequestID(context.Background(), "0123456789abcdef0123456789abcdef")
	b.Run("NewRequest-get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewRequest(ctx, http.MethodGet, "http://127.0.0.1:8081", "/v1/users/usr_01jd3k5x0r8f3m4c8q9w2e7t6y", nil, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("NewRequest-post", func(b *testing.B) {
		h := http.Header{"Idempotency-Key": {"order:ord_01jd3k5x0r8f3m4c8q9w2e7t6y"}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewRequest(ctx, http.MethodPost, "http://127.0.0.1:8082", "/v1/reservations", nil, benchValue, h); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("NewRequest-query", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewRequest(ctx, http.MethodGet, "http://127.0.0.1:8081", "/v1/users", url.Values{"limit": {"50"}}, nil, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeJSONResponse", func(b *testing.B) {
		body := []byte(`{"id":"usr_01jd3k5x0r8f3m4c8q9w2e7t6y","name":"Ada Lovelace","email":"ada@example.com","created_at":"2025-03-01T12:30:45.123456Z"}` + "\n")
		resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			resp.Body = io.NopCloser(bytes.NewReader(body))
			if _, err := DecodeJSONResponse[benchBody](resp); err != nil {
				b.Fatal(err)
			}
		}
	})
}
