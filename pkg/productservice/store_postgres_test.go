package productservice

// What only a real PostgreSQL server exercises: several service instances
// (each its own store and connection pool) on one database, and sessions
// that die mid-transaction. The storage suite (store_suite*_test.go) runs
// on PostgreSQL too, through TestPostgresStore.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// openInstances opens n stores on one new PostgreSQL database at once, as
// n instances of the service starting together would (their migrations
// race too).
func openInstances(t *testing.T, n int) (url string, stores []SQLStore) {
	t.Helper()
	url = pgtest.URL(t)
	stores = make([]SQLStore, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = OpenSQLStore(context.Background(), url) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("instance %d: open store: %v", i, errs[i])
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	return url, stores
}

// Buyers on three instances reserve several products each, listed in any
// order, against scarce stock: stock never goes negative, a reservation
// takes all its lines or none, no transaction deadlocks, and what was taken
// is exactly what the held reservations hold.
func TestPostgresReservationsAcrossInstances(t *testing.T) {
	_, stores := openInstances(t, 3)
	svcs := make([]Service, len(stores))
	for i, s := range stores {
		svcs[i] = NewService(s)
	}
	const initial = 15
	var products []string
	for range 4 {
		products = append(products, mustCreateProduct(t, svcs[0], "scarce", 100, initial).ID)
	}
	const buyersPerInstance = 20
	type outcome struct {
		items []ReserveItem
		err   error
	}
	outcomes := make([]outcome, len(svcs)*buyersPerInstance)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range outcomes {
		svc := svcs[i%len(svcs)]
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		picked := slices.Clone(products)
		rng.Shuffle(len(picked), func(a, b int) { picked[a], picked[b] = picked[b], picked[a] })
		var items []ReserveItem
		for _, id := range picked[:2+rng.IntN(3)] {
			items = append(items, ReserveItem{ProductID: id, Quantity: 1 + rng.Int64N(3)})
		}
		outcomes[i].items = items
		wg.Go(func() {
			<-start
			_, outcomes[i].err = svc.Reserve(context.Background(), ReserveRequest{
				IdempotencyKey: fmt.Sprintf("buyer-%d", i), OrderID: fmt.Sprintf("ord_%d", i), Items: items})
		})
	}
	close(start)
	wg.Wait()

	taken := map[string]int64{}
	succeeded := 0
	for i, o := range outcomes {
		switch {
		case o.err == nil:
			succeeded++
			for _, it := range o.items {
				taken[it.ProductID] += it.Quantity
			}
		case errors.Is(o.err, ErrInsufficientStock):
		default:
			t.Errorf("buyer %d: %v", i, o.err)
		}
	}
	if succeeded == 0 {
		t.Fatal("no buyer got anything")
	}
	held := reservedQuantities(t, svcs[1], StatusHeld)
	for _, id := range products {
		stock := stockOf(t, svcs[2], id)
		if stock < 0 || stock+taken[id] != initial || held[id] != taken[id] {
			t.Errorf("product %s: stock %d, taken by the successful buyers %d, held %d; initial %d",
				id, stock, taken[id], held[id], initial)
		}
	}
}

// The same request sent to three instances at once, many times: the key
// is claimed once, the stock taken once, and every answer is that
// reservation or "in progress".
func TestPostgresSameKeyAcrossInstances(t *testing.T) {
	_, stores := openInstances(t, 3)
	p := mustCreateProduct(t, NewService(stores[0]), "popular", 100, 10)
	const repeats = 30
	results := make([]Reservation, repeats)
	errs := make([]error, repeats)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range repeats {
		svc := NewService(stores[i%len(stores)])
		wg.Go(func() {
			<-start
			results[i], errs[i] = reserveOne(context.Background(), svc, "same-key", p.ID, 3)
		})
	}
	close(start)
	wg.Wait()
	id := ""
	for i, err := range errs {
		switch {
		case err == nil:
			if id != "" && results[i].ID != id {
				t.Fatalf("two reservations for one key: %s and %s", id, results[i].ID)
			}
			id = results[i].ID
		case errors.Is(err, ErrRequestInProgress):
		default:
			t.Fatalf("repeat %d: %v", i, err)
		}
	}
	svc := NewService(stores[2])
	if r, err := reserveOne(context.Background(), svc, "same-key", p.ID, 3); err != nil || (id != "" && r.ID != id) {
		t.Fatalf("replay = %s, %v; want %s", r.ID, err, id)
	}
	if s := stockOf(t, svc, p.ID); s != 7 {
		t.Fatalf("stock = %d, want 7 (taken once)", s)
	}
}

// Three instances' sweepers, and releases and confirmations from all
// three, race over the same expired and unexpired reservations: each
// reservation ends once, its stock comes back at most once, and the
// sweepers' counts add up to the reservations they expired.
func TestPostgresSweepersAcrossInstances(t *testing.T) {
	_, stores := openInstances(t, 3)
	clock := newFakeClock()
	svc := NewService(stores[0], WithClock(clock.Now), WithReservationTTL(time.Second))
	const initial, n = 1000, 120
	p := mustCreateProduct(t, svc, "swept", 100, initial)
	var rs []Reservation
	for i := range n {
		r, err := reserveOne(context.Background(), svc, fmt.Sprintf("k%d", i), p.ID, 2)
		if err != nil {
			t.Fatalf("reserve: %v", err)
		}
		rs = append(rs, r)
	}
	later := clock.Now().Add(2 * time.Second) // all of them are past their expiry
	var wg sync.WaitGroup
	var mu sync.Mutex
	swept := 0
	start := make(chan struct{})
	for _, s := range stores {
		for range 2 {
			wg.Go(func() {
				<-start
				k, err := s.ExpireReservations(context.Background(), later)
				if err != nil {
					t.Errorf("expire: %v", err)
				}
				mu.Lock()
				swept += k
				mu.Unlock()
			})
		}
	}
	// Meanwhile confirmations (refused: expired) and releases of some.
	released := 0
	for i, r := range rs {
		if i%3 != 0 {
			continue
		}
		s := stores[i%len(stores)]
		wg.Go(func() {
			<-start
			if _, err := s.ConfirmReservation(context.Background(), r.ID, later); !errors.Is(err, ErrReservationExpired) {
				t.Errorf("confirm of an expired reservation: %v", err)
			}
		})
		released++
		wg.Go(func() {
			<-start
			if err := s.ReleaseReservation(context.Background(), r.ID, later); err != nil {
				t.Errorf("release: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	counts := map[string]int{}
	for _, status := range []string{StatusHeld, StatusConfirmed, StatusReleased, StatusExpired} {
		list, err := stores[1].ListReservations(context.Background(), status, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		counts[status] = len(list)
	}
	if counts[StatusHeld] != 0 || counts[StatusConfirmed] != 0 || counts[StatusReleased]+counts[StatusExpired] != n {
		t.Fatalf("final states %v, want all %d released or expired", counts, n)
	}
	if swept > counts[StatusExpired] || counts[StatusExpired] > n {
		t.Fatalf("sweepers counted %d expirations, %d reservations are expired", swept, counts[StatusExpired])
	}
	if s := stockOf(t, svc, p.ID); s != initial {
		t.Fatalf("stock %d, want %d: every reservation's stock back exactly once", s, initial)
	}
}

// A session killed mid-reservation (pg_terminate_backend from another
// connection, while the reservation holds the stock of some lines and
// waits for the last) commits nothing: no line's stock is taken, no
// reservation is left, and the same request retried then succeeds once.
func TestPostgresSessionKilledMidReservation(t *testing.T) {
	url := pgtest.URL(t)
	store := openStore(t, url)
	svc := NewService(store)
	var ids []string
	for range 3 {
		ids = append(ids, mustCreateProduct(t, svc, "widget", 100, 10).ID)
	}
	slices.Sort(ids) // stock is taken in product ID order: ids[2] last

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One session holds the lock, another watches: pg_stat_activity is
	// read once per transaction, so the watcher must not be in one.
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	locker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(context.Background())
	blocker, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM products WHERE id = $1 FOR UPDATE`, ids[2]); err != nil {
		t.Fatal(err)
	}

	req := ReserveRequest{IdempotencyKey: "killed", OrderID: "ord_killed", Items: []ReserveItem{
		{ProductID: ids[2], Quantity: 4}, {ProductID: ids[0], Quantity: 4}, {ProductID: ids[1], Quantity: 4}}}
	done := make(chan error, 1)
	go func() {
		_, err := svc.Reserve(ctx, req)
		done <- err
	}()

	// The reservation has taken ids[0] and ids[1] and waits for ids[2]'s
	// row lock: end its session.
	var pid int
	waitFor(t, 10*time.Second, "the reservation to wait for the locked product", func() bool {
		err := admin.QueryRow(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()
			AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE products%'`).Scan(&pid)
		return err == nil
	})
	var terminated bool
	if err := admin.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&terminated); err != nil || !terminated {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, terminated, err)
	}
	err = <-done
	var e *kitshop.Error
	// A session the server terminated is storage gone for now: 503.
	if !errors.As(err, &e) || e.Code != kitshop.CodeUnavailable || e.RetryAfter <= 0 {
		t.Fatalf("reserve on a killed session = %v, want unavailable with Retry-After", err)
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if s := stockOf(t, svc, id); s != 10 {
			t.Fatalf("product %s: stock %d after the killed reservation, want 10 (nothing taken)", id, s)
		}
	}
	if rs, err := store.ListReservations(ctx, "", "", 10); err != nil || len(rs) != 0 {
		t.Fatalf("reservations after the killed one: %v, %v", rs, err)
	}

	// The claim was dropped: the retry runs, and takes the stock once.
	r, err := svc.Reserve(ctx, req)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if again, err := svc.Reserve(ctx, req); err != nil || again.ID != r.ID {
		t.Fatalf("replay = %s, %v; want %s", again.ID, err, r.ID)
	}
	for _, id := range ids {
		if s := stockOf(t, svc, id); s != 6 {
			t.Fatalf("product %s: stock %d after the retry, want 6", id, s)
		}
	}
}
