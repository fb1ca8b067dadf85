// Command loadbench measures the shop on this machine: it starts usersvc,
// productsvc, ordersvc and the gateway (as child processes of itself, on
// loopback, with fresh SQLite databases) and a raw net/http reference
// server, puts every hop under load next to raw net/http doing the same
// job, prints the tables and ratios and writes them as JSON. See
// docs/PERFORMANCE.md and `loadbench -h`. With a service name as its first
// argument it runs that service instead, which is how it starts them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kitshop/kitshop/internal/loadbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := loadbench.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
