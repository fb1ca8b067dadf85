package chaos

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/kitshop/kitshop/internal/cli"
	"github.com/kitshop/kitshop/internal/pgtest"
)

// TestMain lets the test binary stand in for the chaos binary: the real
// experiment test starts the stack from os.Executable(), which under go
// test is this binary, with a service name as the first argument.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && slices.Contains(cli.ServiceNames(), os.Args[1]) {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	goleak.VerifyTestMain(pgtest.Main(m))
}
