package orderservice_test

// The order store's storage suite, run on SQLite and on PostgreSQL (see
// internal/pgtest for where the server comes from); the concurrent tests
// open the database twice, as two instances of the service.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/orderservice/orderstore"
)

// orderStoreURL returns a fresh database URL for one test.
type orderStoreURL func(t testing.TB) string

func sqliteURL(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "orders.db") }

func openOrderStore(t *testing.T, url string) *orderstore.Store {
	t.Helper()
	s, err := orderstore.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open order store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOrderStoreSQLite(t *testing.T)   { testOrderStore(t, sqliteURL) }
func TestOrderStorePostgres(t *testing.T) { testOrderStore(t, pgtest.URL) }

// testOrderStore is the storage suite. Every test gets a new database;
// the concurrent ones open it twice, as two instances of the service.
func testOrderStore(t *testing.T, newURL orderStoreURL) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, url string)
	}{
		{"PendingThenConfirm", testOrderPendingThenConfirm},
		{"KeyTakenAndFreed", testOrderKeyTakenAndFreed},
		{"TransitionsAreConditional", testOrderTransitionsConditional},
		{"ListConfirmedAndUnresolved", testOrderLists},
		{"CountUnresolved", testOrderCountUnresolved},
		{"ConcurrentSameKey", testOrderConcurrentSameKey},
		{"ConcurrentResolvers", testOrderConcurrentResolvers},
		{"Purge", testOrderPurge},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newURL(t)) })
	}
}

var storeT0 = time.Date(2030, 5, 6, 7, 8, 9, 123456000, time.UTC)

func pendingRecord(key string, lines ...orderservice.OrderItem) orderservice.Record {
	return orderservice.Record{
		Order: orderservice.Order{ID: ids.New(orderservice.IDPrefix), UserID: "usr_1", CreatedAt: storeT0,
			Items: lines},
		IdempotencyKey: key,
		RequestHash:    "hash-" + key,
	}
}

func item(product string, q int64) orderservice.OrderItem {
	return orderservice.OrderItem{ProductID: product, Quantity: q}
}

func testOrderPendingThenConfirm(t *testing.T, url string) {
	s := openOrderStore(t, url)
	ctx := context.Background()
	r := pendingRecord("k1", item("prd_b", 2), item("prd_a", 1))
	if err := s.CreatePending(ctx, r); err != nil {
		t.Fatalf("CreatePending: %v", err)
	}
	got, err := s.Get(ctx, r.ID)
	if err != nil || got.Status != orderservice.StatusPending || got.IdempotencyKey != "k1" || got.RequestHash != "hash-k1" ||
		!got.CreatedAt.Equal(storeT0) || len(got.Items) != 2 || got.Items[0] != item("prd_b", 2) || got.Items[1] != item("prd_a", 1) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if byKey, err := s.GetByKey(ctx, "k1"); err != nil || byKey.ID != r.ID {
		t.Fatalf("GetByKey = %+v, %v", byKey, err)
	}
	priced := []orderservice.OrderItem{{ProductID: "prd_b", Quantity: 2, UnitPriceCents: 250}, {ProductID: "prd_a", Quantity: 1, UnitPriceCents: 99}}
	if err := s.Confirm(ctx, r.ID, priced, 599, "rsv_1"); err != nil {
		t.Fatalf("Confirm: %v", err)
	}
	got, err = s.Get(ctx, r.ID)
	if err != nil || got.Status != orderservice.StatusConfirmed || got.TotalCents != 599 || got.ReservationID != "rsv_1" ||
		len(got.Items) != 2 || got.Items[0] != priced[0] || got.Items[1] != priced[1] {
		t.Fatalf("after Confirm: %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, ids.New(orderservice.IDPrefix)); !errors.Is(err, orderservice.ErrNotFound) {
		t.Fatalf("Get(unknown) = %v", err)
	}
	if _, err := s.GetByKey(ctx, "nope"); !errors.Is(err, orderservice.ErrNotFound) {
		t.Fatalf("GetByKey(unknown) = %v", err)
	}
}

func testOrderKeyTakenAndFreed(t *testing.T, url string) {
	s := openOrderStore(t, url)
	ctx := context.Background()
	first := pendingRecord("k", item("prd_a", 1))
	if err := s.CreatePending(ctx, first); err != nil {
		t.Fatal(err)
	}
	second := pendingRecord("k", item("prd_a", 1))
	if err := s.CreatePending(ctx, second); !errors.Is(err, orderservice.ErrKeyTaken) {
		t.Fatalf("same key: %v, want ErrKeyTaken", err)
	}
	if _, err := s.Get(ctx, second.ID); !errors.Is(err, orderservice.ErrNotFound) {
		t.Fatalf("the refused order exists (%v)", err)
	}
	// Orders without a key never collide.
	for range 2 {
		if err := s.CreatePending(ctx, pendingRecord("", item("prd_a", 1))); err != nil {
			t.Fatalf("order without key: %v", err)
		}
	}
	// Cancelling frees the key for a new order.
	if err := s.Cancel(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetByKey(ctx, "k"); !errors.Is(err, orderservice.ErrNotFound) {
		t.Fatalf("the cancelled order still holds its key (%v)", err)
	}
	if err := s.CreatePending(ctx, second); err != nil {
		t.Fatalf("the key after its order was cancelled: %v", err)
	}
}

func testOrderTransitionsConditional(t *testing.T, url string) {
	s := openOrderStore(t, url)
	ctx := context.Background()
	mk := func() string {
		r := pendingRecord("", item("prd_a", 1))
		if err := s.CreatePending(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	confirm := func(id string) error { return s.Confirm(ctx, id, nil, 0, "rsv") }
	changed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, orderservice.ErrStateChanged) {
			t.Fatalf("%s: %v, want ErrStateChanged", what, err)
		}
	}
	confirmed := mk()
	if err := confirm(confirmed); err != nil {
		t.Fatal(err)
	}
	changed("confirm twice", confirm(confirmed))
	changed("reject confirmed", s.Reject(ctx, confirmed, "x", "y"))
	changed("cancel confirmed", s.Cancel(ctx, confirmed))
	changed("mark confirmed cancelling", s.MarkCancelling(ctx, confirmed, ""))

	rejected := mk()
	if err := s.Reject(ctx, rejected, "insufficient_stock", "none left"); err != nil {
		t.Fatal(err)
	}
	changed("confirm rejected", confirm(rejected))
	if r, _ := s.Get(ctx, rejected); r.ErrorCode != "insufficient_stock" || r.ErrorMessage != "none left" {
		t.Fatalf("rejected order %+v", r)
	}

	// A cancelling order can still be completed (its confirmation went
	// through) or cancelled, not rejected.
	cancelling := mk()
	if err := s.MarkCancelling(ctx, cancelling, "rsv_9"); err != nil {
		t.Fatal(err)
	}
	changed("reject cancelling", s.Reject(ctx, cancelling, "x", "y"))
	if err := confirm(cancelling); err != nil {
		t.Fatalf("confirm cancelling: %v", err)
	}
	if err := s.Cancel(ctx, ids.New(orderservice.IDPrefix)); !errors.Is(err, orderservice.ErrStateChanged) {
		t.Fatalf("cancel unknown: %v", err)
	}
}

// CountUnresolved follows orders through every state: only pending and
// cancelling ones count.
func testOrderCountUnresolved(t *testing.T, url string) {
	s := openOrderStore(t, url)
	ctx := context.Background()
	want := func(pending, cancelling int) {
		t.Helper()
		got, err := s.CountUnresolved(ctx)
		if err != nil || got != (orderservice.Unresolved{Pending: pending, Cancelling: cancelling}) {
			t.Fatalf("CountUnresolved = %+v, %v; want %d pending, %d cancelling", got, err, pending, cancelling)
		}
	}
	want(0, 0)
	var made []string
	for range 4 {
		r := pendingRecord("", item("prd_a", 1))
		if err := s.CreatePending(ctx, r); err != nil {
			t.Fatal(err)
		}
		made = append(made, r.ID)
	}
	want(4, 0)
	if err := s.Confirm(ctx, made[0], nil, 0, "rsv_0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reject(ctx, made[1], "insufficient_stock", "none left"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkCancelling(ctx, made[2], ""); err != nil {
		t.Fatal(err)
	}
	want(1, 1)
	if err := s.Cancel(ctx, made[2]); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkCancelling(ctx, made[3], "rsv_3"); err != nil {
		t.Fatal(err)
	}
	want(0, 1)
	if err := s.Confirm(ctx, made[3], nil, 0, "rsv_3"); err != nil {
		t.Fatal(err)
	}
	want(0, 0)
}

func testOrderLists(t *testing.T, url string) {
	s := openOrderStore(t, url)
	ctx := context.Background()
	var confirmedOf = map[string][]string{}
	for i := range 9 {
		r := pendingRecord("", item("prd_a", int64(i+1)))
		r.UserID = fmt.Sprintf("usr_%d", i%3)
		if err := s.CreatePending(ctx, r); err != nil {
			t.Fatal(err)
		}
		if i%4 != 3 { // every fourth stays pending
			if err := s.Confirm(ctx, r.ID, []orderservice.OrderItem{{ProductID: "prd_a", Quantity: int64(i + 1), UnitPriceCents: 10}}, 10*int64(i+1), "rsv"); err != nil {
				t.Fatal(err)
			}
			confirmedOf[r.UserID] = append(confirmedOf[r.UserID], r.ID)
			confirmedOf[""] = append(confirmedOf[""], r.ID)
		}
	}
	for user, want := range confirmedOf {
		var got []string
		after := ""
		for {
			page, err := s.ListConfirmed(ctx, user, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range page {
				if o.Status != orderservice.StatusConfirmed || len(o.Items) != 1 || o.Items[0].UnitPriceCents != 10 {
					t.Fatalf("listed %+v", o)
				}
				if user != "" && o.UserID != user {
					t.Fatalf("listed %s's order for %s", o.UserID, user)
				}
				got = append(got, o.ID)
			}
			if len(page) < 2 {
				break
			}
			after = page[len(page)-1].ID
		}
		if fmt.Sprint(got) != fmt.Sprint(slices.Sorted(slices.Values(want))) {
			t.Fatalf("ListConfirmed(%q) = %v, want %v", user, got, slices.Sorted(slices.Values(want)))
		}
	}
	unresolved, err := s.ListUnresolved(ctx, storeT0.Add(time.Second), storeT0, 100)
	if err != nil || len(unresolved) != 2 {
		t.Fatalf("ListUnresolved = %d records, %v; want the 2 pending", len(unresolved), err)
	}
	if unresolved, err := s.ListUnresolved(ctx, storeT0, storeT0, 100); err != nil || len(unresolved) != 0 {
		t.Fatalf("ListUnresolved before they were made = %d records, %v", len(unresolved), err)
	}

	// A postponed order is left out until it is due, then comes after
	// those never postponed, with its attempt counted.
	later := storeT0.Add(time.Minute)
	if err := s.Postpone(ctx, unresolved[0].ID, orderservice.StatusPending, later); err != nil {
		t.Fatal(err)
	}
	if err := s.Postpone(ctx, unresolved[0].ID, orderservice.StatusCancelling, later); !errors.Is(err, orderservice.ErrStateChanged) {
		t.Fatalf("Postpone from the wrong status = %v, want ErrStateChanged", err)
	}
	if due, err := s.ListUnresolved(ctx, storeT0.Add(time.Second), storeT0, 100); err != nil || len(due) != 1 || due[0].ID != unresolved[1].ID {
		t.Fatalf("ListUnresolved while one is postponed = %+v, %v; want only %s", due, err, unresolved[1].ID)
	}
	due, err := s.ListUnresolved(ctx, storeT0.Add(time.Second), later, 100)
	if err != nil || len(due) != 2 || due[1].ID != unresolved[0].ID || due[1].Attempts != 1 {
		t.Fatalf("ListUnresolved once it is due = %+v, %v; want %s last with 1 attempt", due, err, unresolved[0].ID)
	}
}

// Two instances create orders under one key at once: one order exists.
func testOrderConcurrentSameKey(t *testing.T, url string) {
	stores := []*orderstore.Store{openOrderStore(t, url), openOrderStore(t, url)}
	const n = 16
	errs := make([]error, n)
	records := make([]orderservice.Record, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		records[i] = pendingRecord("contested", item("prd_a", 1))
		wg.Go(func() {
			<-start
			errs[i] = stores[i%2].CreatePending(context.Background(), records[i])
		})
	}
	close(start)
	wg.Wait()
	won := ""
	for i, err := range errs {
		switch {
		case err == nil:
			if won != "" {
				t.Fatalf("two orders hold one key: %s and %s", won, records[i].ID)
			}
			won = records[i].ID
		case !errors.Is(err, orderservice.ErrKeyTaken):
			t.Fatalf("creator %d: %v", i, err)
		}
	}
	if r, err := stores[1].GetByKey(context.Background(), "contested"); err != nil || r.ID != won {
		t.Fatalf("GetByKey = %s, %v; want %s", r.ID, err, won)
	}
}

// Resolvers on two instances race to confirm, reject and cancel the same
// orders: exactly one terminal change wins each order.
func testOrderConcurrentResolvers(t *testing.T, url string) {
	stores := []*orderstore.Store{openOrderStore(t, url), openOrderStore(t, url)}
	ctx := context.Background()
	const n = 20
	var orders []string
	for range n {
		r := pendingRecord("", item("prd_a", 1))
		if err := stores[0].CreatePending(ctx, r); err != nil {
			t.Fatal(err)
		}
		orders = append(orders, r.ID)
	}
	wins := make([][3]bool, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, id := range orders {
		attempts := []func(s *orderstore.Store) error{
			func(s *orderstore.Store) error { return s.Confirm(ctx, id, nil, 0, "rsv") },
			func(s *orderstore.Store) error { return s.Reject(ctx, id, "x", "y") },
			func(s *orderstore.Store) error { return s.Cancel(ctx, id) },
		}
		for k, attempt := range attempts {
			wg.Go(func() {
				<-start
				err := attempt(stores[(i+k)%2])
				switch {
				case err == nil:
					wins[i][k] = true
				case !errors.Is(err, orderservice.ErrStateChanged):
					t.Errorf("order %s, change %d: %v", id, k, err)
				}
			})
		}
	}
	close(start)
	wg.Wait()
	for i, id := range orders {
		won := 0
		for _, w := range wins[i] {
			if w {
				won++
			}
		}
		r, err := stores[1].Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]string{0: orderservice.StatusConfirmed, 1: orderservice.StatusRejected, 2: orderservice.StatusCancelled}
		if won != 1 {
			t.Fatalf("order %s: %d changes won (%v), want exactly 1; status %s", id, won, wins[i], r.Status)
		}
		for k, w := range wins[i] {
			if w && r.Status != want[k] {
				t.Fatalf("order %s: change %d won but the status is %s", id, k, r.Status)
			}
		}
	}
}
