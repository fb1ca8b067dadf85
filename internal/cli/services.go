package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
)

// RunFunc is the signature of every service's run function.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// Services maps each service binary's name to its run function. cmd/shop
// and cmd/chaos start children of their own executable with one of these
// names as the first argument.
func Services() map[string]RunFunc {
	return map[string]RunFunc{
		"usersvc":    RunUserService,
		"productsvc": RunProductService,
		"ordersvc":   RunOrderService,
		"gateway":    RunGateway,
	}
}

// ServiceNames lists the names Services knows, sorted.
func ServiceNames() []string {
	var names []string
	for n := range Services() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// RunService runs the named service in this process.
func RunService(ctx context.Context, name string, args []string, getenv func(string) string, stdout io.Writer) error {
	run, ok := Services()[name]
	if !ok {
		return fmt.Errorf("unknown service %q (want one of %v)", name, ServiceNames())
	}
	return run(ctx, args, getenv, stdout)
}
