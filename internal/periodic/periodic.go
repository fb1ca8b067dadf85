// Package periodic runs the services' background work on a ticker: the
// reservation expiry sweep, the purges of settled records, the order
// recovery loop's kind of work.
package periodic

import (
	"context"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// Run calls work every interval until ctx ends, then returns. A failure is
// logged with msg and tried again at the next tick; a failure because ctx
// ended is not logged. A nil logger logs nothing.
func Run(ctx context.Context, interval time.Duration, logger log.Logger, msg string, work func(context.Context) error) {
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
		if err := work(ctx); err != nil && ctx.Err() == nil {
			_ = level.Error(logger).Log("msg", msg, "err", err)
		}
	}
}

// PurgeInterval is how often to purge what a TTL keeps: a tenth of the TTL,
// from 1s to 10 minutes, so that nothing outlives it by more than a tenth.
func PurgeInterval(ttl time.Duration) time.Duration {
	return min(max(ttl/10, time.Second), 10*time.Minute)
}
