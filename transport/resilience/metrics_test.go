package resilience

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var metricNames = []string{
	"dependency_breaker_state",
	"dependency_retries_total",
	"dependency_timeouts_total",
	"dependency_short_circuits_total",
}

func TestMetricsPresentAtZeroFromStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	for _, dep := range []struct {
		name      string
		instances []string
	}{
		{"user", []string{"http://127.0.0.1:8081", "http://127.0.0.1:9081"}},
		{"product", []string{"http://127.0.0.1:8082"}},
	} {
		if _, err := NewDependency(dep.name, dep.instances, Settings{Metrics: m}); err != nil {
			t.Fatal(err)
		}
	}

	want := `
# HELP dependency_breaker_state Circuit breaker state per dependency instance: 0 closed, 1 half-open, 2 open.
# TYPE dependency_breaker_state gauge
dependency_breaker_state{dependency="product",instance="http://127.0.0.1:8082"} 0
dependency_breaker_state{dependency="user",instance="http://127.0.0.1:8081"} 0
dependency_breaker_state{dependency="user",instance="http://127.0.0.1:9081"} 0
# HELP dependency_retries_total Attempts made after the first one of a call to a dependency.
# TYPE dependency_retries_total counter
dependency_retries_total{dependency="product"} 0
dependency_retries_total{dependency="user"} 0
# HELP dependency_short_circuits_total Calls to a dependency refused without I/O because every instance's breaker was open.
# TYPE dependency_short_circuits_total counter
dependency_short_circuits_total{dependency="product"} 0
dependency_short_circuits_total{dependency="user"} 0
# HELP dependency_timeouts_total Attempts to a dependency that ran out of their own call timeout.
# TYPE dependency_timeouts_total counter
dependency_timeouts_total{dependency="product"} 0
dependency_timeouts_total{dependency="user"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), metricNames...); err != nil {
		t.Fatal(err)
	}
}

func TestMetricsMove(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := fastSettings()
	s.Metrics = NewMetrics(reg)
	s.CallTimeout = 20 * time.Millisecond
	s.MaxAttempts = 3
	s.ConsecutiveFailures = 3
	s.BreakerOpenTimeout = 30 * time.Millisecond
	healthy := make(chan struct{})
	f := newFake(func(ctx context.Context, _ int64) (any, error) {
		select {
		case <-healthy:
			return "ok", nil
		case <-ctx.Done(): // hangs until its attempt times out
			return nil, ctx.Err()
		}
	})
	d, call := single(t, s, f)
	state := func() float64 {
		return testutil.ToFloat64(s.Metrics.breakerState.WithLabelValues("user", "http://user-1.test"))
	}
	counter := func(v *prometheus.CounterVec) float64 { return testutil.ToFloat64(v.WithLabelValues("user")) }

	_, _ = call(context.Background(), nil) // 3 attempts, 3 timeouts, 2 retries: trips the breaker
	if counter(s.Metrics.timeouts) != 3 || counter(s.Metrics.retries) != 2 || state() != 2 {
		t.Fatalf("after 3 timeouts: timeouts %v retries %v state %v, want 3, 2, 2",
			counter(s.Metrics.timeouts), counter(s.Metrics.retries), state())
	}
	_, _ = call(context.Background(), nil) // refused by the Endpoint
	_ = d.Available()                      // refused by Available
	if got := counter(s.Metrics.shortCircuits); got != 2 {
		t.Fatalf("short circuits = %v, want 2", got)
	}
	eventually(t, 2*time.Second, "half-open", func() bool { return d.States()["http://user-1.test"] == "half-open" })
	if state() != 1 {
		t.Fatalf("state gauge = %v in half-open, want 1", state())
	}
	close(healthy)
	if _, err := call(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if state() != 0 {
		t.Fatalf("state gauge = %v after recovery, want 0", state())
	}
}

func TestNewMetricsTwiceOnOneRegistryShares(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := NewMetrics(reg), NewMetrics(reg)
	a.retries.WithLabelValues("user").Inc()
	if got := testutil.ToFloat64(b.retries.WithLabelValues("user")); got != 1 {
		t.Fatalf("second Metrics sees %v retries, want the first's 1", got)
	}
}

func TestNilMetricsAndNilRegistry(t *testing.T) {
	for _, m := range []*Metrics{nil, NewMetrics(nil)} {
		s := fastSettings()
		s.Metrics = m
		s.ConsecutiveFailures = 1
		d, call := single(t, s, always(errInternal))
		_, _ = call(context.Background(), nil)
		_ = d.Available()
	}
}
