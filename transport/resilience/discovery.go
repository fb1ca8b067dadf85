package resilience

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// errNoInstances is the cause of the refusal when discovery knows no
// instance of the dependency.
var errNoInstances = errors.New("no instances")

// instanceSet is an immutable snapshot of a dependency's instances, each
// with its breaker. The hot path loads it from an atomic pointer, with no
// lock; a change of instances publishes a new one.
type instanceSet struct {
	instances []*instance // in the order the instancer reported them
}

func (d *Dependency) current() *instanceSet { return d.set.Load() }

// noInstances is the refusal when there is no instance at all: nothing to
// wait for, so it is answered at once, with RetryAfter one CallTimeout.
func (d *Dependency) noInstances() *kitshop.Error {
	return kitshop.DependencyUnavailable(d.name, d.s.CallTimeout, errNoInstances)
}

// watch is a Dependency's subscription to its Instancer.
type watch struct {
	instancer sd.Instancer
	events    chan sd.Event
	done      chan struct{}
	closeOnce sync.Once
}

// NewDependencyFromInstancer returns a Dependency whose instances are those
// the instancer reports (a fixed list, DNS, etcd: any go-kit sd.Instancer).
// An instance that appears gets its own breaker, closed, and its metric
// series at zero; one that vanishes is no longer chosen, its breaker is
// dropped and its series deleted; one that stays keeps its breaker. An
// event with an error keeps the last known instances. Reported instances
// that are not valid base URLs are logged and left out. While there is no
// instance, every call answers dependency_unavailable at once.
//
// Close deregisters from the instancer; the instancer itself belongs to
// the caller, who stops it.
func NewDependencyFromInstancer(name string, instancer sd.Instancer, s Settings) (*Dependency, error) {
	if name == "" {
		return nil, errors.New("resilience: dependency name is empty")
	}
	s = s.withDefaults()
	if err := s.validate(); err != nil {
		return nil, fmt.Errorf("resilience: dependency %q: %w", name, err)
	}
	d := &Dependency{name: name, s: s, epoch: time.Now()}
	d.metrics = s.Metrics.forDependency(name)
	d.set.Store(&instanceSet{})
	if fixed, ok := instancer.(sd.FixedInstancer); ok {
		d.update(sd.Event{Instances: fixed})
		return d, nil
	}
	w := &watch{instancer: instancer, events: make(chan sd.Event, 1), done: make(chan struct{})}
	instancer.Register(w.events) // go-kit's instancers send the current state now
	select {
	case e := <-w.events:
		d.update(e)
	default:
	}
	d.watch = w
	go d.follow(w)
	return d, nil
}

func (d *Dependency) follow(w *watch) {
	for {
		select {
		case e := <-w.events:
			d.update(e)
		case <-w.done:
			return
		}
	}
}

// Close deregisters d from its instancer and stops following it; d keeps
// its last instances. It is safe to call more than once, and a no-op for a
// fixed list.
func (d *Dependency) Close() error {
	w := d.watch
	if w == nil {
		return nil
	}
	w.closeOnce.Do(func() {
		// Deregister first: an instancer may block sending to w.events
		// until it is read, so follow must still be reading.
		w.instancer.Deregister(w.events)
		close(w.done)
	})
	return nil
}

// update applies one event; only follow and the constructor call it, never
// at once.
func (d *Dependency) update(e sd.Event) {
	if e.Err != nil {
		if !d.discoveryFailing { // one line per outage, not per event
			_ = d.s.Logger.Log("msg", "instance discovery failed, keeping the last known instances",
				"dependency", d.name, "err", e.Err)
		}
		d.discoveryFailing = true
		return
	}
	d.discoveryFailing = false
	old := d.current()
	kept := make(map[string]*instance, len(old.instances))
	for _, in := range old.instances {
		kept[in.url] = in
	}
	next := &instanceSet{instances: make([]*instance, 0, len(e.Instances))}
	seen := make(map[string]bool, len(e.Instances))
	for _, raw := range e.Instances {
		if seen[raw] {
			continue
		}
		seen[raw] = true
		if in, ok := kept[raw]; ok {
			next.instances = append(next.instances, in)
			delete(kept, raw)
			continue
		}
		if err := validateInstance(raw, d.s.Schemes); err != nil {
			_ = d.s.Logger.Log("msg", "instance left out", "dependency", d.name, "err", err)
			continue
		}
		in := &instance{url: raw, state: d.metrics.addInstance(raw)}
		in.cb = d.newBreaker(in)
		next.instances = append(next.instances, in)
	}
	d.set.Store(next)
	for url := range kept { // vanished
		d.metrics.removeInstance(url)
	}
}
