// Command gateway runs the shop's single entry point: it proxies /v1/users*,
// /v1/products* and /v1/orders* to their services. See README.md for its
// settings.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/kitshop/kitshop/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.RunGateway(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(cli.ExitCode(err))
	}
}
