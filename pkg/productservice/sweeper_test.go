package productservice

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// countingExpirer records every sweep and how many reservations it expired.
type countingExpirer struct {
	ReservationExpirer
	mu      sync.Mutex
	sweeps  int
	expired int
}

func (c *countingExpirer) ExpireReservations(ctx context.Context, now time.Time) (int, error) {
	n, err := c.ReservationExpirer.ExpireReservations(ctx, now)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweeps++
	c.expired += n
	return n, err
}

func (c *countingExpirer) counts() (sweeps, expired int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sweeps, c.expired
}

func TestSweeperExpiresOnceAndStops(t *testing.T) {
	clock := newFakeClock()
	store := openSQLite(t)
	svc := NewService(store, WithClock(clock.Now), WithReservationTTL(30*time.Second))
	p := mustCreateProduct(t, svc, "Widget", 100, 10)
	r, err := reserveOne(context.Background(), svc, "k", p.ID, 3)
	if err != nil {
		t.Fatalf("reserve: %v", err)
	}

	counter := &countingExpirer{ReservationExpirer: store}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		RunExpirySweeper(ctx, counter, 50*time.Millisecond, clock.Now, nil)
	}()
	defer func() { cancel(); <-done }()

	// Sweeps before the expiry leave it held.
	waitFor(t, 5*time.Second, "two sweeps", func() bool { s, _ := counter.counts(); return s >= 2 })
	if _, n := counter.counts(); n != 0 {
		t.Fatalf("expired %d before the TTL", n)
	}
	if s := stockOf(t, svc, p.ID); s != 7 {
		t.Fatalf("stock = %d, want 7", s)
	}

	clock.Advance(30 * time.Second)
	waitFor(t, 5*time.Second, "the reservation to expire", func() bool { _, n := counter.counts(); return n == 1 })
	sweeps, _ := counter.counts()
	waitFor(t, 5*time.Second, "three more sweeps", func() bool { s, _ := counter.counts(); return s >= sweeps+3 })
	if _, n := counter.counts(); n != 1 {
		t.Fatalf("expired %d times, want once", n)
	}
	if s := stockOf(t, svc, p.ID); s != 10 {
		t.Fatalf("stock = %d, want 10 (back exactly once)", s)
	}
	if _, err := svc.ConfirmReservation(context.Background(), r.ID); !errors.Is(err, ErrReservationExpired) {
		t.Fatalf("confirm after expiry: err = %v, want ErrReservationExpired", err)
	}
	if rs, _, _ := svc.ListReservations(context.Background(), StatusExpired, "", 10); len(rs) != 1 || rs[0].ID != r.ID {
		t.Fatalf("expired reservations = %+v, want %s", rs, r.ID)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("sweeper did not stop when its context ended")
	}
}

func TestSweepInterval(t *testing.T) {
	for ttl, want := range map[time.Duration]time.Duration{
		30 * time.Second:       time.Second,
		4 * time.Second:        time.Second,
		2 * time.Second:        500 * time.Millisecond,
		400 * time.Millisecond: 100 * time.Millisecond,
		100 * time.Millisecond: 50 * time.Millisecond,
		time.Millisecond:       50 * time.Millisecond,
	} {
		if got := SweepInterval(ttl); got != want {
			t.Errorf("SweepInterval(%s) = %s, want %s", ttl, got, want)
		}
	}
}
