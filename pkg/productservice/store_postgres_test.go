package productservice

// What only a real PostgreSQL server exercises: sessions that die
// mid-transaction. The storage suite (store_suite*_test.go) runs on
// PostgreSQL too, through TestPostgresStore; several instances on one
// database, on either engine, are instances_test.go's.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

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
