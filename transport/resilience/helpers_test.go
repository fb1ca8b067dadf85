package resilience

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// Errors as the HTTP clients decode them.
var (
	errNotFound    = &kitshop.Error{Code: kitshop.CodeNotFound, Message: "no such user"}
	errConflict    = &kitshop.Error{Code: kitshop.CodeInsufficientStock, Message: "prd_1 has 0 left"}
	errInternal    = &kitshop.Error{Code: kitshop.CodeInternal, Message: "internal error"}
	errTooMany     = &kitshop.Error{Code: kitshop.CodeTooManyRequests, Message: "slow down"}
	errRefused     = errors.New("dial tcp 127.0.0.1:1: connect: connection refused")
	errUnavailable = &kitshop.Error{Code: kitshop.CodeDependencyUnavailable, Message: "busy"}
)

// fake is an in-process endpoint that counts its calls and answers as its
// script says; call n is 1-based.
type fake struct {
	calls  atomic.Int64
	script func(ctx context.Context, n int64) (any, error)
}

func newFake(script func(ctx context.Context, n int64) (any, error)) *fake {
	return &fake{script: script}
}

// always answers every call with err (nil: success).
func always(err error) *fake {
	return newFake(func(context.Context, int64) (any, error) {
		if err != nil {
			return nil, err
		}
		return "ok", nil
	})
}

// hangs blocks every call until its context ends.
func hangs() *fake {
	return newFake(func(ctx context.Context, _ int64) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
}

func (f *fake) endpoint(ctx context.Context, request any) (any, error) {
	return f.script(ctx, f.calls.Add(1))
}

func (f *fake) count() int64 { return f.calls.Load() }

// fastSettings keep unit tests quick: small waits, short open timeout.
func fastSettings() Settings {
	return Settings{
		CallTimeout:         time.Second,
		MaxAttempts:         3,
		BackoffInitial:      time.Millisecond,
		BackoffMax:          2 * time.Millisecond,
		BreakerOpenTimeout:  time.Hour, // tests that want half-open shorten it
		ConsecutiveFailures: 5,
	}
}

// newDep builds a dependency "user" on the given instances, failing the
// test on error.
func newDep(t testing.TB, s Settings, instances ...string) *Dependency {
	t.Helper()
	if len(instances) == 0 {
		instances = []string{"http://user-1.test"}
	}
	d, err := NewDependency("user", instances, s)
	if err != nil {
		t.Fatalf("NewDependency: %v", err)
	}
	return d
}

// byInstance is an endpoint factory that serves each instance from its fake.
func byInstance(t testing.TB, fakes map[string]*fake) func(string) endpoint.Endpoint {
	return func(instance string) endpoint.Endpoint {
		f, ok := fakes[instance]
		if !ok {
			t.Fatalf("no fake for instance %q", instance)
		}
		return f.endpoint
	}
}

// single wires one fake behind a one-instance dependency.
func single(t testing.TB, s Settings, f *fake) (*Dependency, endpoint.Endpoint) {
	t.Helper()
	d := newDep(t, s, "http://user-1.test")
	return d, d.Endpoint(byInstance(t, map[string]*fake{"http://user-1.test": f}))
}

// eventually polls cond until it holds, failing after within.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, within, what, cond)
}

// mustUnavailable asserts err is the typed dependency_unavailable error of
// dependency "user" and returns it.
func mustUnavailable(t testing.TB, err error) *kitshop.Error {
	t.Helper()
	var e *kitshop.Error
	if !errors.As(err, &e) || e.Code != kitshop.CodeDependencyUnavailable {
		t.Fatalf("err = %v, want dependency_unavailable", err)
	}
	if e.Dependency != "user" {
		t.Fatalf("Dependency = %q, want user", e.Dependency)
	}
	if e.RetryAfter <= 0 {
		t.Fatalf("RetryAfter = %v, want > 0", e.RetryAfter)
	}
	return e
}

// parallel runs f n times at once and waits for all.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}
