// Command shop runs the whole shop on this machine: usersvc, productsvc,
// ordersvc and the gateway as child processes of itself, with SQLite
// databases under ./data. `shop SERVICE [flags]` runs one of them in this
// process. See README.md.
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
	if err := cli.RunShop(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "shop:", err)
		os.Exit(cli.ExitCode(err))
	}
}
