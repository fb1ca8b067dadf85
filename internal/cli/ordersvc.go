package cli

import (
	"context"
	"errors"
	"io"
)

// RunOrderService runs the order service until ctx ends.
func RunOrderService(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return errors.New("ordersvc: not built yet")
}
