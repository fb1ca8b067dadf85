package resilience

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// deadlineSeen records the deadline each attempt's context carried,
// relative to the attempt's start.
func deadlineSeen(got *[]time.Duration) *fake {
	return newFake(func(ctx context.Context, _ int64) (any, error) {
		deadline, ok := ctx.Deadline()
		if !ok {
			*got = append(*got, -1)
			return "ok", nil
		}
		*got = append(*got, time.Until(deadline))
		return "ok", nil
	})
}

func TestTimeoutIsMinOfCallTimeoutAndCallersDeadline(t *testing.T) {
	tests := []struct {
		name           string
		callerDeadline time.Duration // 0: none
		want           time.Duration
	}{
		{name: "no caller deadline: CallTimeout", want: 2 * time.Second},
		{name: "caller's later: CallTimeout", callerDeadline: time.Hour, want: 2 * time.Second},
		{name: "caller's sooner: caller's", callerDeadline: 500 * time.Millisecond, want: 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fastSettings()
			s.CallTimeout = 2 * time.Second
			var seen []time.Duration
			_, call := single(t, s, deadlineSeen(&seen))
			ctx := context.Background()
			if tt.callerDeadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.callerDeadline)
				defer cancel()
			}

			if _, err := call(ctx, nil); err != nil {
				t.Fatal(err)
			}

			if len(seen) != 1 {
				t.Fatalf("attempts = %d, want 1", len(seen))
			}
			if got := seen[0]; got > tt.want || got < tt.want-200*time.Millisecond {
				t.Fatalf("attempt's deadline in %v, want about %v", got, tt.want)
			}
		})
	}
}

func TestTimeoutCountsOnlyOwnDeadline(t *testing.T) {
	tests := []struct {
		name           string
		callerDeadline time.Duration
		wantTimeouts   float64
	}{
		{name: "own CallTimeout expires", callerDeadline: 0, wantTimeouts: 1},
		{name: "caller's deadline expires first", callerDeadline: 10 * time.Millisecond, wantTimeouts: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fastSettings()
			s.MaxAttempts = 1
			s.CallTimeout = 30 * time.Millisecond
			s.Metrics = NewMetrics(prometheus.NewRegistry())
			_, call := single(t, s, hangs())
			ctx := context.Background()
			if tt.callerDeadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.callerDeadline)
				defer cancel()
			}

			start := time.Now()
			_, err := call(ctx, nil)
			took := time.Since(start)

			mustUnavailable(t, err)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want it to match context.DeadlineExceeded", err)
			}
			if took > s.CallTimeout+100*time.Millisecond {
				t.Errorf("hanging attempt returned after %v, CallTimeout is %v", took, s.CallTimeout)
			}
			if got := testutil.ToFloat64(s.Metrics.timeouts.WithLabelValues("user")); got != tt.wantTimeouts {
				t.Errorf("dependency_timeouts_total = %v, want %v", got, tt.wantTimeouts)
			}
		})
	}
}

func TestEachAttemptGetsFreshCallTimeout(t *testing.T) {
	s := fastSettings()
	s.CallTimeout = 40 * time.Millisecond
	s.ConsecutiveFailures = 100
	s.Metrics = NewMetrics(prometheus.NewRegistry())
	f := hangs()
	_, call := single(t, s, f)

	_, err := call(context.Background(), nil)

	mustUnavailable(t, err)
	if f.count() != 3 {
		t.Fatalf("attempts = %d, want 3", f.count())
	}
	if got := testutil.ToFloat64(s.Metrics.timeouts.WithLabelValues("user")); got != 3 {
		t.Fatalf("dependency_timeouts_total = %v, want 3", got)
	}
}
