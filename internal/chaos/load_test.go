package chaos

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeOrders is an ordersvc stand-in: it answers each key's first n tries
// with 503 (Retry-After 1), then 201 with an order ID, after delay.
type fakeOrders struct {
	failFirst int
	delay     time.Duration
	mu        sync.Mutex
	tries     map[string]int
	keyless   atomic.Int64
}

func (f *fakeOrders) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || r.Header.Get("X-Request-ID") == "" {
		f.keyless.Add(1)
	}
	f.mu.Lock()
	f.tries[key]++
	n := f.tries[key]
	f.mu.Unlock()
	time.Sleep(f.delay)
	w.Header().Set("Content-Type", "application/json")
	if n <= f.failFirst {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "dependency_unavailable", "dependency": "user"}})
		return
	}
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"id": "ord-" + key})
}

func (f *fakeOrders) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries[key]
}

func newFake(t *testing.T, failFirst int, delay time.Duration) (*fakeOrders, *httptest.Server) {
	f := &fakeOrders{failFirst: failFirst, delay: delay, tries: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func testWorkload() *workload {
	return newWorkload("t", 1, []customer{{ID: "usr_a", Token: "tok_a"}, {ID: "usr_b", Token: "tok_b"}}, "tok_admin", []string{"prd_a", "prd_b", "prd_c"}, "prd_none")
}

func TestOpenLoopKeepsItsRateWhateverTheLatency(t *testing.T) {
	// Answers take 200ms; a closed loop of one client would manage 5/s.
	f, srv := newFake(t, 0, 200*time.Millisecond)
	start := time.Now()
	since := func() Millis { return Millis(time.Since(start)) }
	g := newLoadGen(srv.URL, 2*time.Second, 50, since)
	defer g.close()
	stop := make(chan struct{})
	time.AfterFunc(time.Second, func() { close(stop) })
	wl := testWorkload()
	g.openLoop(context.Background(), 50, stop, wl.next)
	g.wait()
	exs := g.Exchanges()
	if n := len(exs); n < 45 || n > 52 {
		t.Errorf("%d requests in 1s at 50/s", n)
	}
	for _, e := range exs {
		if e.Status != 201 || e.OrderID != "ord-"+e.Key || e.Latency.D() < 200*time.Millisecond {
			t.Fatalf("exchange %+v", e)
		}
	}
	if f.keyless.Load() != 0 {
		t.Error("requests without Idempotency-Key or X-Request-ID")
	}
}

func TestOpenLoopIsBoundedInFlight(t *testing.T) {
	_, srv := newFake(t, 0, 300*time.Millisecond)
	g := newLoadGen(srv.URL, time.Second, 10, func() Millis { return 0 })
	defer g.close()
	g.maxInflight = 3
	wl := testWorkload()
	for range 5 {
		g.fire(context.Background(), wl.next(), kindLoad)
	}
	g.wait()
	saturated := 0
	for _, e := range g.Exchanges() {
		if e.Error == "saturated" {
			saturated++
		}
	}
	if saturated != 2 {
		t.Errorf("%d saturated of 5 with room for 3", saturated)
	}
}

func TestClientTimeoutIsMeasured(t *testing.T) {
	_, srv := newFake(t, 0, 500*time.Millisecond)
	g := newLoadGen(srv.URL, 100*time.Millisecond, 10, func() Millis { return 0 })
	defer g.close()
	e := g.send(context.Background(), testWorkload().next(), kindLoad)
	if e.Status != 0 || e.Error != "timeout" || e.Latency.D() < 100*time.Millisecond || e.Definitive() || e.OK() {
		t.Errorf("exchange %+v", e)
	}
}

func TestRedriveUntilDefinitive(t *testing.T) {
	f, srv := newFake(t, 2, 0)
	g := newLoadGen(srv.URL, time.Second, 10, func() Millis { return 0 })
	defer g.close()
	wl := testWorkload()
	reqs := map[string]orderRequest{}
	for range 3 {
		r := wl.next()
		reqs[r.Key] = r
		if e := g.send(context.Background(), r, kindLoad); e.Status != 503 || e.Definitive() {
			t.Fatalf("first try %+v", e)
		}
	}
	keys := undecided(g.Exchanges())
	if len(keys) != 3 {
		t.Fatalf("undecided %v", keys)
	}
	left := redrive(context.Background(), g, reqs, keys, 10*time.Second)
	if len(left) != 0 || len(undecided(g.Exchanges())) != 0 {
		t.Errorf("left %v", left)
	}
	for _, k := range keys {
		if n := f.count(k); n != 3 {
			t.Errorf("key %s tried %d times, want 3", k, n)
		}
	}
	ids := map[string]bool{}
	for _, e := range g.Exchanges() {
		ids[e.RequestID] = true
	}
	if len(ids) != 9 {
		t.Errorf("%d distinct request IDs for 9 requests", len(ids))
	}
}

func TestRedriveGivesUp(t *testing.T) {
	_, srv := newFake(t, 1000, 0)
	g := newLoadGen(srv.URL, time.Second, 10, func() Millis { return 0 })
	defer g.close()
	r := testWorkload().next()
	left := redrive(context.Background(), g, map[string]orderRequest{r.Key: r}, []string{r.Key}, 300*time.Millisecond)
	if len(left) != 1 {
		t.Errorf("left %v, want the key", left)
	}
}

func TestWorkload(t *testing.T) {
	a, b := testWorkload(), testWorkload()
	bad := 0
	for range 2000 {
		ra, rb := a.next(), b.next()
		if ra.Key != rb.Key || ra.Body.UserID != rb.Body.UserID || len(ra.Body.Items) != len(rb.Body.Items) {
			t.Fatal("same seed, different load")
		}
		if n := len(ra.Body.Items); n < 1 || n > 2 || (n == 2 && ra.Body.Items[0].ProductID == ra.Body.Items[1].ProductID) {
			t.Fatalf("items %v", ra.Body.Items)
		}
		for _, it := range ra.Body.Items {
			if it.Quantity < 1 || it.Quantity > 3 {
				t.Fatalf("quantity %d", it.Quantity)
			}
		}
		if ra.Bad {
			bad++
			if ra.Body.Items[len(ra.Body.Items)-1].ProductID != "prd_none" {
				t.Fatal("bad request without the unknown product")
			}
		}
	}
	if bad < 50 || bad > 150 {
		t.Errorf("%d bad requests of 2000, want about 5%%", bad)
	}
	if p := a.probe(true); !p.Bad || p.Body.UserID == "usr_a" || p.Body.UserID == "usr_b" {
		t.Errorf("unknown-user probe %+v", p)
	}
}

func TestDefinitive(t *testing.T) {
	tests := []struct {
		e    Exchange
		want bool
	}{
		{Exchange{Status: 201}, true},
		{Exchange{Status: 422, Code: "unknown_product"}, true},
		{Exchange{Status: 409, Code: "insufficient_stock"}, true},
		{Exchange{Status: 409, Code: "request_in_progress"}, false},
		{Exchange{Status: 503}, false},
		{Exchange{Status: 500}, false},
		{Exchange{Error: "reset"}, false},
	}
	for _, tt := range tests {
		if got := tt.e.Definitive(); got != tt.want {
			t.Errorf("%+v definitive = %v", tt.e, got)
		}
	}
}
