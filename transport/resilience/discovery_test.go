package resilience

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// instancer is an sd.Instancer the test drives: like go-kit's, it sends the
// current state on Register and every later event to each subscriber.
type instancer struct {
	mu   sync.Mutex
	last sd.Event
	subs map[chan<- sd.Event]bool
}

func newInstancer(instances ...string) *instancer {
	return &instancer{last: sd.Event{Instances: instances}, subs: map[chan<- sd.Event]bool{}}
}

func (i *instancer) Register(ch chan<- sd.Event) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.subs[ch] = true
	ch <- i.last
}

func (i *instancer) Deregister(ch chan<- sd.Event) {
	i.mu.Lock()
	defer i.mu.Unlock()
	delete(i.subs, ch)
}

func (i *instancer) Stop() {}

func (i *instancer) send(e sd.Event) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if e.Err == nil {
		i.last = e
	}
	for ch := range i.subs {
		ch <- e
	}
}

func (i *instancer) subscribers() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return len(i.subs)
}

func newDiscovered(t *testing.T, s Settings, inst *instancer) *Dependency {
	t.Helper()
	d, err := NewDependencyFromInstancer("user", inst, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestDiscoveryAddsAndRemovesInstances(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := fastSettings()
	s.Metrics = NewMetrics(reg)
	inst := newInstancer("http://user-1.test")
	d := newDiscovered(t, s, inst)
	fakes := map[string]*fake{
		"http://user-1.test": always(nil),
		"http://user-2.test": always(nil),
	}
	call := d.Endpoint(byInstance(t, fakes))
	ctx := context.Background()

	stop := make(chan struct{})
	var load sync.WaitGroup
	load.Add(1)
	go func() { // calls under way while the set changes
		defer load.Done()
		for {
			select {
			case <-stop:
				return
			default:
				_, _ = call(ctx, nil)
			}
		}
	}()
	defer func() { close(stop); load.Wait() }()

	inst.send(sd.Event{Instances: []string{"http://user-1.test", "http://user-2.test"}})
	eventually(t, 5*time.Second, "the new instance is called", func() bool {
		return fakes["http://user-2.test"].count() > 0
	})
	if got := d.States(); len(got) != 2 || got["http://user-2.test"] != "closed" {
		t.Fatalf("States = %v", got)
	}
	if n := testutil.CollectAndCount(reg, "dependency_breaker_state"); n != 2 {
		t.Fatalf("%d breaker state series, want 2", n)
	}

	inst.send(sd.Event{Instances: []string{"http://user-2.test"}})
	eventually(t, 5*time.Second, "the vanished instance is dropped", func() bool {
		_, ok := d.States()["http://user-1.test"]
		return !ok
	})
	before := fakes["http://user-1.test"].count()
	for range 20 {
		if _, err := call(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A call that loaded the old set just before the change may still land.
	if after := fakes["http://user-1.test"].count(); after > before+1 {
		t.Fatalf("vanished instance called %d more times", after-before)
	}
	want := `
# HELP dependency_breaker_state Circuit breaker state per dependency instance: 0 closed, 1 half-open, 2 open.
# TYPE dependency_breaker_state gauge
dependency_breaker_state{dependency="user",instance="http://user-2.test"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "dependency_breaker_state"); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoveryKeepsTheBreakerOfAnInstanceThatStays(t *testing.T) {
	inst := newInstancer("http://user-1.test")
	d := newDiscovered(t, fastSettings(), inst)
	call := d.Endpoint(byInstance(t, map[string]*fake{
		"http://user-1.test": always(errRefused),
		"http://user-2.test": always(nil),
	}))
	for range 2 {
		_, _ = call(context.Background(), nil)
	}
	if got := d.States()["http://user-1.test"]; got != "open" {
		t.Fatalf("state = %q, want open", got)
	}
	inst.send(sd.Event{Instances: []string{"http://user-1.test", "http://user-2.test"}})
	eventually(t, 5*time.Second, "the new instance appears", func() bool { return len(d.States()) == 2 })
	if got := d.States()["http://user-1.test"]; got != "open" {
		t.Fatalf("state after the change = %q, want open", got)
	}
}

func TestDiscoveryNoInstanceRefusesAtOnce(t *testing.T) {
	inst := newInstancer("http://user-1.test")
	d := newDiscovered(t, fastSettings(), inst)
	f := always(nil)
	call := d.Endpoint(byInstance(t, map[string]*fake{"http://user-1.test": f}))
	inst.send(sd.Event{Instances: nil})
	eventually(t, 5*time.Second, "the instance is dropped", func() bool { return len(d.States()) == 0 })

	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	start := time.Now()
	_, err := call(ctx, nil)
	mustUnavailable(t, err)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("refusal took %v", took)
	}
	mustUnavailable(t, d.Available())
}

func TestDiscoveryErrorKeepsInstances(t *testing.T) {
	inst := newInstancer("http://user-1.test")
	d := newDiscovered(t, fastSettings(), inst)
	f := always(nil)
	call := d.Endpoint(byInstance(t, map[string]*fake{"http://user-1.test": f}))
	inst.send(sd.Event{Err: errors.New("dns: no such host")})
	inst.send(sd.Event{Err: errors.New("dns: no such host")}) // the first is applied once this is taken
	if got := d.States(); len(got) != 1 {
		t.Fatalf("States = %v", got)
	}
	if _, err := call(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestCloseDeregisters(t *testing.T) {
	inst := newInstancer("http://user-1.test")
	d, err := NewDependencyFromInstancer("user", inst, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if inst.subscribers() != 1 {
		t.Fatal("not registered")
	}
	_ = d.Close()
	_ = d.Close()
	if inst.subscribers() != 0 {
		t.Fatal("still registered after Close")
	}
}
