package orderservice

import (
	"errors"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

func TestRetryDelay(t *testing.T) {
	outage := kitshop.DependencyUnavailable(DependencyProduct, time.Second, errors.New("connection refused"))
	poison := kitshop.Internal(errors.New("order total overflows"))
	for _, tc := range []struct {
		attempts int
		cause    error
		want     time.Duration
	}{
		{1, outage, time.Second}, {2, outage, 2 * time.Second}, {3, outage, 4 * time.Second}, {10, outage, 4 * time.Second},
		{1, poison, time.Second}, {4, poison, 8 * time.Second}, {9, poison, 256 * time.Second},
		{10, poison, 5 * time.Minute}, {1000, poison, 5 * time.Minute},
	} {
		if got := retryDelay(tc.attempts, tc.cause); got != tc.want {
			t.Errorf("retryDelay(%d, %v) = %v, want %v", tc.attempts, tc.cause, got, tc.want)
		}
	}
}
