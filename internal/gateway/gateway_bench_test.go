package gateway

// BenchmarkGateway proxies GET /v1/users/{id} in process: the gateway's
// whole handler (access log, metrics, request ID, timeout, reverse proxy
// through the resilience chain over transport.NewPooledHTTPClient's pool) in front of a loopback backend that
// answers a user's JSON at once. The backend's cost is in every figure;
// the difference between variants is the gateway's.
//
//	go test -run '^$' -bench Gateway -benchmem ./internal/gateway/

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kitshop/kitshop/transport"
)

func BenchmarkGateway(b *testing.B) {
	user := []byte(`{"id":"usr_01jd3k5x0r8f3m4c8q9w2e7t6y","name":"Ada Lovelace","email":"ada@example.com","created_at":"2025-03-01T12:30:45.123456Z"}` + "\n")
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set(transport.RequestIDHeader, r.Header.Get(transport.RequestIDHeader))
		_, _ = w.Write(user)
	}))
	defer backend.Close()
	client := transport.NewPooledHTTPClient()
	defer client.CloseIdleConnections()
	instances := sd.FixedInstancer{backend.URL}
	h, err := New(Config{Users: instances, Products: instances, Orders: instances,
		RequestTimeout: 5 * time.Second}, client.Transport, log.NewLogfmtLogger(io.Discard), prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	b.Run("get-user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/users/usr_01jd3k5x0r8f3m4c8q9w2e7t6y", nil))
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
