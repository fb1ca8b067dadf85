package orderservice

import (
	"context"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/kitshop/kitshop/internal/periodic"
)

// DefaultIdempotencyTTL is how long an order's idempotency key, and a
// rejected or cancelled order, is kept after it settled (IDEMPOTENCY_TTL).
const DefaultIdempotencyTTL = 24 * time.Hour

// purgeBatch bounds the orders one purge transaction changes.
const purgeBatch = 500

// Purger is the part of a Store the purge loop uses.
type Purger interface {
	Purge(ctx context.Context, before time.Time, batch int) (Purged, error)
}

// PurgeOnce purges what settled more than ttl before now, and logs one
// line if it purged anything. A key whose order is purged, or cleared, is
// a new request when it comes again.
func PurgeOnce(ctx context.Context, store Purger, ttl time.Duration, now time.Time, logger log.Logger) (Purged, error) {
	p, err := store.Purge(ctx, now.Add(-ttl), purgeBatch)
	if p.Orders+p.Keys > 0 {
		_ = level.Info(logger).Log("msg", "purged settled orders", "orders", p.Orders, "idempotency_keys", p.Keys,
			"older_than", ttl)
	}
	return p, err
}

// RunPurger runs PurgeOnce every interval (periodic.PurgeInterval of the
// TTL suits) until ctx ends; now is the clock (nil for time.Now). Failures
// are logged and retried at the next tick.
func RunPurger(ctx context.Context, store Purger, ttl, interval time.Duration, now func() time.Time, logger log.Logger) {
	if now == nil {
		now = time.Now
	}
	periodic.Run(ctx, interval, logger, "purge settled orders", func(ctx context.Context) error {
		_, err := PurgeOnce(ctx, store, ttl, now(), logger)
		return err
	})
}
