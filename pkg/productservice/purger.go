package productservice

import (
	"context"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/kitshop/kitshop/internal/periodic"
)

// DefaultIdempotencyTTL is how long an idempotency record is kept after
// its request settled (IDEMPOTENCY_TTL).
const DefaultIdempotencyTTL = 24 * time.Hour

// purgeBatch bounds the rows one purge transaction deletes, so that no
// purge holds the write lock (SQLite) or many row locks (PostgreSQL) for
// long.
const purgeBatch = 500

// SettledPurger is the part of a Store the purge loop uses.
type SettledPurger interface {
	PurgeSettled(ctx context.Context, before time.Time, batch int) (Purged, error)
}

// PurgeOnce deletes what was settled more than ttl before now, and logs one
// line if it deleted anything.
func PurgeOnce(ctx context.Context, store SettledPurger, ttl time.Duration, now time.Time, logger log.Logger) (Purged, error) {
	p, err := store.PurgeSettled(ctx, now.UTC().Add(-ttl), purgeBatch)
	if p.IdempotencyKeys+p.Reservations > 0 {
		_ = level.Info(logger).Log("msg", "purged settled records", "idempotency_keys", p.IdempotencyKeys,
			"reservations", p.Reservations, "older_than", ttl)
	}
	return p, err
}

// RunPurger runs PurgeOnce every interval (periodic.PurgeInterval of the
// TTL suits) until ctx ends; now is the clock (nil for time.Now). Failures
// are logged and retried at the next tick.
func RunPurger(ctx context.Context, store SettledPurger, ttl, interval time.Duration, now func() time.Time, logger log.Logger) {
	if now == nil {
		now = time.Now
	}
	periodic.Run(ctx, interval, logger, "purge settled records", func(ctx context.Context) error {
		_, err := PurgeOnce(ctx, store, ttl, now(), logger)
		return err
	})
}
