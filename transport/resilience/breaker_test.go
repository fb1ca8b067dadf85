package resilience

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/sony/gobreaker"
)

// syncBuffer is a log destination the breakers may write from any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestBreakerOpensAfterConsecutiveFailuresAndShortCircuits(t *testing.T) {
	s := fastSettings()
	s.MaxAttempts = 1
	s.ConsecutiveFailures = 3
	f := always(errRefused)
	d, call := single(t, s, f)

	for i := range 3 {
		if d.States()["http://user-1.test"] != "closed" {
			t.Fatalf("breaker not closed after %d failures", i)
		}
		_, err := call(context.Background(), nil)
		mustUnavailable(t, err)
	}
	if got := d.States()["http://user-1.test"]; got != "open" {
		t.Fatalf("state after 3 failures = %q, want open", got)
	}

	_, err := call(context.Background(), nil)

	e := mustUnavailable(t, err)
	if !errors.Is(err, gobreaker.ErrOpenState) {
		t.Errorf("short-circuit error %v does not wrap gobreaker.ErrOpenState", err)
	}
	if e.RetryAfter > s.BreakerOpenTimeout {
		t.Errorf("RetryAfter %v longer than the open timeout %v", e.RetryAfter, s.BreakerOpenTimeout)
	}
	if f.count() != 3 {
		t.Errorf("endpoint calls = %d, want 3: the open breaker must not let any through", f.count())
	}
}

func TestBreakerOpensOnFailureRatio(t *testing.T) {
	s := fastSettings()
	s.MaxAttempts = 1
	s.ConsecutiveFailures = 100 // only the ratio can trip it
	s.FailureRatio = 0.5
	s.MinRequests = 10
	// Alternate: success, failure, ... never two failures in a row.
	f := newFake(func(_ context.Context, n int64) (any, error) {
		if n%2 == 0 {
			return nil, errInternal
		}
		return "ok", nil
	})
	d, call := single(t, s, f)

	for range 9 {
		_, _ = call(context.Background(), nil)
	}
	if got := d.States()["http://user-1.test"]; got != "closed" {
		t.Fatalf("state after 9 requests = %q, want closed below MinRequests", got)
	}
	_, _ = call(context.Background(), nil) // 10th request, 5th failure: 5/10 >= 0.5

	if got := d.States()["http://user-1.test"]; got != "open" {
		t.Fatalf("state after 5 failures in 10 = %q, want open", got)
	}
}

func TestBreakerHalfOpenLetsBoundedProbesThroughThenCloses(t *testing.T) {
	s := fastSettings()
	s.MaxAttempts = 1
	s.ConsecutiveFailures = 1
	s.HalfOpenProbes = 2
	s.BreakerOpenTimeout = 50 * time.Millisecond
	release := make(chan struct{})
	f := newFake(func(_ context.Context, n int64) (any, error) {
		if n == 1 {
			return nil, errInternal // opens the breaker
		}
		<-release // probes wait here until the test has counted them
		return "ok", nil
	})
	d, call := single(t, s, f)
	_, _ = call(context.Background(), nil)
	eventually(t, 2*time.Second, "breaker half-open", func() bool {
		return d.States()["http://user-1.test"] == "half-open"
	})

	const callers = 10
	results := make(chan error, callers)
	for range callers {
		go func() {
			_, err := call(context.Background(), nil)
			results <- err
		}()
	}
	// Every caller but the probes is refused at once.
	for range callers - 2 {
		select {
		case err := <-results:
			if !errors.Is(err, gobreaker.ErrTooManyRequests) {
				t.Errorf("refused caller got %v, want ErrTooManyRequests inside", err)
			}
			mustUnavailable(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("callers beyond the probes were not refused")
		}
	}
	// The 2 probes passed the breaker before the others were refused; they
	// may still be on their way into the endpoint.
	eventually(t, 5*time.Second, "2 probes in the endpoint", func() bool { return f.count() == 1+2 })
	close(release)
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("probe: %v", err)
		}
	}
	if got := d.States()["http://user-1.test"]; got != "closed" {
		t.Fatalf("state after 2 good probes = %q, want closed", got)
	}
}

func TestBreakerHalfOpenFailedProbeReopens(t *testing.T) {
	s := fastSettings()
	s.MaxAttempts = 1
	s.ConsecutiveFailures = 1
	s.BreakerOpenTimeout = 30 * time.Millisecond
	f := always(errInternal)
	d, call := single(t, s, f)
	_, _ = call(context.Background(), nil)
	eventually(t, 2*time.Second, "breaker half-open", func() bool {
		return d.States()["http://user-1.test"] == "half-open"
	})

	_, _ = call(context.Background(), nil)

	if got := d.States()["http://user-1.test"]; got != "open" {
		t.Fatalf("state after a failed probe = %q, want open", got)
	}
}

func TestBreakerIgnoresBusinessErrorsAndCallerCancellation(t *testing.T) {
	tests := []struct {
		name     string
		endpoint *fake
		ctx      func() (context.Context, context.CancelFunc)
		wantOpen bool
	}{
		{name: "404s", endpoint: always(errNotFound), wantOpen: false},
		{name: "409s", endpoint: always(errConflict), wantOpen: false},
		{
			name:     "caller cancels while the attempt hangs",
			endpoint: hangs(),
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(5*time.Millisecond, cancel)
				return ctx, cancel
			},
			wantOpen: false,
		},
		{
			name:     "caller's deadline, shorter than CallTimeout, passes",
			endpoint: hangs(),
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 5*time.Millisecond)
			},
			wantOpen: false,
		},
		// The control: the same hang under the attempt's own deadline trips it.
		{name: "own CallTimeout passes", endpoint: hangs(), wantOpen: true},
		{name: "5xx", endpoint: always(errInternal), wantOpen: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fastSettings()
			s.MaxAttempts = 1
			s.ConsecutiveFailures = 3
			s.CallTimeout = 20 * time.Millisecond
			d, call := single(t, s, tt.endpoint)

			for range 5 {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if tt.ctx != nil {
					ctx, cancel = tt.ctx()
				}
				_, _ = call(ctx, nil)
				cancel()
			}

			if open := d.States()["http://user-1.test"] == "open"; open != tt.wantOpen {
				t.Fatalf("open = %v, want %v", open, tt.wantOpen)
			}
		})
	}
}

func TestBreakerLogsEachStateChange(t *testing.T) {
	var out syncBuffer
	s := fastSettings()
	s.MaxAttempts = 1
	s.ConsecutiveFailures = 1
	s.BreakerOpenTimeout = 20 * time.Millisecond
	s.Logger = log.NewLogfmtLogger(&out)
	healthy := false
	var mu sync.Mutex
	f := newFake(func(context.Context, int64) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if healthy {
			return "ok", nil
		}
		return nil, errRefused
	})
	d, call := single(t, s, f)

	_, _ = call(context.Background(), nil) // closed -> open
	eventually(t, 2*time.Second, "half-open", func() bool { return d.States()["http://user-1.test"] == "half-open" })
	mu.Lock()
	healthy = true
	mu.Unlock()
	if _, err := call(context.Background(), nil); err != nil { // half-open -> closed
		t.Fatal(err)
	}

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"from=closed to=open", "from=open to=half-open", "from=half-open to=closed"}
	if len(lines) != len(want) {
		t.Fatalf("log lines:\n%s\nwant %d", out.String(), len(want))
	}
	for i, line := range lines {
		for _, part := range []string{want[i], "dependency=user", "instance=http://user-1.test"} {
			if !strings.Contains(line, part) {
				t.Errorf("line %d %q lacks %q", i, line, part)
			}
		}
	}
	// The error that opened the breaker explains opening and probing; the
	// recovery line carries none, the error being over.
	for _, line := range lines[:2] {
		if !strings.Contains(line, "connection refused") {
			t.Errorf("line %q lacks the error that opened the breaker", line)
		}
	}
	if strings.Contains(lines[2], "last_error") {
		t.Errorf("recovery line %q carries a stale last_error", lines[2])
	}
}

// An error the classifier calls a result never counts against a breaker,
// whatever its shape; one it calls a failure does.
func TestClassifierDecidesWhatTrips(t *testing.T) {
	errResult, errFailure := errors.New("result"), errors.New("failure")
	d := newDep(t, Settings{
		MaxAttempts: 1, ConsecutiveFailures: 1, BreakerOpenTimeout: time.Hour,
		IsFailure: func(err error) bool { return errors.Is(err, errFailure) },
	}, instA)
	var next error
	call := d.Endpoint(func(string) endpoint.Endpoint {
		return func(context.Context, any) (any, error) { return nil, next }
	})
	next = errResult
	for range 5 {
		if _, err := call(context.Background(), nil); err != errResult {
			t.Fatalf("err = %v, want the result as it is", err)
		}
	}
	if err := d.Available(); err != nil {
		t.Fatalf("results opened the breaker: %v", err)
	}
	next = errFailure
	if _, err := call(context.Background(), nil); !errors.Is(err, errFailure) || kitshop.AsError(err).Code != kitshop.CodeDependencyUnavailable {
		t.Fatalf("err = %v, want dependency_unavailable wrapping the failure", err)
	}
	if d.Available() == nil {
		t.Fatal("a failure did not open the breaker")
	}
}
