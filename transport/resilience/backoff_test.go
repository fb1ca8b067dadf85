package resilience

import (
	"context"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

func TestBackOffPolicyGrowsWithJitterAndIsCapped(t *testing.T) {
	s := Settings{BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second, MaxAttempts: 7}.withDefaults()
	const samples = 300
	sums := make([]time.Duration, s.MaxAttempts-1)
	distinct := map[time.Duration]bool{}
	for range samples {
		policy := s.newBackOff()
		for k := range s.MaxAttempts - 1 {
			wait := policy.NextBackOff()
			base := min(s.BackoffInitial<<k, s.BackoffMax)
			lo, hi := base/2, min(base*3/2, s.BackoffMax)
			if wait < lo || wait > hi {
				t.Fatalf("wait %d = %v, want within [%v, %v]", k+1, wait, lo, hi)
			}
			sums[k] += wait
			if k == 0 {
				distinct[wait] = true
			}
		}
		if wait := policy.NextBackOff(); wait != backoff.Stop {
			t.Fatalf("wait after MaxAttempts-1 = %v, want Stop", wait)
		}
	}
	// Means: ~100, 200, 400 ms, then capped near the 1s maximum.
	for k := 1; k < 4; k++ {
		if sums[k] <= sums[k-1]*3/2 {
			t.Errorf("mean wait %d (%v) is not well above mean wait %d (%v)", k+1, sums[k]/samples, k, sums[k-1]/samples)
		}
	}
	if len(distinct) < samples/2 {
		t.Errorf("only %d distinct first waits in %d: no jitter", len(distinct), samples)
	}
}

func TestRetryWaitsTheBackOff(t *testing.T) {
	s := fastSettings()
	s.BackoffInitial, s.BackoffMax = 20*time.Millisecond, 40*time.Millisecond
	f := always(errInternal)
	_, call := single(t, s, f)

	start := time.Now()
	_, err := call(context.Background(), nil)
	elapsed := time.Since(start)

	mustUnavailable(t, err)
	// Waits before attempts 2 and 3 are at least half of 20ms and 40ms.
	if min := 10*time.Millisecond + 20*time.Millisecond; elapsed < min {
		t.Fatalf("3 attempts took %v, less than the least backoff %v", elapsed, min)
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	t.Run("fits before deadline: waited", func(t *testing.T) {
		busy := &kitshop.Error{Code: kitshop.CodeTooManyRequests, RetryAfter: 60 * time.Millisecond}
		var first time.Time
		var gap time.Duration
		f := newFake(func(_ context.Context, n int64) (any, error) {
			if n == 1 {
				first = time.Now()
				return nil, busy
			}
			gap = time.Since(first)
			return "ok", nil
		})
		_, call := single(t, fastSettings(), f)

		resp, err := call(context.Background(), nil)

		if err != nil || resp != "ok" {
			t.Fatalf("got (%v, %v), want ok", resp, err)
		}
		if gap < busy.RetryAfter {
			t.Fatalf("second attempt after %v, want at least RetryAfter %v", gap, busy.RetryAfter)
		}
	})
	t.Run("does not fit: give up at once with it", func(t *testing.T) {
		busy := &kitshop.Error{Code: kitshop.CodeDependencyUnavailable, RetryAfter: 10 * time.Second}
		f := always(busy)
		_, call := single(t, fastSettings(), f)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()

		start := time.Now()
		_, err := call(ctx, nil)

		e := mustUnavailable(t, err)
		if e.RetryAfter != busy.RetryAfter {
			t.Errorf("RetryAfter = %v, want the dependency's %v", e.RetryAfter, busy.RetryAfter)
		}
		if f.count() != 1 || time.Since(start) > time.Second {
			t.Errorf("%d calls in %v, want 1 call and no wait", f.count(), time.Since(start))
		}
	})
}
