package productservice

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

func testStoreClaimStates(t *testing.T, store Store) {
	ctx := context.Background()
	p := newProduct(t, store, 100, 10)
	stale := t0.Add(-time.Minute)

	first, err := store.ClaimIdempotencyKey(ctx, "k1", "h1", t0, stale)
	if err != nil || first.Token == "" || first.Completed {
		t.Fatalf("first claim = %+v, %v; want a fresh claim", first, err)
	}
	if _, err := store.ClaimIdempotencyKey(ctx, "k1", "h1", t0, stale); !errors.Is(err, ErrRequestInProgress) {
		t.Fatalf("repeat while in progress: err = %v, want ErrRequestInProgress", err)
	}
	if _, err := store.ClaimIdempotencyKey(ctx, "k1", "h2", t0, stale); !errors.Is(err, ErrIdempotencyKeyReused) {
		t.Fatalf("other request, same key: err = %v, want ErrIdempotencyKeyReused", err)
	}

	r := Reservation{ID: ids.New(ReservationIDPrefix), OrderID: "ord_1", Status: StatusHeld,
		ExpiresAt: t0.Add(30 * time.Second), Items: []ReservedItem{{ProductID: p.ID, Quantity: 2}}}
	made, err := store.Reserve(ctx, first, r, t0)
	if err != nil {
		t.Fatalf("reserve: %v", err)
	}
	// The outcome is replayed as first returned, whatever happened since.
	if _, err := store.ConfirmReservation(ctx, made.ID, t0); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	replay, err := store.ClaimIdempotencyKey(ctx, "k1", "h1", t0.Add(time.Hour), t0.Add(time.Hour))
	if err != nil || !replay.Completed || replay.Err != nil || !reflect.DeepEqual(replay.Reservation, made) {
		t.Fatalf("replay = %+v, %v; want completed with %+v", replay, err, made)
	}
	if _, err := store.ClaimIdempotencyKey(ctx, "k1", "h2", t0, stale); !errors.Is(err, ErrIdempotencyKeyReused) {
		t.Fatalf("other request after completion: err = %v, want ErrIdempotencyKeyReused", err)
	}
	// Recording again under a completed claim is refused.
	r2 := r
	r2.ID = ids.New(ReservationIDPrefix)
	if _, err := store.Reserve(ctx, first, r2, t0); !errors.Is(err, ErrRequestInProgress) {
		t.Fatalf("reserve twice under one claim: err = %v, want ErrRequestInProgress", err)
	}
	if s := storeStock(t, store, p.ID); s != 8 {
		t.Fatalf("stock = %d, want 8", s)
	}

	// A business error is an outcome too, replayed with its message.
	bad, err := store.ClaimIdempotencyKey(ctx, "k2", "h1", t0, stale)
	if err != nil {
		t.Fatalf("claim k2: %v", err)
	}
	r3 := r
	r3.ID, r3.Items = ids.New(ReservationIDPrefix), []ReservedItem{{ProductID: p.ID, Quantity: 9}}
	_, firstErr := store.Reserve(ctx, bad, r3, t0)
	first3 := wantCode(t, firstErr, kitshop.CodeInsufficientStock)
	again, err := store.ClaimIdempotencyKey(ctx, "k2", "h1", t0, stale)
	if err != nil || !again.Completed {
		t.Fatalf("replay of an error = %+v, %v", again, err)
	}
	if e := wantCode(t, again.Err, kitshop.CodeInsufficientStock); e.Message != first3.Message {
		t.Fatalf("replayed message = %q, want %q", e.Message, first3.Message)
	}
}

func testStoreStaleClaimTakeover(t *testing.T, store Store) {
	ctx := context.Background()
	p := newProduct(t, store, 100, 10)
	crashed, err := store.ClaimIdempotencyKey(ctx, "k", "h", t0, t0.Add(-10*time.Second))
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	later := t0.Add(11 * time.Second)
	// Not yet stale by the bound given: still in progress.
	if _, err := store.ClaimIdempotencyKey(ctx, "k", "h", later, t0); !errors.Is(err, ErrRequestInProgress) {
		t.Fatalf("claim at the bound: err = %v, want ErrRequestInProgress", err)
	}
	taken, err := store.ClaimIdempotencyKey(ctx, "k", "h", later, later.Add(-10*time.Second))
	if err != nil || taken.Completed || taken.Token == crashed.Token {
		t.Fatalf("takeover = %+v, %v; want a new claim", taken, err)
	}
	// The former owner comes back: it may no longer take stock.
	r := Reservation{ID: ids.New(ReservationIDPrefix), OrderID: "o", Status: StatusHeld, ExpiresAt: later.Add(time.Minute),
		Items: []ReservedItem{{ProductID: p.ID, Quantity: 1}}}
	if _, err := store.Reserve(ctx, crashed, r, later); !errors.Is(err, ErrRequestInProgress) {
		t.Fatalf("reserve under a lost claim: err = %v, want ErrRequestInProgress", err)
	}
	if err := store.DropClaim(ctx, crashed); err != nil {
		t.Fatalf("drop a lost claim: %v", err)
	}
	if s := storeStock(t, store, p.ID); s != 10 {
		t.Fatalf("stock = %d, want 10", s)
	}
	if _, err := store.Reserve(ctx, taken, r, later); err != nil {
		t.Fatalf("reserve under the new claim: %v", err)
	}
	if s := storeStock(t, store, p.ID); s != 9 {
		t.Fatalf("stock = %d, want 9", s)
	}
}

func testStoreDropClaim(t *testing.T, store Store) {
	ctx := context.Background()
	c, err := store.ClaimIdempotencyKey(ctx, "k", "h", t0, t0.Add(-time.Minute))
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	if err := store.DropClaim(ctx, c); err != nil {
		t.Fatalf("drop: %v", err)
	}
	// Dropped: the key is free, even for another request.
	if _, err := store.ClaimIdempotencyKey(ctx, "k", "other", t0, t0.Add(-time.Minute)); err != nil {
		t.Fatalf("claim after drop: %v", err)
	}
	// Dropping the old claim again leaves the new owner's claim alone.
	if err := store.DropClaim(ctx, c); err != nil {
		t.Fatalf("drop again: %v", err)
	}
	if _, err := store.ClaimIdempotencyKey(ctx, "k", "other", t0, t0.Add(-time.Minute)); !errors.Is(err, ErrRequestInProgress) {
		t.Fatalf("claim after a stale drop: err = %v, want ErrRequestInProgress", err)
	}
}

func testStoreConfirm(t *testing.T, store Store) {
	ctx := context.Background()
	p := newProduct(t, store, 100, 10)
	expires := t0.Add(30 * time.Second)
	item := ReservedItem{ProductID: p.ID, Quantity: 3}

	if _, err := store.ConfirmReservation(ctx, ids.New(ReservationIDPrefix), t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("confirm unknown: err = %v, want ErrNotFound", err)
	}
	r, _ := storeReserve(t, store, expires, item)
	got, err := store.ConfirmReservation(ctx, r.ID, expires.Add(-time.Microsecond))
	if err != nil || got.Status != StatusConfirmed || got.ID != r.ID || !reflect.DeepEqual(got.Items, r.Items) {
		t.Fatalf("confirm = %+v, %v", got, err)
	}
	// Idempotent, also after the expiry: it is no longer held.
	if again, err := store.ConfirmReservation(ctx, r.ID, expires.Add(time.Hour)); err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("confirm again = %+v, %v; want %+v", again, err, got)
	}

	released, _ := storeReserve(t, store, expires, item)
	if err := store.ReleaseReservation(ctx, released.ID, t0); err != nil {
		t.Fatalf("release: %v", err)
	}
	if _, err := store.ConfirmReservation(ctx, released.ID, t0); !errors.Is(err, ErrReservationExpired) {
		t.Fatalf("confirm released: err = %v, want ErrReservationExpired", err)
	}

	// Held at its expiry instant: expired on the spot, stock back once.
	late, _ := storeReserve(t, store, expires, item)
	if s := storeStock(t, store, p.ID); s != 4 {
		t.Fatalf("stock = %d, want 4", s)
	}
	for range 2 {
		if _, err := store.ConfirmReservation(ctx, late.ID, expires); !errors.Is(err, ErrReservationExpired) {
			t.Fatalf("confirm at expiry: err = %v, want ErrReservationExpired", err)
		}
	}
	if s := storeStock(t, store, p.ID); s != 7 {
		t.Fatalf("stock = %d, want 7 (the late one's 3 back once)", s)
	}
	if rs, _ := store.ListReservations(ctx, StatusExpired, "", 10); len(rs) != 1 || rs[0].ID != late.ID {
		t.Fatalf("expired = %+v, want only %s", rs, late.ID)
	}
}

func testStoreRelease(t *testing.T, store Store) {
	ctx := context.Background()
	p := newProduct(t, store, 100, 10)
	expires := t0.Add(30 * time.Second)
	item := ReservedItem{ProductID: p.ID, Quantity: 4}

	if err := store.ReleaseReservation(ctx, ids.New(ReservationIDPrefix), t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("release unknown: err = %v, want ErrNotFound", err)
	}
	r, _ := storeReserve(t, store, expires, item)
	for range 2 {
		if err := store.ReleaseReservation(ctx, r.ID, t0); err != nil {
			t.Fatalf("release: %v", err)
		}
		if s := storeStock(t, store, p.ID); s != 10 {
			t.Fatalf("stock = %d, want 10 (back exactly once)", s)
		}
	}
	c, _ := storeReserve(t, store, expires, item)
	if _, err := store.ConfirmReservation(ctx, c.ID, t0); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if err := store.ReleaseReservation(ctx, c.ID, t0); !errors.Is(err, ErrAlreadyConfirmed) {
		t.Fatalf("release confirmed: err = %v, want ErrAlreadyConfirmed", err)
	}
	e, _ := storeReserve(t, store, expires, item)
	if n, err := store.ExpireReservations(ctx, expires); err != nil || n != 1 {
		t.Fatalf("expire = %d, %v; want 1", n, err)
	}
	if err := store.ReleaseReservation(ctx, e.ID, expires); err != nil {
		t.Fatalf("release expired: %v", err)
	}
	if s := storeStock(t, store, p.ID); s != 6 {
		t.Fatalf("stock = %d, want 6 (only the confirmed 4 taken)", s)
	}
}

func testStoreExpire(t *testing.T, store Store) {
	ctx := context.Background()
	p := newProduct(t, store, 100, 1000)
	// More than one batch is due, and one is not yet.
	const due = 130
	for i := range due {
		if _, err := storeReserve(t, store, t0.Add(time.Duration(i)*time.Millisecond), ReservedItem{ProductID: p.ID, Quantity: 2}); err != nil {
			t.Fatalf("reserve %d: %v", i, err)
		}
	}
	keep, _ := storeReserve(t, store, t0.Add(time.Hour), ReservedItem{ProductID: p.ID, Quantity: 5})
	if n, err := store.ExpireReservations(ctx, t0.Add(-time.Microsecond)); err != nil || n != 0 {
		t.Fatalf("expire before anything is due = %d, %v; want 0", n, err)
	}
	if n, err := store.ExpireReservations(ctx, t0.Add(time.Minute)); err != nil || n != due {
		t.Fatalf("expire = %d, %v; want %d", n, err, due)
	}
	if n, err := store.ExpireReservations(ctx, t0.Add(time.Minute)); err != nil || n != 0 {
		t.Fatalf("expire again = %d, %v; want 0", n, err)
	}
	if s := storeStock(t, store, p.ID); s != 995 {
		t.Fatalf("stock = %d, want 995 (every expired hold back once)", s)
	}
	if held, _ := store.ListReservations(ctx, StatusHeld, "", 10); len(held) != 1 || held[0].ID != keep.ID {
		t.Fatalf("held = %+v, want only %s", held, keep.ID)
	}
}

func testStoreListReservations(t *testing.T, store Store) {
	ctx := context.Background()
	a, b := newProduct(t, store, 100, 100), newProduct(t, store, 7, 100)
	var all []Reservation
	for range 5 {
		r, err := storeReserve(t, store, t0.Add(time.Minute), ReservedItem{ProductID: b.ID, Quantity: 1}, ReservedItem{ProductID: a.ID, Quantity: 2})
		if err != nil {
			t.Fatalf("reserve: %v", err)
		}
		all = append(all, r)
	}
	if _, err := store.ConfirmReservation(ctx, all[1].ID, t0); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	page1, err := store.ListReservations(ctx, "", "", 3)
	if err != nil || len(page1) != 3 {
		t.Fatalf("page 1: %d, %v", len(page1), err)
	}
	page2, err := store.ListReservations(ctx, "", page1[2].ID, 3)
	if err != nil || len(page2) != 2 {
		t.Fatalf("page 2: %d, %v", len(page2), err)
	}
	for _, r := range append(page1, page2...) {
		if len(r.Items) != 2 || r.Items[0].ProductID != b.ID || r.Items[1] != (ReservedItem{a.ID, 2, 100}) {
			t.Fatalf("items of %s = %+v, want b then a, in request order", r.ID, r.Items)
		}
	}
	held, err := store.ListReservations(ctx, StatusHeld, "", 10)
	if err != nil || len(held) != 4 {
		t.Fatalf("held = %d, %v; want 4", len(held), err)
	}
	confirmed, err := store.ListReservations(ctx, StatusConfirmed, "", 10)
	if err != nil || len(confirmed) != 1 || confirmed[0].ID != all[1].ID || confirmed[0].Status != StatusConfirmed {
		t.Fatalf("confirmed = %+v, %v", confirmed, err)
	}
}
