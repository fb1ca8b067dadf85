package cli

import (
	"context"
	"errors"
	"io"
)

// RunProductService runs the product service until ctx ends.
func RunProductService(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	return errors.New("productsvc: not built yet")
}
