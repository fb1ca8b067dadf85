package productservice

import (
	"context"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/kitshop/kitshop/internal/periodic"
)

// ReservationExpirer is the part of a Store the expiry sweeper uses.
type ReservationExpirer interface {
	ExpireReservations(ctx context.Context, now time.Time) (int, error)
}

// SweepInterval is how often the sweeper should run for a reservation TTL:
// a quarter of the TTL, at most 1s (a held reservation outlives its
// expiry by no more than that), at least 50ms (the database is not
// polled in a busy loop).
func SweepInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/4, 50*time.Millisecond), time.Second)
}

// RunExpirySweeper expires held reservations past their expiry, giving
// their stock back, every interval, until ctx ends; it returns then. now
// is the clock (nil for time.Now). Failures are logged and retried at the
// next tick.
func RunExpirySweeper(ctx context.Context, store ReservationExpirer, interval time.Duration, now func() time.Time, logger log.Logger) {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	periodic.Run(ctx, interval, logger, "expire reservations", func(ctx context.Context) error {
		n, err := store.ExpireReservations(ctx, now().UTC().Truncate(time.Microsecond))
		if n > 0 {
			_ = level.Info(logger).Log("msg", "expired reservations", "count", n)
		}
		return err
	})
}
