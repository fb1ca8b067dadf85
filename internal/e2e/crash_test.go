package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type product struct {
	ID    string `json:"id"`
	Stock int64  `json:"stock"`
}

type reservation struct {
	ID      string `json:"id"`
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}

type orderBody struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// TestOrderServiceKilledBetweenReserveAndConfirm kills ordersvc the moment
// it asks productsvc to confirm a reservation it holds, restarts it, and
// checks that the order is finished exactly once: the client's retry gets
// the confirmed order, the stock is taken once, and the reservation and the
// order agree.
func TestOrderServiceKilledBetweenReserveAndConfirm(t *testing.T) {
	var s *stack
	var killed atomic.Bool
	proxy := func(target string) string {
		u, _ := url.Parse(target)
		rp := httputil.NewSingleHostReverseProxy(u)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/confirm") && killed.CompareAndSwap(false, true) {
				p := s.procs["ordersvc"]
				_ = p.Kill()
				<-p.Done()
				http.Error(w, "ordersvc is dead", http.StatusBadGateway)
				return
			}
			rp.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	s = startStack(t, proxy, "REQUEST_TIMEOUT=2s", "RECOVERY_INTERVAL=200ms")

	var u struct{ ID string }
	if code := call(t, "POST", s.users+"/v1/users", map[string]string{"name": "Ada", "email": "ada@example.com", "password": "correct horse"}, nil, &u); code != 201 {
		t.Fatalf("create user: %d", code)
	}
	admin := s.admin()
	var p product
	if code := call(t, "POST", s.products+"/v1/products", map[string]any{"name": "Widget", "price_cents": 500, "stock": 10}, admin, &p); code != 201 {
		t.Fatalf("create product: %d", code)
	}
	body := map[string]any{"user_id": u.ID, "items": []map[string]any{{"product_id": p.ID, "quantity": 3}}}
	ada := s.signIn("ada@example.com", "correct horse")
	key := map[string]string{"Idempotency-Key": "crash-1", "Authorization": ada["Authorization"]}

	// The first try dies with ordersvc.
	req, _ := http.NewRequest("POST", s.orders+"/v1/orders", strings.NewReader(`{"user_id":"`+u.ID+`","items":[{"product_id":"`+p.ID+`","quantity":3}]}`))
	req.Header.Set("Idempotency-Key", "crash-1")
	req.Header.Set("Authorization", ada["Authorization"])
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("first try answered %d; want the connection to die with ordersvc", resp.StatusCode)
	}
	if !killed.Load() {
		t.Fatal("ordersvc was never killed")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	select {
	case <-s.procs["ordersvc"].Done():
	case <-ctx.Done():
		t.Fatal("ordersvc did not die")
	}
	if err := s.procs["ordersvc"].Restart(ctx); err != nil {
		t.Fatal(err)
	}
	s.waitReady(s.procs["ordersvc"], s.orders)
	// The orphan is pending until the recovery loop or the client's retry
	// takes it forward; nothing is being undone.
	if pending, cancelling := unresolvedOrders(t, s.orders); pending > 1 || cancelling != 0 {
		t.Fatalf("after the restart orders_unresolved = %d pending, %d cancelling; want at most the one orphan", pending, cancelling)
	}

	// Retries get 503 while the order is being resolved, then the order.
	var got orderBody
	for {
		code := call(t, "POST", s.orders+"/v1/orders", body, key, &got)
		if code == 201 {
			break
		}
		if code != 503 && code != 409 {
			t.Fatalf("retry answered %d", code)
		}
		if ctx.Err() != nil {
			t.Fatal("order not resolved in time")
		}
		time.Sleep(100 * time.Millisecond) // polling interval, bounded by ctx
	}
	if got.Status != "confirmed" {
		t.Fatalf("order = %+v", got)
	}

	// Exactly one order, its reservation confirmed, stock taken once.
	var orders struct{ Items []orderBody }
	call(t, "GET", s.orders+"/v1/orders?limit=500", nil, admin, &orders)
	if len(orders.Items) != 1 || orders.Items[0].ID != got.ID {
		t.Fatalf("orders = %+v, want only %s", orders.Items, got.ID)
	}
	var confirmed, held struct{ Items []reservation }
	call(t, "GET", s.products+"/v1/reservations?status=confirmed&limit=500", nil, admin, &confirmed)
	call(t, "GET", s.products+"/v1/reservations?status=held&limit=500", nil, admin, &held)
	if len(confirmed.Items) != 1 || confirmed.Items[0].OrderID != got.ID || len(held.Items) != 0 {
		t.Fatalf("confirmed reservations %+v, held %+v; want one for %s", confirmed.Items, held.Items, got.ID)
	}
	var after product
	call(t, "GET", s.products+"/v1/products/"+p.ID, nil, nil, &after)
	if after.Stock != 7 {
		t.Fatalf("stock = %d, want 7", after.Stock)
	}
	if pending, cancelling := unresolvedOrders(t, s.orders); pending != 0 || cancelling != 0 {
		t.Fatalf("orders_unresolved = %d pending, %d cancelling; want none", pending, cancelling)
	}
}

// unresolvedOrders reads ordersvc's orders_unresolved gauge; the test fails
// if it is missing.
func unresolvedOrders(t *testing.T, base string) (pending, cancelling int) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, line := range strings.Split(string(b), "\n") {
		var n int
		if _, err := fmt.Sscanf(line, `orders_unresolved{status="pending"} %d`, &n); err == nil {
			pending, seen = n, seen+1
		} else if _, err := fmt.Sscanf(line, `orders_unresolved{status="cancelling"} %d`, &n); err == nil {
			cancelling, seen = n, seen+1
		}
	}
	if seen != 2 {
		t.Fatalf("/metrics has no orders_unresolved for pending and cancelling:\n%s", b)
	}
	return pending, cancelling
}
