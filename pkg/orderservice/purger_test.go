package orderservice_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
)

// A refused order keeps its key for the TTL (the same key with another
// body is refused as a reuse); once purged, the key is a new request. A
// purge pass that deletes something logs one line, one that does not is
// silent.
func TestPurgedOrderFreesItsKey(t *testing.T) {
	s := newShop(t)
	s.store.SetClock(s.clock.Now)
	u, p := s.user(), s.product(100, 10)
	ctx := context.Background()
	if _, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 11))); err == nil {
		t.Fatal("ordering more than the stock succeeded")
	}
	var logs bytes.Buffer
	logger := log.NewLogfmtLogger(&logs)
	const ttl = time.Hour

	s.clock.Advance(ttl / 2)
	if got, err := orderservice.PurgeOnce(ctx, s.store, ttl, s.clock.Now(), logger); err != nil || got != (orderservice.Purged{}) {
		t.Fatalf("purge within the TTL = %+v, %v; want nothing", got, err)
	}
	_, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 1)))
	wantCode(t, err, kitshop.CodeIdempotencyKeyReused)

	s.clock.Advance(ttl)
	if got, err := orderservice.PurgeOnce(ctx, s.store, ttl, s.clock.Now(), logger); err != nil || got.Orders != 1 {
		t.Fatalf("purge past the TTL = %+v, %v; want the rejected order", got, err)
	}
	if lines := strings.Count(logs.String(), "\n"); lines != 1 || !strings.Contains(logs.String(), "orders=1") {
		t.Fatalf("logs = %q, want one line for the pass that purged", logs.String())
	}
	o, err := s.orders.CreateOrder(ctx, order(u.ID, "k", line(p, 1)))
	if err != nil {
		t.Fatalf("reusing the key after the purge: %v", err)
	}

	// A confirmed order stays, without its key once the TTL has passed.
	s.clock.Advance(2 * ttl)
	if got, err := orderservice.PurgeOnce(ctx, s.store, ttl, s.clock.Now(), logger); err != nil || got != (orderservice.Purged{Keys: 1}) {
		t.Fatalf("purge = %+v, %v; want the confirmed order's key cleared", got, err)
	}
	if again, err := s.orders.GetOrder(ctx, o.ID); err != nil || again.ID != o.ID {
		t.Fatalf("confirmed order after the purge = %+v, %v", again, err)
	}
}
