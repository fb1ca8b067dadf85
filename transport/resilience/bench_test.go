package resilience

import (
	"context"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/prometheus/client_golang/prometheus"
)

// bare is the in-process endpoint the chain is measured around.
func bare(_ context.Context, request any) (any, error) { return request, nil }

func benchCall(b *testing.B, ctx context.Context, call endpoint.Endpoint) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := call(ctx, "req"); err != nil {
			b.Fatal(err)
		}
	}
}

func benchChain(b *testing.B, instances ...string) endpoint.Endpoint {
	s := Settings{Metrics: NewMetrics(prometheus.NewRegistry())}
	d := newDep(b, s, instances...)
	return d.Endpoint(func(string) endpoint.Endpoint { return bare })
}

func BenchmarkBareEndpoint(b *testing.B) {
	benchCall(b, context.Background(), bare)
}

// The happy path through retry, balancer, breaker and timeout.
func BenchmarkChain(b *testing.B) {
	b.Run("one-instance", func(b *testing.B) {
		benchCall(b, context.Background(), benchChain(b, instA))
	})
	b.Run("two-instances", func(b *testing.B) {
		benchCall(b, context.Background(), benchChain(b, instA, instB))
	})
	// As in ordersvc: the inbound request's deadline (5s) is later than
	// CallTimeout (1s), so every attempt gets its own timer.
	b.Run("caller-deadline-later", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		benchCall(b, ctx, benchChain(b, instA))
	})
	// The caller's deadline is sooner than CallTimeout: it is the attempt's.
	b.Run("caller-deadline-sooner", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		s := Settings{CallTimeout: 2 * time.Hour, Metrics: NewMetrics(prometheus.NewRegistry())}
		call := newDep(b, s, instA).Endpoint(func(string) endpoint.Endpoint { return bare })
		b.ReportAllocs()
		for b.Loop() {
			if _, err := call(ctx, "req"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		call := benchChain(b, instA, instB)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := call(context.Background(), "req"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// openDependency returns a dependency whose every breaker is open, and an
// Endpoint of it.
func openDependency(b *testing.B, instances ...string) (*Dependency, endpoint.Endpoint) {
	s := Settings{MaxAttempts: 1, ConsecutiveFailures: 1, BreakerOpenTimeout: time.Hour, Metrics: NewMetrics(prometheus.NewRegistry())}
	d := newDep(b, s, instances...)
	call := d.Endpoint(func(string) endpoint.Endpoint {
		return func(context.Context, any) (any, error) { return nil, errRefused }
	})
	for range instances {
		_, _ = call(context.Background(), nil)
	}
	if d.Available() == nil {
		b.Fatal("breakers not open")
	}
	return d, call
}

// The fast-fail path while the dependency's breakers are open.
func BenchmarkOpenBreaker(b *testing.B) {
	b.Run("Available", func(b *testing.B) {
		d, _ := openDependency(b, instA)
		b.ReportAllocs()
		for b.Loop() {
			if d.Available() == nil {
				b.Fatal("available")
			}
		}
	})
	b.Run("Endpoint", func(b *testing.B) {
		_, call := openDependency(b, instA)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := call(context.Background(), nil); err == nil {
				b.Fatal("no error")
			}
		}
	})
	b.Run("Endpoint-two-instances", func(b *testing.B) {
		_, call := openDependency(b, instA, instB)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := call(context.Background(), nil); err == nil {
				b.Fatal("no error")
			}
		}
	})
}
