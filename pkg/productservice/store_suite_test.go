package productservice

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// testStore is the storage suite: every Store implementation must pass it.
// open returns a fresh, empty store for one subtest.
func testStore(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, store Store)
	}{
		{"Products", testStoreProducts},
		{"ReserveTakesStockAndPrices", testStoreReserve},
		{"ReserveAllOrNothing", testStoreReserveAllOrNothing},
		{"ReserveUnknownProduct", testStoreReserveUnknownProduct},
		{"ClaimStates", testStoreClaimStates},
		{"StaleClaimTakeover", testStoreStaleClaimTakeover},
		{"DropClaim", testStoreDropClaim},
		{"Confirm", testStoreConfirm},
		{"Release", testStoreRelease},
		{"Expire", testStoreExpire},
		{"ListReservations", testStoreListReservations},
		{"ConcurrentReservations", testConcurrentReservations},
		{"ConcurrentSameKey", testConcurrentSameKey},
		{"ConcurrentRelease", testConcurrentRelease},
		{"ConcurrentConfirmReleaseExpire", testConcurrentConfirmReleaseExpire},
		{"Purge", testStorePurge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func newProduct(t *testing.T, store Store, price, stock int64) Product {
	t.Helper()
	p := Product{ID: ids.New(ProductIDPrefix), Name: "widget", PriceCents: price, Stock: stock,
		CreatedAt: t0.Truncate(time.Microsecond)}
	if err := store.CreateProduct(context.Background(), p); err != nil {
		t.Fatalf("create product: %v", err)
	}
	return p
}

func storeStock(t *testing.T, store Store, id string) int64 {
	t.Helper()
	p, err := store.GetProduct(context.Background(), id)
	if err != nil {
		t.Fatalf("get product: %v", err)
	}
	return p.Stock
}

// storeReserve claims a fresh key and reserves items under it.
func storeReserve(t *testing.T, store Store, expires time.Time, items ...ReservedItem) (Reservation, error) {
	t.Helper()
	ctx := context.Background()
	key := ids.New("key")
	claim, err := store.ClaimIdempotencyKey(ctx, key, "hash-"+key, t0, t0.Add(-time.Minute))
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	r := Reservation{ID: ids.New(ReservationIDPrefix), OrderID: "ord_1", Items: items, Status: StatusHeld, ExpiresAt: expires}
	return store.Reserve(ctx, claim, r, t0)
}

func testStoreProducts(t *testing.T, store Store) {
	ctx := context.Background()
	if _, err := store.GetProduct(ctx, ids.New(ProductIDPrefix)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown product: err = %v, want ErrNotFound", err)
	}
	var made []Product
	for i := range 5 {
		made = append(made, newProduct(t, store, int64(100+i), int64(i)))
	}
	got, err := store.GetProduct(ctx, made[2].ID)
	if err != nil || !reflect.DeepEqual(got, made[2]) {
		t.Fatalf("get product = %+v, %v; want %+v", got, err, made[2])
	}
	page1, err := store.ListProducts(ctx, "", 3)
	if err != nil || len(page1) != 3 {
		t.Fatalf("list page 1: %d products, %v", len(page1), err)
	}
	page2, err := store.ListProducts(ctx, page1[2].ID, 3)
	if err != nil || len(page2) != 2 {
		t.Fatalf("list page 2: %d products, %v", len(page2), err)
	}
	seen := map[string]bool{}
	prev := ""
	for _, p := range append(page1, page2...) {
		if p.ID <= prev {
			t.Fatalf("list not in ID order: %s after %s", p.ID, prev)
		}
		prev = p.ID
		seen[p.ID] = true
	}
	for _, p := range made {
		if !seen[p.ID] {
			t.Fatalf("product %s missing from the pages", p.ID)
		}
	}
}

func testStoreReserve(t *testing.T, store Store) {
	a, b := newProduct(t, store, 250, 10), newProduct(t, store, 999, 3)
	expires := t0.Add(30 * time.Second)
	r, err := storeReserve(t, store, expires, ReservedItem{ProductID: a.ID, Quantity: 4}, ReservedItem{ProductID: b.ID, Quantity: 3})
	if err != nil {
		t.Fatalf("reserve: %v", err)
	}
	want := []ReservedItem{{a.ID, 4, 250}, {b.ID, 3, 999}}
	if !reflect.DeepEqual(r.Items, want) || r.Status != StatusHeld || !r.ExpiresAt.Equal(expires) {
		t.Fatalf("reservation = %+v, want items %+v held until %s", r, want, expires)
	}
	if sa, sb := storeStock(t, store, a.ID), storeStock(t, store, b.ID); sa != 6 || sb != 0 {
		t.Fatalf("stock after reserve = %d, %d; want 6, 0", sa, sb)
	}
	listed, err := store.ListReservations(context.Background(), StatusHeld, "", 10)
	if err != nil || len(listed) != 1 || !reflect.DeepEqual(listed[0], r) {
		t.Fatalf("listed = %+v, %v; want [%+v]", listed, err, r)
	}
}

func testStoreReserveAllOrNothing(t *testing.T, store Store) {
	// Stock is taken in product ID order: the refused line comes last, so
	// the line before it was taken and must be given back.
	first, last := newProduct(t, store, 100, 2), newProduct(t, store, 100, 2)
	if last.ID < first.ID {
		first, last = last, first
	}
	_, err := storeReserve(t, store, t0.Add(time.Minute), ReservedItem{ProductID: last.ID, Quantity: 3}, ReservedItem{ProductID: first.ID, Quantity: 2})
	e := wantCode(t, err, kitshop.CodeInsufficientStock)
	if want := fmt.Sprintf("insufficient stock for product %s: 2 left, 3 requested", last.ID); e.Message != want {
		t.Fatalf("message = %q, want %q", e.Message, want)
	}
	if sf, sl := storeStock(t, store, first.ID), storeStock(t, store, last.ID); sf != 2 || sl != 2 {
		t.Fatalf("stock after refused reserve = %d, %d; want 2, 2 (nothing taken)", sf, sl)
	}
	if rs, _ := store.ListReservations(context.Background(), "", "", 10); len(rs) != 0 {
		t.Fatalf("a refused reserve left reservations: %+v", rs)
	}
}

func testStoreReserveUnknownProduct(t *testing.T, store Store) {
	a := newProduct(t, store, 100, 10)
	missing := ids.New(ProductIDPrefix)
	_, err := storeReserve(t, store, t0.Add(time.Minute), ReservedItem{ProductID: a.ID, Quantity: 1}, ReservedItem{ProductID: missing, Quantity: 1})
	e := wantCode(t, err, kitshop.CodeUnknownProduct)
	if want := fmt.Sprintf("unknown product %q", missing); e.Message != want {
		t.Fatalf("message = %q, want %q", e.Message, want)
	}
	if s := storeStock(t, store, a.ID); s != 10 {
		t.Fatalf("stock = %d, want 10 (nothing taken)", s)
	}
}
