package resilience

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRetryClassifiesOutcomes(t *testing.T) {
	failTwiceThenOK := func() *fake {
		return newFake(func(_ context.Context, n int64) (any, error) {
			if n <= 2 {
				return nil, errInternal
			}
			return "ok", nil
		})
	}
	tests := []struct {
		name        string
		maxAttempts int
		endpoint    *fake
		wantCalls   int64
		wantOK      bool
		wantSame    error // returned exactly as the endpoint returned it
		wantWrapped error // dependency_unavailable whose chain matches this
	}{
		{name: "success", endpoint: always(nil), wantCalls: 1, wantOK: true},
		{name: "404 is a result, not retried", endpoint: always(errNotFound), wantCalls: 1, wantSame: errNotFound},
		{name: "409 is a result, not retried", endpoint: always(errConflict), wantCalls: 1, wantSame: errConflict},
		{name: "500 retried to MaxAttempts", endpoint: always(errInternal), wantCalls: 3, wantWrapped: errInternal},
		{name: "429 retried to MaxAttempts", endpoint: always(errTooMany), wantCalls: 3, wantWrapped: errTooMany},
		{name: "remote 503 retried", endpoint: always(errUnavailable), wantCalls: 3, wantWrapped: errUnavailable},
		{name: "transport error retried", endpoint: always(errRefused), wantCalls: 3, wantWrapped: errRefused},
		{name: "recovers on third attempt", endpoint: failTwiceThenOK(), wantCalls: 3, wantOK: true},
		{name: "MaxAttempts 5", maxAttempts: 5, endpoint: always(errInternal), wantCalls: 5, wantWrapped: errInternal},
		{name: "MaxAttempts 1 means no retry", maxAttempts: 1, endpoint: always(errInternal), wantCalls: 1, wantWrapped: errInternal},
		{name: "Permanent failure not retried", endpoint: always(backoff.Permanent(errInternal)), wantCalls: 1, wantWrapped: errInternal},
		{name: "Permanent 4xx unwrapped", endpoint: always(backoff.Permanent(errNotFound)), wantCalls: 1, wantSame: errNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fastSettings()
			s.ConsecutiveFailures = 100 // keep the breaker out of it
			if tt.maxAttempts != 0 {
				s.MaxAttempts = tt.maxAttempts
			}
			s.Metrics = NewMetrics(prometheus.NewRegistry())
			_, call := single(t, s, tt.endpoint)

			resp, err := call(context.Background(), "req")

			if got := tt.endpoint.count(); got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
			if retries := testutil.ToFloat64(s.Metrics.retries.WithLabelValues("user")); retries != float64(tt.wantCalls-1) {
				t.Errorf("dependency_retries_total = %v, want %d", retries, tt.wantCalls-1)
			}
			switch {
			case tt.wantOK:
				if err != nil || resp != "ok" {
					t.Fatalf("got (%v, %v), want (ok, nil)", resp, err)
				}
			case tt.wantSame != nil:
				if err != tt.wantSame {
					t.Fatalf("err = %#v, want exactly %v", err, tt.wantSame)
				}
			default:
				mustUnavailable(t, err)
				if !errors.Is(err, tt.wantWrapped) {
					t.Fatalf("errors.Is(%v, %v) = false", err, tt.wantWrapped)
				}
			}
		})
	}
}

func TestRetryStopsAtCallersDeadline(t *testing.T) {
	tests := []struct {
		name     string
		endpoint *fake
		deadline time.Duration
		backoff  time.Duration
		maxCalls int64
	}{
		// Each attempt hangs; the first one already runs into the deadline.
		{name: "hanging dependency", endpoint: hangs(), deadline: 150 * time.Millisecond, backoff: time.Millisecond, maxCalls: 1},
		// Fast failures: waits are 20..40ms and an attempt needs 50ms left, so
		// attempts start only in the first 100ms: at most 6.
		{name: "fast failures", endpoint: always(errInternal), deadline: 150 * time.Millisecond, backoff: 40 * time.Millisecond, maxCalls: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fastSettings()
			s.CallTimeout = 500 * time.Millisecond // budget rule: next attempt needs 50ms
			s.MaxAttempts = 10
			s.BackoffInitial, s.BackoffMax = tt.backoff, tt.backoff
			s.ConsecutiveFailures = 100
			_, call := single(t, s, tt.endpoint)

			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			start := time.Now()
			_, err := call(ctx, nil)
			elapsed := time.Since(start)

			mustUnavailable(t, err)
			if limit := tt.deadline + 100*time.Millisecond; elapsed > limit {
				t.Errorf("returned after %v, want within %v", elapsed, limit)
			}
			if n := tt.endpoint.count(); n > tt.maxCalls || n < 1 {
				t.Errorf("calls = %d, want 1..%d", n, tt.maxCalls)
			}
		})
	}
}

func TestRetrySkipsAttemptThatCannotFitBeforeDeadline(t *testing.T) {
	s := fastSettings()
	s.CallTimeout = 10 * time.Second // next attempt needs 1s after its wait
	s.BackoffInitial, s.BackoffMax = 400*time.Millisecond, 400*time.Millisecond
	f := always(errInternal)
	_, call := single(t, s, f)

	// The wait is 200..400ms; 1.1s - 200ms leaves under 1s: give up now.
	ctx, cancel := context.WithTimeout(context.Background(), 1100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := call(ctx, nil)
	elapsed := time.Since(start)

	mustUnavailable(t, err)
	if !errors.Is(err, errInternal) {
		t.Errorf("err = %v, want it to wrap the last failure", err)
	}
	if f.count() != 1 {
		t.Errorf("calls = %d, want 1", f.count())
	}
	if elapsed > 100*time.Millisecond { // a sleep would take 200ms or more
		t.Errorf("gave up after %v, want at once (no sleep)", elapsed)
	}
}

func TestRetryEndsWhenCallerCancels(t *testing.T) {
	s := fastSettings()
	s.BackoffInitial, s.BackoffMax = time.Hour, time.Hour
	f := always(errInternal)
	_, call := single(t, s, f)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := call(ctx, nil)
		done <- err
	}()
	eventually(t, time.Second, "first attempt made", func() bool { return f.count() == 1 })
	cancel()

	select {
	case err := <-done:
		mustUnavailable(t, err)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, errInternal) {
			t.Fatalf("err = %v, want it to wrap context.Canceled and the last failure", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("call still sleeping after its caller cancelled")
	}
	if f.count() != 1 {
		t.Fatalf("calls = %d, want 1", f.count())
	}
}

func TestRetryNeverStartsOnDoneContext(t *testing.T) {
	f := always(nil)
	_, call := single(t, fastSettings(), f)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := call(ctx, nil)

	mustUnavailable(t, err)
	if !errors.Is(err, context.Canceled) || f.count() != 0 {
		t.Fatalf("err = %v after %d calls, want context.Canceled and no call", err, f.count())
	}
}

func TestRetryReturnsAtOnceWhenFailureOpensLastBreaker(t *testing.T) {
	s := fastSettings()
	s.ConsecutiveFailures = 1
	s.BackoffInitial, s.BackoffMax = time.Hour, time.Hour // a sleep would hang the test
	s.Metrics = NewMetrics(prometheus.NewRegistry())
	f := always(errInternal)
	_, call := single(t, s, f)

	_, err := call(context.Background(), nil)

	e := mustUnavailable(t, err)
	if !errors.Is(err, errInternal) {
		t.Errorf("err = %v, want it to wrap the failure", err)
	}
	if e.RetryAfter < s.BreakerOpenTimeout-time.Minute {
		t.Errorf("RetryAfter = %v, want the time until half-open (~%v)", e.RetryAfter, s.BreakerOpenTimeout)
	}
	if f.count() != 1 {
		t.Fatalf("calls = %d, want 1", f.count())
	}
	// The call did I/O: it was not refused, so it is no short circuit.
	if n := testutil.ToFloat64(s.Metrics.shortCircuits.WithLabelValues("user")); n != 0 {
		t.Fatalf("dependency_short_circuits_total = %v, want 0", n)
	}
}

func TestRetryReturnsAtOnceWhenAllShortCircuited(t *testing.T) {
	s := fastSettings()
	s.ConsecutiveFailures = 1
	s.BackoffInitial, s.BackoffMax = time.Hour, time.Hour // a sleep would hang the test
	s.Metrics = NewMetrics(prometheus.NewRegistry())
	f := always(errInternal)
	_, call := single(t, s, f)
	_, _ = call(context.Background(), nil) // opens the breaker

	start := time.Now()
	_, err := call(context.Background(), nil)

	mustUnavailable(t, err)
	if time.Since(start) > time.Second || f.count() != 1 { // a sleep would hang
		t.Fatalf("refusal took %v and %d calls, want at once and none", time.Since(start), f.count()-1)
	}
	if n := testutil.ToFloat64(s.Metrics.shortCircuits.WithLabelValues("user")); n != 1 {
		t.Fatalf("dependency_short_circuits_total = %v, want 1", n)
	}
}
