package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Main is the whole main function of every kitshop binary: it runs run with
// the process's arguments and environment until SIGINT or SIGTERM, and
// exits with a one-line error and a non-zero status when run fails.
func Main(program string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, program+":", err)
		os.Exit(ExitCode(err))
	}
}
