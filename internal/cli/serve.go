package cli

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/procs"
	"github.com/kitshop/kitshop/transport"
)

// serve listens (procs.Listen: on addr, or on the socket the shop passed)
// and serves h, with at most maxConnections
// connections open at once, until ctx ends.
func serve(ctx context.Context, getenv func(string) string, addr string, h http.Handler, requestTimeout time.Duration, maxConnections int, logger log.Logger) error {
	if maxConnections < 1 {
		return fmt.Errorf("max connections %d: must be at least 1", maxConnections)
	}
	srv := transport.NewServer(addr, h, requestTimeout)
	ln, err := procs.Listen(getenv, addr)
	if err != nil {
		return err
	}
	ln = transport.LimitConnections(srv, ln, maxConnections)
	if err := transport.Serve(ctx, srv, ln, logger); err != nil {
		return fmt.Errorf("http server: %w", err)
	}
	_ = logger.Log("msg", "stopped")
	return nil
}
