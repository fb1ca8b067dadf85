package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/transport"
)

// serve listens (see listen) and serves h, with at most maxConnections
// connections open at once, until ctx ends.
func serve(ctx context.Context, getenv func(string) string, addr string, h http.Handler, requestTimeout time.Duration, maxConnections int, logger log.Logger) error {
	if maxConnections < 1 {
		return fmt.Errorf("max connections %d: must be at least 1", maxConnections)
	}
	srv := transport.NewServer(addr, h, requestTimeout)
	ln, err := listen(getenv, addr)
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

// inheritedFD is where a service finds a listening socket its parent
// passed: the first descriptor after stdin, stdout and stderr, as
// systemd's socket activation passes them.
const inheritedFD = 3

// listen opens a service's listener. With LISTEN_FDS=1 in the environment
// (and LISTEN_PID, when set, naming this process) it is the socket the
// parent passed as fd 3: the shop binds every service's port itself and
// hands it over, so that nothing can take the port between the shop's
// check and the service's start, or answer the shop's readiness probe in
// its place; a systemd socket unit works the same way. Otherwise it is a
// new listener on addr, failing at once if addr is taken.
func listen(getenv func(string) string, addr string) (net.Listener, error) {
	fds, pid := getenv("LISTEN_FDS"), getenv("LISTEN_PID")
	if fds == "" || (pid != "" && pid != strconv.Itoa(os.Getpid())) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	if fds != "1" {
		return nil, fmt.Errorf("LISTEN_FDS=%s: want exactly one listening socket", fds)
	}
	f := os.NewFile(inheritedFD, "inherited listener")
	defer f.Close() // FileListener holds its own copy
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("LISTEN_FDS=1: fd %d is not a listening socket: %w", inheritedFD, err)
	}
	return ln, nil
}
