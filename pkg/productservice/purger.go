package productservice

import (
	"context"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
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

// PurgeInterval is how often the purge loop should run for an idempotency
// TTL: a tenth of it, from 1s to 10 minutes.
func PurgeInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/10, time.Second), 10*time.Minute)
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

// RunPurger runs PurgeOnce every interval until ctx ends; now is the clock
// (nil for time.Now). Failures are logged and retried at the next tick.
func RunPurger(ctx context.Context, store SettledPurger, ttl, interval time.Duration, now func() time.Time, logger log.Logger) {
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
			_ = level.Error(logger).Log("msg", "purge settled records", "err", err)
		}
	}
}
