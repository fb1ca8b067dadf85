package resilience

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/sony/gobreaker"
)

const (
	instA = "http://user-a.test"
	instB = "http://user-b.test"
	instC = "http://user-c.test"
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

	// A failure counts as a call of CallTimeout, so after its first one
	// the bad instance is not chosen again while its cost decays.
	if bad.count() != 1 {
		t.Fatalf("bad instance got %d calls, want 1", bad.count())
	}
	if good.count() != 20 {
		t.Fatalf("good instance served %d calls, want 20", good.count())
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
	// A has no history, so it is the cheaper choice once B has answered:
	// within two calls it fails once, which opens its breaker.
	for i := 0; d.States()[instA] != "open"; i++ {
		if i == 2 {
			t.Fatalf("A not tried in two calls: states %v", d.States())
		}
		_, _ = call(context.Background(), nil)
	}
	before := good.count()
	// Its cost decays to nothing while it is open, so attempts start at it
	// again; the open breaker refuses and the walk moves on to B.
	bad.calls.Store(0)
	for _, in := range d.current().instances {
		in.load.ewma.Store(0)
	}
	for i := range 10 {
		if _, err := call(context.Background(), nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if good.count()-before != 10 || bad.count() != 0 {
		t.Fatalf("good instance served %d calls and the open one %d, want 10 and 0", good.count()-before, bad.count())
	}
}

// Equal instances share the calls: each of three gets a fair part.
func TestBalancerSpreadsOverEqualInstances(t *testing.T) {
	fakes := map[string]*fake{instA: sleeps(time.Millisecond), instB: sleeps(time.Millisecond), instC: sleeps(time.Millisecond)}
	d := newDep(t, fastSettings(), instA, instB, instC)
	call := d.Endpoint(byInstance(t, fakes))
	callConcurrently(t, call, 4, 300)
	for inst, f := range fakes {
		if n := f.count(); n < 40 {
			t.Errorf("%s served %d of 300 calls, want at least 40", inst, n)
		}
	}
}

// One instance of three answering 20 times slower gets at most a tenth of
// the calls, long before (and without) its breaker opening: it answers.
func TestBalancerAvoidsSlowInstance(t *testing.T) {
	slow := sleeps(20 * time.Millisecond)
	fakes := map[string]*fake{instA: sleeps(time.Millisecond), instB: slow, instC: sleeps(time.Millisecond)}
	d := newDep(t, fastSettings(), instA, instB, instC)
	call := d.Endpoint(byInstance(t, fakes))
	callConcurrently(t, call, 4, 400)
	if n := slow.count(); n > 40 {
		t.Fatalf("the slow instance served %d of 400 calls, want at most 40", n)
	}
	if st := d.States(); st[instB] != "closed" {
		t.Fatalf("states %v: the slow instance's breaker should not need to open", st)
	}
}

// Calls in flight count: while the faster instance holds a call that has
// not answered, new calls go to the idle one, slower as it is.
func TestBalancerPrefersTheLessBusyInstance(t *testing.T) {
	release := make(chan struct{})
	busy := newFake(func(ctx context.Context, n int64) (any, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return "ok", nil
	})
	idle := always(nil)
	d := newDep(t, fastSettings(), instA, instB)
	call := d.Endpoint(byInstance(t, map[string]*fake{instA: busy, instB: idle}))
	// A has answered in 1ms, B in 1.5ms: the first call goes to A, and
	// stays there.
	in := d.current().instances[0]
	in.load.observe(d.sinceEpoch(), int64(time.Millisecond))
	d.current().instances[1].load.observe(d.sinceEpoch(), int64(1500*time.Microsecond))
	done := make(chan struct{}, 1)
	go func() { _, _ = call(context.Background(), nil); done <- struct{}{} }()
	launched := 1
	eventually(t, 5*time.Second, "a call held by A", func() bool { return in.load.inflight.Load() == 1 })
	before := busy.count()
	for range 20 {
		if _, err := call(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	for range launched {
		<-done
	}
	if n := busy.count() - before; n != 0 {
		t.Fatalf("the instance holding calls got %d of 20 new ones, want 0", n)
	}
}

// sleeps answers every call after d, as an instance of that latency.
func sleeps(d time.Duration) *fake {
	return newFake(func(ctx context.Context, _ int64) (any, error) {
		t := time.NewTimer(d) // the instance's latency, not a wait for anything
		defer t.Stop()
		select {
		case <-t.C:
			return "ok", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
}

// callConcurrently makes n calls from workers goroutines, failing on any
// error.
func callConcurrently(t *testing.T, call endpoint.Endpoint, workers, n int) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if _, err := call(context.Background(), nil); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkPick is the balancer's choice of where an attempt starts: two
// random instances and their costs, with 3 and with 100 instances.
func BenchmarkPick(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(fmt.Sprintf("%d-instances", n), func(b *testing.B) {
			instances := make([]*instance, n)
			for i := range instances {
				instances[i] = &instance{}
				instances[i].load.observe(int64(i), int64(time.Millisecond)*int64(1+i%7))
			}
			b.ReportAllocs()
			sum := 0
			for i := 0; b.Loop(); i++ {
				sum += pick(instances, int64(i))
			}
			if sum < 0 {
				b.Fatal(sum)
			}
		})
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
