package userservice

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kitshop/kitshop/transport"
	"github.com/kitshop/kitshop/transport/resilience"
)

// cannedTransport answers every request with the same 200 JSON body,
// without any I/O, so that BenchmarkClient measures only the client side.
type cannedTransport struct{ body []byte }

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body:          io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)),
		Request:       r,
	}, nil
}

// BenchmarkClient makes the GetUser call ordersvc makes, over a transport
// that answers at once, so that only the client side is measured: the raw
// http.Client way, the service's client without middleware
// (transport.Direct), and the service's client through the resilient chain
// as ordersvc uses it (the chain alone is measured in transport/resilience's
// BenchmarkChain).
func BenchmarkClient(b *testing.B) {
	u := benchUser(0)
	body, _ := json.Marshal(u)
	hc := &http.Client{Transport: cannedTransport{body: append(body, '\n')}}
	ctx, cancel := context.WithTimeout(transport.WithRequestID(context.Background(), "bench-request-id"), time.Hour)
	defer cancel()
	const base = "http://127.0.0.1:8081"
	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/users/"+u.ID, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Accept", "application/json")
			req.Header.Set(transport.RequestIDHeader, transport.RequestID(ctx))
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var got User
			err = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		client := NewHTTPClient(transport.Direct(base), hc)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.GetUser(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("resilient", func(b *testing.B) {
		dep, err := resilience.NewDependency("user", []string{base}, resilience.Settings{Metrics: resilience.NewMetrics(prometheus.NewRegistry())})
		if err != nil {
			b.Fatal(err)
		}
		client := NewHTTPClient(dep, hc)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.GetUser(ctx, u.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}
