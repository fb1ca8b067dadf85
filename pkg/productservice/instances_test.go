package productservice

// Several instances of the service on one database (CONTRACT.md, "Several
// instances"): each instance its own store, so its own connection pool, on
// one SQLite file or one PostgreSQL database, racing. What one instance
// does alone the storage suite checks; here every reservation must still
// end once, every key have one outcome, and every settled record be purged
// once, with no SQLite writer failing for want of the lock (a 503).
// Expiry is instances_expiry_test.go's, the purge instances_purge_test.go's;
// instances_process_test.go runs the instances as separate OS processes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// forEachBackend runs fn on a new, empty database of each engine: a SQLite
// file, and a PostgreSQL database (skipped where there is none, see
// internal/pgtest).
func forEachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite:"+filepath.Join(t.TempDir(), "products.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.URL(t)) })
}

// openInstances opens n stores on the database at url at once, as n
// instances of the service starting together would (their migrations race
// too).
func openInstances(t *testing.T, url string, n int) []SQLStore {
	t.Helper()
	stores := make([]SQLStore, n)
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
	return stores
}

// Buyers on three instances reserve several products each, listed in any
// order, against scarce stock: stock never goes negative, a reservation
// takes all its lines or none, no transaction deadlocks or fails for the
// lock, and what was taken is exactly what the held reservations hold.
func TestReservationsAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		stores := openInstances(t, url, 3)
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
	})
}

// The same reservation requests, under a handful of keys, sent over HTTP
// to three instances at once, several times each: every key takes its
// stock once and has one reservation; every answer is that reservation,
// byte for byte, or 409 request_in_progress, never a 5xx; and afterwards
// every instance replays it.
func TestSameKeyOverHTTPAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, url string) {
		stores := openInstances(t, url, 3)
		handlers := make([]http.Handler, len(stores))
		for i, s := range stores {
			handlers[i] = NewHTTPHandler(NewEndpointSet(NewService(s), testkit.AsAdmin), transport.Ops{Cursors: testCursors})
		}
		const initial = 1000
		p := mustCreateProduct(t, NewService(stores[0]), "popular", 100, initial)
		const keys, repeats = 6, 3
		body := func(k int) string {
			return fmt.Sprintf(`{"order_id":"ord_%d","items":[{"product_id":%q,"quantity":%d}]}`, k, p.ID, k+1)
		}
		post := func(h http.Handler, k int) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodPost, "/v1/reservations", strings.NewReader(body(k)))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Idempotency-Key", fmt.Sprintf("key-%d", k))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			return w
		}
		answers := make([][]*httptest.ResponseRecorder, keys)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for k := range keys {
			answers[k] = make([]*httptest.ResponseRecorder, len(handlers)*repeats)
			for j := range answers[k] {
				wg.Go(func() {
					<-start
					answers[k][j] = post(handlers[j%len(handlers)], k)
				})
			}
		}
		close(start)
		wg.Wait()

		var taken int64
		for k := range keys {
			var first string
			created := 0
			for j, w := range answers[k] {
				switch {
				case w.Code == http.StatusCreated:
					created++
					if first == "" {
						first = w.Body.String()
					} else if w.Body.String() != first {
						t.Errorf("key %d: two answers %s and %s", k, first, w.Body)
					}
				case w.Code == http.StatusConflict && errorCode(w) == kitshop.CodeRequestInProgress:
				default:
					t.Errorf("key %d, instance %d: %d %s, want 201 or 409 request_in_progress", k, j%len(handlers), w.Code, w.Body)
				}
			}
			// Every instance replays the one reservation, as first answered.
			for i, h := range handlers {
				w := post(h, k)
				if w.Code != http.StatusCreated || (first != "" && w.Body.String() != first) {
					t.Errorf("key %d: replay on instance %d = %d %s, want 201 %s", k, i, w.Code, w.Body, first)
				}
				if first == "" {
					first = w.Body.String()
				}
			}
			var r Reservation
			if err := json.Unmarshal([]byte(first), &r); err != nil || r.OrderID != fmt.Sprintf("ord_%d", k) {
				t.Fatalf("key %d: reservation %s, %v", k, first, err)
			}
			taken += int64(k + 1)
			t.Logf("key %d: %d of %d concurrent sends answered 201, the others 409", k, created, len(answers[k]))
		}
		all, err := stores[1].ListReservations(context.Background(), "", "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		orders := map[string]int{}
		for _, r := range all {
			orders[r.OrderID]++
		}
		if len(all) != keys || len(orders) != keys {
			t.Fatalf("%d reservations for %d orders, want one for each of %d keys", len(all), len(orders), keys)
		}
		if s := stockOf(t, NewService(stores[2]), p.ID); s != initial-taken {
			t.Fatalf("stock %d, want %d: each key's stock taken once", s, initial-taken)
		}
	})
}

// errorCode is the code of an error body, or "".
func errorCode(w *httptest.ResponseRecorder) kitshop.Code {
	var body struct {
		Error struct {
			Code kitshop.Code `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return body.Error.Code
}
