package resilience

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sony/gobreaker"
)

const (
	instA = "http://user-a.test"
	instB = "http://user-b.test"
)

func TestBalancerRoutesAroundBadInstance(t *testing.T) {
	s := fastSettings()
	s.ConsecutiveFailures = 3
	bad, good := always(errRefused), always(nil)
	d := newDep(t, s, instA, instB)
	call := d.Endpoint(byInstance(t, map[string]*fake{instA: bad, instB: good}))

	for i := range 20 {
		if _, err := call(context.Background(), nil); err != nil {
			t.Fatalf("call %d: %v (a retry should have moved to the good instance)", i, err)
		}
	}

	states := d.States()
	if states[instA] != "open" || states[instB] != "closed" {
		t.Fatalf("states = %v, want the bad instance open and the good one closed", states)
	}
	if bad.count() != 3 {
		t.Fatalf("bad instance got %d calls, want 3: once open it is skipped", bad.count())
	}
	if err := d.Available(); err != nil {
		t.Fatalf("Available with one instance closed: %v", err)
	}
}

func TestBalancerSkipsOpenInstanceWithinOneAttempt(t *testing.T) {
	s := fastSettings()
	s.MaxAttempts = 1 // no retry to hide behind
	s.ConsecutiveFailures = 1
	bad, good := always(errRefused), always(nil)
	d := newDep(t, s, instA, instB)
	call := d.Endpoint(byInstance(t, map[string]*fake{instA: bad, instB: good}))
	_, _ = call(context.Background(), nil) // round robin starts at A: opens it

	for i := range 10 {
		if _, err := call(context.Background(), nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if good.count() != 10 {
		t.Fatalf("good instance served %d calls, want 10", good.count())
	}
}

func TestBalancerSpreadsRoundRobin(t *testing.T) {
	a, b := always(nil), always(nil)
	d := newDep(t, fastSettings(), instA, instB)
	call := d.Endpoint(byInstance(t, map[string]*fake{instA: a, instB: b}))

	for range 10 {
		if _, err := call(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}

	if a.count() != 5 || b.count() != 5 {
		t.Fatalf("calls = %d and %d, want 5 and 5", a.count(), b.count())
	}
}

func TestBreakersArePerInstanceAndSharedByMethods(t *testing.T) {
	s := fastSettings()
	s.MaxAttempts = 1
	s.ConsecutiveFailures = 2
	d := newDep(t, s, instA, instB)
	// Method one fails everywhere; method two would succeed.
	getUser := d.Endpoint(byInstance(t, map[string]*fake{instA: always(errInternal), instB: always(errInternal)}))
	secondB := always(nil)
	listUsers := d.Endpoint(byInstance(t, map[string]*fake{instA: always(nil), instB: secondB}))

	for range 4 {
		_, _ = getUser(context.Background(), nil)
	}

	if states := d.States(); states[instA] != "open" || states[instB] != "open" {
		t.Fatalf("states = %v, want both open", states)
	}
	_, err := listUsers(context.Background(), nil)
	if !errors.Is(err, gobreaker.ErrOpenState) {
		t.Fatalf("other method of the same dependency: err = %v, want short circuit", err)
	}
	if secondB.count() != 0 {
		t.Fatal("a method got through an instance whose breaker another method opened")
	}
}

func TestAvailableWhenAllOpen(t *testing.T) {
	s := fastSettings()
	s.MaxAttempts = 1
	s.ConsecutiveFailures = 1
	s.BreakerOpenTimeout = 10 * time.Second
	d := newDep(t, s, instA, instB)
	call := d.Endpoint(byInstance(t, map[string]*fake{instA: always(errRefused), instB: always(errRefused)}))

	if err := d.Available(); err != nil {
		t.Fatalf("Available before any failure: %v", err)
	}
	_, _ = call(context.Background(), nil) // opens one
	if err := d.Available(); err != nil {
		t.Fatalf("Available with one instance still closed: %v", err)
	}
	time.Sleep(20 * time.Millisecond)      // so the two open at distinguishable times
	_, _ = call(context.Background(), nil) // opens the other

	err := d.Available()

	e := mustUnavailable(t, err)
	// The soonest to go half-open is the first one opened, at least 20ms ago.
	if e.RetryAfter > s.BreakerOpenTimeout-20*time.Millisecond || e.RetryAfter < s.BreakerOpenTimeout-2*time.Second {
		t.Errorf("RetryAfter = %v, want just under %v less the 20ms since the first opened", e.RetryAfter, s.BreakerOpenTimeout)
	}
	if !errors.Is(err, gobreaker.ErrOpenState) {
		t.Errorf("err = %v, want it to wrap gobreaker.ErrOpenState", err)
	}
}
