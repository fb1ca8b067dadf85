package cli

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestServicesRejectANonPositiveIdempotencyTTL(t *testing.T) {
	for name, run := range map[string]func(context.Context, []string, func(string) string, io.Writer) error{
		"productsvc": RunProductService,
		"ordersvc":   RunOrderService,
	} {
		for _, env := range []map[string]string{{"IDEMPOTENCY_TTL": "0s"}, {"IDEMPOTENCY_TTL": "-1h"}} {
			env["DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "x.db")
			err := run(context.Background(), nil, mapEnv(env), io.Discard)
			if err == nil || !strings.Contains(err.Error(), "IDEMPOTENCY_TTL") || ExitCode(err) == 0 {
				t.Errorf("%s with %v: err = %v, want one naming IDEMPOTENCY_TTL", name, env, err)
			}
		}
	}
}
