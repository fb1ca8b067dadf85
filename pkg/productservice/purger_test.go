package productservice

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
)

// Once its record is purged, a key is a new request: a repeat of an ended
// reservation's request takes stock again under a new reservation. Each
// pass that deletes something logs one line; one that deletes nothing is
// silent.
func TestPurgedKeyIsANewRequest(t *testing.T) {
	clock := newFakeClock()
	store := openSQLite(t)
	svc := NewService(store, WithClock(clock.Now))
	ctx := context.Background()
	p := mustCreateProduct(t, svc, "Widget", 100, 10)
	first, err := reserveOne(ctx, svc, "k", p.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ReleaseReservation(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := log.NewLogfmtLogger(&logs)

	clock.Advance(time.Hour) // within the TTL: kept, and replayed
	if got, err := PurgeOnce(ctx, store, 2*time.Hour, clock.Now(), logger); err != nil || got != (Purged{}) {
		t.Fatalf("purge within the TTL = %+v, %v; want nothing", got, err)
	}
	if again, err := reserveOne(ctx, svc, "k", p.ID, 3); err != nil || again.ID != first.ID {
		t.Fatalf("repeat within the TTL = %v, %v; want %s", again.ID, err, first.ID)
	}

	clock.Advance(2 * time.Hour)
	got, err := PurgeOnce(ctx, store, 2*time.Hour, clock.Now(), logger)
	if err != nil || got != (Purged{IdempotencyKeys: 1, Reservations: 1}) {
		t.Fatalf("purge past the TTL = %+v, %v; want the key and the reservation", got, err)
	}
	if lines := strings.Count(logs.String(), "\n"); lines != 1 || !strings.Contains(logs.String(), "idempotency_keys=1") {
		t.Fatalf("logs = %q, want one line for the pass that purged", logs.String())
	}
	fresh, err := reserveOne(ctx, svc, "k", p.ID, 3)
	if err != nil || fresh.ID == first.ID {
		t.Fatalf("reuse after the purge = %v, %v; want a new reservation", fresh.ID, err)
	}
	if s := stockOf(t, svc, p.ID); s != 7 {
		t.Fatalf("stock = %d, want 7", s)
	}
}
