package discovery

import (
	"slices"
	"sync"

	"github.com/go-kit/kit/sd"
)

// hub is the subscriber side of an instancer of ours, with go-kit's
// semantics (sd/internal/instance.Cache): a channel that registers gets the
// current state at once, and every registered channel gets each change.
// Sends block until received, as go-kit's do, but give up once quit is
// closed, so that a receiver that stopped reading cannot keep a stopped
// instancer's goroutine alive.
type hub struct {
	quit <-chan struct{}

	mu    sync.Mutex
	state sd.Event
	subs  map[chan<- sd.Event]struct{}
}

func newHub(quit <-chan struct{}) *hub {
	return &hub{quit: quit, subs: map[chan<- sd.Event]struct{}{}}
}

// Register implements sd.Instancer.
func (h *hub) Register(ch chan<- sd.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[ch] = struct{}{}
	h.send(ch, h.state)
}

// Deregister implements sd.Instancer.
func (h *hub) Deregister(ch chan<- sd.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, ch)
}

// update makes e, whose instances are sorted, the current state and sends
// it to every subscriber, unless it changes nothing: the same instances,
// or an error while the last event was one already (an outage is told
// once, not once per failed attempt).
func (h *hub) update(e sd.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if (e.Err != nil) == (h.state.Err != nil) && (e.Err != nil || slices.Equal(e.Instances, h.state.Instances)) {
		return
	}
	h.state = e
	for ch := range h.subs {
		h.send(ch, e)
	}
}

// send gives ch its own copy of e: receivers may sort or change it.
func (h *hub) send(ch chan<- sd.Event, e sd.Event) {
	e.Instances = slices.Clone(e.Instances)
	select {
	case ch <- e:
	case <-h.quit:
	}
}
