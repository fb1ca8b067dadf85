package orderservice

import (
	"context"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
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

// PurgeInterval is how often the purge loop should run for an idempotency
// TTL: a tenth of it, from 1s to 10 minutes.
func PurgeInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/10, time.Second), 10*time.Minute)
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

// RunPurger runs PurgeOnce every interval until ctx ends; now is the clock
// (nil for time.Now). Failures are logged and retried at the next tick.
func RunPurger(ctx context.Context, store Purger, ttl, interval time.Duration, now func() time.Time, logger log.Logger) {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = log.NewNopLogger()
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if _, err := PurgeOnce(ctx, store, ttl, now(), logger); err != nil && ctx.Err() == nil {
			_ = level.Error(logger).Log("msg", "purge settled orders", "err", err)
		}
	}
}
