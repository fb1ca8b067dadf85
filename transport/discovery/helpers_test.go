package discovery

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/prometheus/client_golang/prometheus"
)

// subscriber is a receiver registered with an instancer: it records every
// event, as resilience.Dependency would act on them.
type subscriber struct {
	ch   chan sd.Event
	done chan struct{}

	mu     sync.Mutex
	events []sd.Event
}

// subscribe registers a new subscriber with in, deregistered when t ends,
// and checks that in sent it the current state at once, as go-kit's
// instancers do.
func subscribe(t *testing.T, in sd.Instancer) *subscriber {
	t.Helper()
	s := &subscriber{ch: make(chan sd.Event), done: make(chan struct{})}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case e := <-s.ch:
				s.mu.Lock()
				s.events = append(s.events, e)
				s.mu.Unlock()
			case <-s.done:
				return
			}
		}
	}()
	in.Register(s.ch)
	t.Cleanup(func() {
		in.Deregister(s.ch) // while still reading: a send may be under way
		close(s.done)
		<-stopped
	})
	testkit.Eventually(t, time.Second, "the current state, sent on Register", func() bool { return len(s.all()) > 0 })
	return s
}

func (s *subscriber) all() []sd.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// instances returns the instances of the last event without an error (what
// a receiver that keeps its instances through errors has), sorted.
func (s *subscriber) instances() []string {
	events := s.all()
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Err == nil {
			out := slices.Clone(events[i].Instances)
			slices.Sort(out)
			return out
		}
	}
	return nil
}

// errors counts the events with an error.
func (s *subscriber) errors() int {
	n := 0
	for _, e := range s.all() {
		if e.Err != nil {
			n++
		}
	}
	return n
}

// lastIsError reports whether the last event has an error.
func (s *subscriber) lastIsError() bool {
	events := s.all()
	return len(events) > 0 && events[len(events)-1].Err != nil
}

// waitInstances waits until the subscriber's instances are want.
func (s *subscriber) waitInstances(t *testing.T, within time.Duration, want ...string) {
	t.Helper()
	slices.Sort(want)
	testkit.Eventually(t, within, "instances "+strings.Join(want, ", ")+" (have "+strings.Join(s.instances(), ", ")+")",
		func() bool { return slices.Equal(s.instances(), want) && !s.lastIsError() })
}

// logs is a logger whose lines a test can count.
type logs struct{ sink testkit.LogSink }

func (l *logs) logger() log.Logger { return log.NewLogfmtLogger(&l.sink) }

// count returns how many lines contain substr.
func (l *logs) count(substr string) int {
	return strings.Count(l.sink.String(), substr)
}

// fakeResolver is a DNS resolver whose answer the test sets.
type fakeResolver struct {
	mu    sync.Mutex
	addrs []netip.Addr
	err   error
	calls int
}

func newResolver(addrs ...string) *fakeResolver {
	r := &fakeResolver{}
	r.answer(nil, addrs...)
	return r
}

func (r *fakeResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.err != nil {
		return nil, r.err
	}
	return slices.Clone(r.addrs), nil
}

// answer sets what the following lookups return.
func (r *fakeResolver) answer(err error, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
	r.addrs = r.addrs[:0]
	for _, a := range addrs {
		r.addrs = append(r.addrs, netip.MustParseAddr(a))
	}
}

func (r *fakeResolver) lookups() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// waitLookups waits until n more lookups than now have been made.
func (r *fakeResolver) waitLookups(t *testing.T, n int) {
	t.Helper()
	target := r.lookups() + n
	testkit.Eventually(t, 5*time.Second, "DNS lookups", func() bool { return r.lookups() >= target })
}

// metricValue reads one service's series of a metric of reg; -1 if absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name, service string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "service" && l.GetValue() == service {
					if m.Counter != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}
