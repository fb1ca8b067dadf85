package productservice

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

// gatedStore holds Reserve (phase two) until released, so that a request
// can be observed in flight. Only one call may be in phase two: a second
// one fails at once rather than waiting on the gate.
type gatedStore struct {
	Store
	calls   atomic.Int32
	entered chan struct{}
	proceed chan struct{}
}

func (g *gatedStore) Reserve(ctx context.Context, c Claim, r Reservation, now time.Time) (Reservation, error) {
	if g.calls.Add(1) > 1 {
		return Reservation{}, errors.New("a second owner of the key reached phase two")
	}
	g.entered <- struct{}{}
	<-g.proceed
	return g.Store.Reserve(ctx, c, r, now)
}

func TestReserveInFlightIsRequestInProgress(t *testing.T) {
	gated := &gatedStore{Store: openSQLite(t), entered: make(chan struct{}), proceed: make(chan struct{})}
	svc := NewService(gated)
	p := mustCreateProduct(t, svc, "Widget", 100, 10)

	var wg sync.WaitGroup
	var first Reservation
	var firstErr error
	wg.Go(func() { first, firstErr = reserveOne(context.Background(), svc, "k", p.ID, 1) })
	<-gated.entered
	if _, err := reserveOne(context.Background(), svc, "k", p.ID, 1); !errors.Is(err, ErrRequestInProgress) {
		t.Fatalf("repeat in flight: err = %v, want ErrRequestInProgress", err)
	}
	if _, err := reserveOne(context.Background(), svc, "k", p.ID, 2); !errors.Is(err, ErrIdempotencyKeyReused) {
		t.Fatalf("other request in flight: err = %v, want ErrIdempotencyKeyReused", err)
	}
	close(gated.proceed)
	wg.Wait()
	if firstErr != nil {
		t.Fatalf("first: %v", firstErr)
	}
	again, err := reserveOne(context.Background(), svc, "k", p.ID, 1)
	if err != nil || again.ID != first.ID {
		t.Fatalf("repeat after = %+v, %v; want %s", again, err, first.ID)
	}
	if s := stockOf(t, svc, p.ID); s != 9 {
		t.Fatalf("stock = %d, want 9", s)
	}
}

// failingStore fails phase two with an internal error, as the caller gives
// up (its context ends).
type failingStore struct {
	Store
	cancelCaller context.CancelFunc
	dropped      []Claim
}

func (f *failingStore) Reserve(context.Context, Claim, Reservation, time.Time) (Reservation, error) {
	f.cancelCaller()
	return Reservation{}, kitshop.Internal(errors.New("disk on fire"))
}

func (f *failingStore) DropClaim(ctx context.Context, c Claim) error {
	f.dropped = append(f.dropped, c)
	return f.Store.DropClaim(ctx, c)
}

func TestReserveInternalErrorDropsTheClaim(t *testing.T) {
	store := openSQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	failing := &failingStore{Store: store, cancelCaller: cancel}
	p := mustCreateProduct(t, NewService(store), "Widget", 100, 10)

	_, err := reserveOne(ctx, NewService(failing), "k", p.ID, 1)
	wantCode(t, err, kitshop.CodeInternal)
	if len(failing.dropped) != 1 || failing.dropped[0].Key != "k" {
		t.Fatalf("dropped claims = %+v, want the claim of key k", failing.dropped)
	}
	// The claim is gone although the caller's context had ended: a retry
	// proceeds, and takes the stock once.
	svc := NewService(store)
	if _, err := reserveOne(context.Background(), svc, "k", p.ID, 1); err != nil {
		t.Fatalf("retry after an internal error: %v", err)
	}
	if s := stockOf(t, svc, p.ID); s != 9 {
		t.Fatalf("stock = %d, want 9", s)
	}
}

func TestReserveTakesOverStaleClaim(t *testing.T) {
	clock := newFakeClock()
	store := openSQLite(t)
	svc := NewService(store, WithClock(clock.Now), WithStaleClaimAfter(10*time.Second))
	p := mustCreateProduct(t, svc, "Widget", 100, 10)
	// A request that claimed the key and crashed.
	if _, err := store.ClaimIdempotencyKey(context.Background(), "k",
		requestHash(ReserveRequest{OrderID: "ord_k", Items: []ReserveItem{{p.ID, 1}}}), t0, t0); err != nil {
		t.Fatalf("claim: %v", err)
	}
	clock.Advance(10 * time.Second)
	if _, err := reserveOne(context.Background(), svc, "k", p.ID, 1); !errors.Is(err, ErrRequestInProgress) {
		t.Fatalf("at the bound: err = %v, want ErrRequestInProgress", err)
	}
	clock.Advance(time.Microsecond)
	if _, err := reserveOne(context.Background(), svc, "k", p.ID, 1); err != nil {
		t.Fatalf("after the bound: %v, want the key taken over", err)
	}
	if s := stockOf(t, svc, p.ID); s != 9 {
		t.Fatalf("stock = %d, want 9", s)
	}
}

func TestConfirmAfterExpiry(t *testing.T) {
	clock := newFakeClock()
	svc := NewService(openSQLite(t), WithClock(clock.Now), WithReservationTTL(30*time.Second))
	p := mustCreateProduct(t, svc, "Widget", 100, 10)
	r, err := reserveOne(context.Background(), svc, "k", p.ID, 4)
	if err != nil {
		t.Fatalf("reserve: %v", err)
	}
	clock.Advance(30 * time.Second)
	if _, err := svc.ConfirmReservation(context.Background(), r.ID); !errors.Is(err, ErrReservationExpired) {
		t.Fatalf("confirm at expiry: err = %v, want ErrReservationExpired", err)
	}
	if s := stockOf(t, svc, p.ID); s != 10 {
		t.Fatalf("stock = %d, want 10 (given back on the spot)", s)
	}
	if err := svc.ReleaseReservation(context.Background(), r.ID); err != nil {
		t.Fatalf("release after expiry: %v", err)
	}
	if s := stockOf(t, svc, p.ID); s != 10 {
		t.Fatalf("stock = %d, want 10 (not twice)", s)
	}
}
