package resilience

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
)

func TestNewDependencyValidates(t *testing.T) {
	tests := []struct {
		name      string
		dep       string
		instances []string
		s         Settings
		wantErr   string // "" for success
	}{
		{name: "defaults", dep: "user", instances: []string{"http://localhost:8081"}},
		{name: "several", dep: "user", instances: []string{"http://127.0.0.1:8081", "https://users.internal/base"}},
		{name: "no name", instances: []string{"http://localhost:8081"}, wantErr: "name is empty"},
		{name: "no instances", dep: "user", wantErr: "no instances"},
		{name: "empty instance", dep: "user", instances: []string{""}, wantErr: "scheme"},
		{name: "no scheme", dep: "user", instances: []string{"localhost:8081"}, wantErr: "scheme"},
		{name: "ftp", dep: "user", instances: []string{"ftp://localhost"}, wantErr: "scheme"},
		{name: "no host", dep: "user", instances: []string{"http:///path"}, wantErr: "no host"},
		{name: "query", dep: "user", instances: []string{"http://localhost:8081?x=1"}, wantErr: "query"},
		{name: "unparsable", dep: "user", instances: []string{"http://[::1"}, wantErr: "instance"},
		{name: "duplicate", dep: "user", instances: []string{"http://a:1", "http://a:1"}, wantErr: "twice"},
		{name: "negative timeout", dep: "user", instances: []string{"http://a:1"}, s: Settings{CallTimeout: -time.Second}, wantErr: "negative"},
		{name: "negative attempts", dep: "user", instances: []string{"http://a:1"}, s: Settings{MaxAttempts: -1}, wantErr: "MaxAttempts"},
		{name: "ratio above 1", dep: "user", instances: []string{"http://a:1"}, s: Settings{FailureRatio: 1.5}, wantErr: "FailureRatio"},
		{name: "backoff inverted", dep: "user", instances: []string{"http://a:1"}, s: Settings{BackoffInitial: 2 * time.Second}, wantErr: "BackoffInitial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDependency(tt.dep, tt.instances, tt.s)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewDependency: %v", err)
				}
				if d.Name() != tt.dep || len(d.States()) != len(tt.instances) {
					t.Fatalf("Name %q, States %v", d.Name(), d.States())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestSettingsDefaults(t *testing.T) {
	s := Settings{}.withDefaults()
	want := Settings{
		CallTimeout: time.Second, MaxAttempts: 3, BackoffInitial: 50 * time.Millisecond,
		BackoffMax: time.Second, BreakerOpenTimeout: 5 * time.Second, BreakerWindow: 10 * time.Second,
		ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20, HalfOpenProbes: 1,
	}
	if s.IsFailure == nil || !slices.Equal(s.Schemes, []string{"http", "https"}) {
		t.Fatalf("IsFailure set: %v, Schemes %v", s.IsFailure != nil, s.Schemes)
	}
	s.Logger, s.IsFailure, s.Schemes = nil, nil, nil
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("defaults = %+v\nwant       %+v", s, want)
	}
}

func TestStatesStartClosed(t *testing.T) {
	d := newDep(t, Settings{}, instA, instB)
	states := d.States()
	if len(states) != 2 || states[instA] != "closed" || states[instB] != "closed" {
		t.Fatalf("States = %v", states)
	}
}

func TestEndpointRejectsNilFactoryResult(t *testing.T) {
	d := newDep(t, Settings{})
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a nil endpoint")
		}
	}()
	d.Endpoint(func(string) endpoint.Endpoint { return nil })
}

// The exported layers compose into a chain of the caller's own, here with
// a middleware that counts attempts between breaker and timeout, and share
// the dependency's breakers.
func TestLayersComposeAsMiddleware(t *testing.T) {
	d := newDep(t, Settings{MaxAttempts: 2, ConsecutiveFailures: 2, BreakerOpenTimeout: time.Hour,
		BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond}, instA)
	var attempts atomic.Int64
	counting := func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			attempts.Add(1)
			return next(ctx, request)
		}
	}
	failing := func(context.Context, any) (any, error) { return nil, errRefused }
	call := d.Retry()(d.Balance(func(instance string) endpoint.Endpoint {
		return endpoint.Chain(d.Breaker(instance), counting, d.Timeout())(failing)
	}))
	if _, err := call(context.Background(), nil); !errors.Is(err, errRefused) {
		t.Fatalf("err = %v, want the last failure in the chain", err)
	}
	if attempts.Load() != 2 {
		t.Fatalf("%d attempts, want 2", attempts.Load())
	}
	if d.Available() == nil {
		t.Fatal("breaker shared with the dependency not open after 2 failures")
	}
	if _, err := call(context.Background(), nil); err == nil || attempts.Load() != 2 {
		t.Fatalf("err = %v after %d attempts: want a refusal without an attempt", err, attempts.Load())
	}
}
