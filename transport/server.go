package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-kit/log"
)

// MaxHeaderBytes is the most header bytes a request may send (64 KiB).
const MaxHeaderBytes = 64 << 10

// ShutdownGrace is how long Serve lets in-flight requests finish after its
// context ends.
const ShutdownGrace = 10 * time.Second

// NewServer returns an http.Server for h with timeouts that protect the
// process from slow or idle clients. The write timeout leaves room for the
// longest request the service allows (requestTimeout) plus encoding.
func NewServer(addr string, h http.Handler, requestTimeout time.Duration) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      requestTimeout + 10*time.Second,
		IdleTimeout:       90 * time.Second,
		// net/http answers headers over its own limit with a plain-text
		// 431 before any handler runs, so its limit is set well above the
		// contract's, which Instrument enforces with the JSON error.
		MaxHeaderBytes: 4 * MaxHeaderBytes,
	}
}

// Serve serves srv on ln until ctx ends, then stops accepting connections
// and lets in-flight requests finish for up to ShutdownGrace. It returns nil
// after a clean shutdown and the server's error otherwise.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, logger log.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	_ = logger.Log("msg", "listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	_ = logger.Log("msg", "shutting down", "grace", ShutdownGrace.String())
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running after the grace period are cut off; the
		// shutdown itself is still the one that was asked for.
		_ = srv.Close()
		_ = logger.Log("msg", "requests still running after the grace period were closed", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
