// Command chaos runs chaos experiments against the shop: see
// internal/chaos and CONTRACT.md ("cmd/chaos"). With a service name as its
// first argument it runs that service instead, which is how it starts the
// stack from its own executable.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kitshop/kitshop/internal/chaos"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := chaos.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
