package procs

import (
	"context"
	"errors"
	"slices"
	"sync"
	"syscall"
	"time"
)

// Group is an ordered set of processes that stop together, the last started
// first, so that a process stops before the ones it depends on (cmd/shop
// starts usersvc, productsvc, ordersvc, gateway and stops them the other way
// round). The zero Group is ready to use.
type Group struct {
	mu    sync.Mutex
	procs []*Process
}

// Start starts spec (see Start) and adds it to the group.
func (g *Group) Start(ctx context.Context, spec Spec) (*Process, error) {
	p, err := Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
	return p, nil
}

// Processes returns the group's processes in the order they were started.
func (g *Group) Processes() []*Process {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.procs)
}

// StopAll terminates every process, the last started first, each with
// Terminate(grace): SIGTERM, up to grace to exit, then SIGKILL. It returns
// nil when every process exited cleanly, else the errors of those that did
// not (one line each), including any that had already exited badly.
func (g *Group) StopAll(grace time.Duration) error {
	procs := g.Processes()
	var errs []error
	for _, p := range slices.Backward(procs) {
		if err := p.Terminate(grace); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// KillAll SIGKILLs every process at once and waits until all are reaped.
// It may run alongside StopAll, to cut a graceful stop short.
func (g *Group) KillAll() {
	procs := g.Processes()
	for _, p := range procs {
		_ = p.Signal(syscall.SIGKILL)
	}
	for _, p := range procs {
		_ = p.Kill() // waits; a no-op for the already dead
	}
}
