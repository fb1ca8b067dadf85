package resilience

// Integration tests: real HTTP over loopback, go-kit's HTTP client, and
// faults injected by toxiproxy running in-process between client and server.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sony/gobreaker"
)

func TestIntegrationHappyPath(t *testing.T) {
	srv := newThingServer(t)
	p := newProxy(t, srv.URL)
	d := newDep(t, Settings{}, proxyURL(p))
	call := d.Endpoint(thingClient(t))

	resp, err := call(context.Background(), nil)

	if err != nil || resp != (thing{ID: "t1"}) {
		t.Fatalf("got (%v, %v)", resp, err)
	}
}

func TestIntegrationSlowDependencyTimesOut(t *testing.T) {
	srv := newThingServer(t)
	p := newProxy(t, srv.URL)
	addToxic(t, p, "slow", "latency", "downstream", `{"latency":400}`)
	s := fastSettings()
	s.CallTimeout = 100 * time.Millisecond
	s.MaxAttempts = 2
	s.ConsecutiveFailures = 100
	s.Metrics = NewMetrics(prometheus.NewRegistry())
	d := newDep(t, s, proxyURL(p))
	call := d.Endpoint(thingClient(t))
	timeouts := func() float64 { return testutil.ToFloat64(s.Metrics.timeouts.WithLabelValues("user")) }

	start := time.Now()
	_, err := call(context.Background(), nil)
	took := time.Since(start)

	mustUnavailable(t, err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to match context.DeadlineExceeded", err)
	}
	if limit := 2*s.CallTimeout + 200*time.Millisecond; took > limit {
		t.Errorf("2 timed-out attempts took %v, want under %v", took, limit)
	}
	if timeouts() != 2 {
		t.Errorf("dependency_timeouts_total = %v, want 2", timeouts())
	}

	// A caller's deadline shorter than CallTimeout bounds the call, and is
	// not the dependency's timeout.
	s.CallTimeout = time.Second
	d = newDep(t, s, proxyURL(p))
	call = d.Endpoint(thingClient(t))
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = call(ctx, nil)
	took = time.Since(start)
	mustUnavailable(t, err)
	if took > 300*time.Millisecond {
		t.Errorf("call with a 150ms deadline took %v", took)
	}
	if timeouts() != 2 {
		t.Errorf("dependency_timeouts_total = %v, want still 2", timeouts())
	}
}

func TestIntegrationHungDependencyOpensBreakerAndRecovers(t *testing.T) {
	srv := newThingServer(t)
	p := newProxy(t, srv.URL)
	addToxic(t, p, "hang", "timeout", "upstream", `{"timeout":0}`) // requests vanish
	s := fastSettings()
	s.CallTimeout = 50 * time.Millisecond
	s.ConsecutiveFailures = 3
	s.BreakerOpenTimeout = 300 * time.Millisecond
	d := newDep(t, s, proxyURL(p))
	call := d.Endpoint(thingClient(t))

	_, err := call(context.Background(), nil) // 3 attempts, 3 timeouts
	mustUnavailable(t, err)
	if d.States()[proxyURL(p)] != "open" {
		t.Fatalf("states = %v after 3 timeouts, want open", d.States())
	}
	if srv.hits.Load() != 0 {
		t.Fatalf("server saw %d requests through the hang", srv.hits.Load())
	}

	var took []time.Duration
	for range 21 {
		start := time.Now()
		_, err = call(context.Background(), nil)
		took = append(took, time.Since(start))
		mustUnavailable(t, err)
	}
	slices.Sort(took)
	if p50 := took[len(took)/2]; p50 > time.Millisecond {
		t.Errorf("median short circuit took %v, want under 1ms", p50)
	}
	if err := d.Available(); err == nil {
		t.Error("Available = nil with the only breaker open")
	}

	removeToxic(t, p, "hang")
	eventually(t, s.BreakerOpenTimeout+2*time.Second, "recovery", func() bool {
		_, err := call(context.Background(), nil)
		return err == nil
	})
	if d.States()[proxyURL(p)] != "closed" {
		t.Fatalf("states = %v after recovery, want closed", d.States())
	}
}

func TestIntegrationResetPeerRoutedAround(t *testing.T) {
	srv := newThingServer(t)
	bad, good := newProxy(t, srv.URL), newProxy(t, srv.URL)
	addToxic(t, bad, "reset", "reset_peer", "upstream", `{"timeout":0}`)
	s := fastSettings()
	s.ConsecutiveFailures = 3
	d := newDep(t, s, proxyURL(bad), proxyURL(good))
	call := d.Endpoint(thingClient(t))

	for i := range 20 {
		if _, err := call(context.Background(), nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}

	// A failure counts as a call of CallTimeout: once the resetting
	// instance has failed, the balancer sends the calls to the other, and
	// its breaker never needs to open.
	if st := d.States(); st[proxyURL(good)] != "closed" {
		t.Fatalf("states = %v, want the good instance closed", st)
	}
	if srv.hits.Load() != 20 {
		t.Fatalf("server hits = %d, want 20: every call served once, by the good instance", srv.hits.Load())
	}
}

func TestIntegrationResetPeerIsRetriedFailure(t *testing.T) {
	srv := newThingServer(t)
	p := newProxy(t, srv.URL)
	addToxic(t, p, "reset", "reset_peer", "upstream", `{"timeout":0}`)
	s := fastSettings()
	s.Metrics = NewMetrics(prometheus.NewRegistry())
	d := newDep(t, s, proxyURL(p))
	call := d.Endpoint(thingClient(t))

	_, err := call(context.Background(), nil)

	mustUnavailable(t, err)
	var te *kitshop.Error
	if errors.As(errors.Unwrap(err), &te) {
		t.Errorf("a reset decoded as an HTTP answer: %v", te)
	}
	if got := testutil.ToFloat64(s.Metrics.retries.WithLabelValues("user")); got != 2 {
		t.Errorf("retries = %v, want 2", got)
	}
}

func TestIntegrationKilledDependencyUnderLoad(t *testing.T) {
	srv := newThingServer(t)
	p := newProxy(t, srv.URL)
	s := fastSettings()
	s.BreakerOpenTimeout = time.Second
	d := newDep(t, s, proxyURL(p))
	call := d.Endpoint(thingClient(t))
	if _, err := call(context.Background(), nil); err != nil {
		t.Fatal(err)
	}

	p.Stop() // connection refused from now on
	killed := time.Now()
	parallel(20, func(int) { _, _ = call(context.Background(), nil) })
	eventually(t, time.Second, "breaker open within 1s of the kill", func() bool {
		_, _ = call(context.Background(), nil)
		return d.Available() != nil
	})
	t.Logf("breaker open %v after the kill", time.Since(killed))

	var took []time.Duration
	for range 200 {
		start := time.Now()
		_, err := call(context.Background(), nil)
		took = append(took, time.Since(start))
		if !errors.Is(err, gobreaker.ErrOpenState) {
			t.Fatalf("while open: err = %v", err)
		}
	}
	// The contract's p99 < 10ms is measured on the whole stack by the chaos
	// runner; here, on a shared machine under -race, the p90.
	slices.Sort(took)
	t.Logf("refused calls: p50 %v, p99 %v", took[len(took)/2], took[len(took)*99/100])
	if p90 := took[len(took)*90/100]; p90 > 10*time.Millisecond {
		t.Errorf("p90 of refused calls = %v, want under 10ms", p90)
	}

	if err := p.Start(); err != nil { // same port
		t.Fatalf("restarting proxy: %v", err)
	}
	eventually(t, s.BreakerOpenTimeout+2*time.Second, "recovery", func() bool {
		_, err := call(context.Background(), nil)
		return err == nil
	})
}

func TestIntegrationHTTPAnswers(t *testing.T) {
	tests := []struct {
		mode     string
		wantHits int64
		wantCode kitshop.Code
	}{
		{mode: "404", wantHits: 1, wantCode: kitshop.CodeNotFound},
		{mode: "500", wantHits: 3, wantCode: kitshop.CodeDependencyUnavailable},
		// Retry-After 3s does not fit the caller's 1s deadline: one hit.
		{mode: "503", wantHits: 1, wantCode: kitshop.CodeDependencyUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			srv := newThingServer(t)
			srv.mode.Store(tt.mode)
			s := fastSettings()
			s.ConsecutiveFailures = 100
			d := newDep(t, s, srv.URL)
			call := d.Endpoint(thingClient(t))
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()

			_, err := call(ctx, nil)

			if got := kitshop.AsError(err).Code; got != tt.wantCode {
				t.Errorf("code = %s, want %s (err %v)", got, tt.wantCode, err)
			}
			if srv.hits.Load() != tt.wantHits {
				t.Errorf("hits = %d, want %d", srv.hits.Load(), tt.wantHits)
			}
			if tt.mode == "503" && kitshop.AsError(err).RetryAfter != 3*time.Second {
				t.Errorf("RetryAfter = %v, want the dependency's 3s", kitshop.AsError(err).RetryAfter)
			}
		})
	}
}
