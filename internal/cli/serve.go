package cli

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/procs"
	"github.com/kitshop/kitshop/transport"
)

// lifecycle is what a service does around serving: announce itself once it
// listens, and drain when asked to stop. The zero value announces nothing
// and stops at once.
type lifecycle struct {
	// drainDelay is how long the service keeps serving, /readyz answering
	// 503, after its context ends (DRAIN_DELAY), so that load balancers
	// and discovery stop sending to it before it stops accepting.
	drainDelay time.Duration
	// register, if set, announces the service once it listens (in a
	// registry) and returns the deregistration, which is the first thing
	// done when the context ends.
	register func(ctx context.Context) (deregister func(), err error)
}

// serve is serveWith a lifecycle that registers nowhere and does not drain.
func serve(ctx context.Context, getenv func(string) string, addr string, h http.Handler, requestTimeout time.Duration, maxConnections int, logger log.Logger) error {
	return serveWith(ctx, getenv, addr, h, requestTimeout, maxConnections, lifecycle{}, logger)
}

// serveWith listens (procs.Listen: on addr, or on the socket the shop
// passed) and serves h, with at most maxConnections connections open at
// once, until ctx ends. It then deregisters, drains for lc.drainDelay
// (transport.Drain: /readyz 503, no more keep-alive, every request still
// served), and shuts down, letting in-flight requests finish
// (transport.Serve).
func serveWith(ctx context.Context, getenv func(string) string, addr string, h http.Handler,
	requestTimeout time.Duration, maxConnections int, lc lifecycle, logger log.Logger) error {
	if maxConnections < 1 {
		return fmt.Errorf("max connections %d: must be at least 1", maxConnections)
	}
	drain := transport.NewDrain()
	srv := transport.NewServer(addr, drain.Handler(h), requestTimeout)
	ln, err := procs.Listen(getenv, addr)
	if err != nil {
		return err
	}
	ln = transport.LimitConnections(srv, ln, maxConnections)

	deregister := func() {}
	if lc.register != nil {
		undo, err := lc.register(ctx)
		if err != nil {
			_ = ln.Close()
			return err
		}
		var once sync.Once
		deregister = func() { once.Do(undo) }
	}
	// stopServing ends after the drain: the server keeps answering while
	// the rest of the world learns that this instance is going.
	serving, stopServing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServing()
	go func() {
		select {
		case <-ctx.Done():
		case <-serving.Done():
			return
		}
		deregister()
		if lc.drainDelay > 0 {
			_ = logger.Log("msg", "draining", "delay", lc.drainDelay.String())
			drain.Start(srv)
			t := time.NewTimer(lc.drainDelay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-serving.Done():
			}
		}
		stopServing()
	}()
	err = transport.Serve(serving, srv, ln, logger)
	stopServing()
	if err != nil {
		deregister() // a server that failed must not stay announced
		return fmt.Errorf("http server: %w", err)
	}
	_ = logger.Log("msg", "stopped")
	return nil
}
