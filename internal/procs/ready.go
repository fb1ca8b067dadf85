package procs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ReadyTimeout bounds WaitReady when ctx has no deadline: a service that is
// not serving /healthz by then is not going to.
const ReadyTimeout = 15 * time.Second

// readyPoll is the pause between two /healthz probes.
const readyPoll = 20 * time.Millisecond

// WaitReady polls GET baseURL/healthz until it answers 200. It gives up
// with an error when the current run exits first (saying how, and the last
// line it wrote), or when ctx ends, or after ReadyTimeout if ctx has no
// deadline of its own.
func (p *Process) WaitReady(ctx context.Context, baseURL string) error {
	r := p.current()
	// Something else answering on the port while our child dies of
	// "address already in use" is not our child being ready.
	exited := func() error {
		if r.exited() {
			return p.exitedEarly(r)
		}
		return nil
	}
	return pollHealthz(ctx, p.spec.Name, baseURL, r.done, exited)
}

// WaitHealthy polls GET baseURL/healthz until it answers 200, for a
// service named name that is not a child of this process (a container): it
// gives up when ctx ends, or after ReadyTimeout if ctx has no deadline of
// its own.
func WaitHealthy(ctx context.Context, name, baseURL string) error {
	return pollHealthz(ctx, name, baseURL, nil, func() error { return nil })
}

// pollHealthz probes baseURL/healthz of the service name every readyPoll
// until it answers 200, ctx ends (or ReadyTimeout passes when ctx has no
// deadline), or, after a probe or when gone is closed, check returns an
// error, which it returns as it is.
func pollHealthz(ctx context.Context, name, baseURL string, gone <-chan struct{}, check func() error) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, ReadyTimeout)
		defer cancel()
	}
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := strings.TrimRight(baseURL, "/") + "/healthz"
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		err := probe(ctx, client, url)
		if cerr := check(); cerr != nil {
			return cerr
		}
		if err == nil {
			return nil
		}
		select {
		case <-gone:
			return check()
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w (last probe: %v)", name, url, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (p *Process) exitedEarly(r *run) error {
	how := "exit status 0"
	if r.err != nil {
		how = r.err.Error()
	}
	r.mu.Lock()
	last := r.last
	r.mu.Unlock()
	if last != "" {
		return fmt.Errorf("%s exited before it was ready (%s): %s", p.spec.Name, how, last)
	}
	return fmt.Errorf("%s exited before it was ready (%s)", p.spec.Name, how)
}

// probe makes one GET, bounded so that a frozen process cannot hold it.
func probe(ctx context.Context, client *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
