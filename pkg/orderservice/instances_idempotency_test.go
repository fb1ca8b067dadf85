package orderservice_test

// One Idempotency-Key sent to several instances at once: see
// instances_test.go.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/transport"
)

// The same order requests, under a handful of keys, sent over HTTP to
// three instances at once, several times each: each key makes one order,
// which takes its stock once; every answer is that order, byte for byte,
// or says the first request is still running: 409 request_in_progress
// from the instance running it, 503 unavailable (no dependency blamed)
// from another, which cannot tell it from an order a crash left; and
// afterwards every instance replays it.
func TestSameKeyAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, dbs databases) {
		c := newCluster(t, dbs)
		u := c.user()
		p := c.product(100, 1000)
		handlers := make([]http.Handler, len(c.orders))
		for i, o := range c.orders {
			handlers[i] = orderservice.NewHTTPHandler(orderservice.NewEndpointSet(o, testkit.AsAdmin), transport.Ops{Cursors: testCursors})
		}
		const keys, repeats = 5, 3
		post := func(h http.Handler, k int) *httptest.ResponseRecorder {
			body := fmt.Sprintf(`{"user_id":%q,"items":[{"product_id":%q,"quantity":%d}]}`, u.ID, p.ID, k+1)
			r := httptest.NewRequest(http.MethodPost, "/v1/orders", strings.NewReader(body))
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

		tally := map[string]int{}
		for k := range keys {
			first := ""
			for j, w := range answers[k] {
				code, _, dependency := errorCode(t, orEmptyError(w))
				switch {
				case w.Code == http.StatusCreated:
					if first != "" && w.Body.String() != first {
						t.Errorf("key %d: two answers %s and %s", k, first, w.Body)
					}
					first = w.Body.String()
				case w.Code == http.StatusConflict && code == string(kitshop.CodeRequestInProgress):
				case w.Code == http.StatusServiceUnavailable && code == string(kitshop.CodeUnavailable) && dependency == "" &&
					w.Header().Get("Retry-After") != "":
				default:
					t.Errorf("key %d, instance %d: %d %s", k, j%len(handlers), w.Code, w.Body)
				}
				tally[fmt.Sprintf("%d %s", w.Code, code)]++
			}
			for i, h := range handlers {
				w := post(h, k)
				if w.Code != http.StatusCreated || (first != "" && w.Body.String() != first) {
					t.Errorf("key %d: replay on instance %d = %d %s, want 201 %s", k, i, w.Code, w.Body, first)
				}
				first = w.Body.String()
			}
		}
		var orders, confirmed int
		db := c.store.DB()
		if err := db.QueryRow(`SELECT COUNT(*), COUNT(CASE WHEN status = 'confirmed' THEN 1 END) FROM orders`).Scan(&orders, &confirmed); err != nil {
			t.Fatal(err)
		}
		if orders != keys || confirmed != keys {
			t.Fatalf("%d orders, %d confirmed; want one confirmed order for each of %d keys", orders, confirmed, keys)
		}
		for orderID, rs := range c.reservations() {
			if calls := c.calls.of(orderID); len(rs) != 1 || calls.confirmed != 1 || calls.reservationReleased != 0 {
				t.Errorf("order %s: %d reservations, confirmed x%d, reservation released x%d", orderID, len(rs), calls.confirmed, calls.reservationReleased)
			}
		}
		c.checkStock(p)
		t.Logf("answers to %d concurrent sends: %v", keys*len(handlers)*repeats, tally)
	})
}

// orEmptyError is w's body, or an empty error body for a success.
func orEmptyError(w *httptest.ResponseRecorder) string {
	if w.Code < 400 {
		return `{"error":{}}`
	}
	return w.Body.String()
}
