package containertest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"testing"
	"time"
)

const (
	// fastAnswer bounds a 503 from an open breaker as the client sees it,
	// through the gateway and Docker's port forwarding.
	fastAnswer = 50 * time.Millisecond
	// hiccup is what one of a series of fast answers may take instead, on a
	// machine whose cores are shared.
	hiccup = 250 * time.Millisecond
	// boundedAnswer is the contract's bound on any inbound request.
	boundedAnswer = requestTimeout + 100*time.Millisecond
	// recoveryBound is how soon orders succeed again once a dependency is
	// back: the breaker's open timeout and the contract's 2s, plus a second
	// for the container to start.
	recoveryBound = breakerOpenTimeout + 3*time.Second
)

// TestContainers runs docker-compose.yml and walks through the shop and its
// faults, phase after phase; a phase that fails ends the test.
func TestContainers(t *testing.T) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	budget := 255 * time.Second // the whole test stays under five minutes, teardown included
	if d, ok := t.Deadline(); ok && time.Until(d)-45*time.Second < budget {
		budget = time.Until(d) - 45*time.Second
		if budget < 135*time.Second {
			skipLoudly(t, fmt.Sprintf("go test -timeout leaves %s; the container test needs up to 5m", time.Until(d).Round(time.Second)))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	w := &walk{s: startStack(ctx, t), c: newClient()}
	for _, phase := range []struct {
		name string
		run  func(context.Context, *testing.T)
	}{
		{"walk-through", w.walkThrough},
		{"kill usersvc", w.killUsers},
		{"start usersvc", w.startUsers},
		{"pause productsvc", w.pauseProducts},
		{"unpause productsvc", w.unpauseProducts},
		{"restart ordersvc", w.restartOrders},
		{"stock and orders add up", w.consistent},
		{"scale out, kill an instance of each", w.scaleOut},
		{"stock and orders add up with three instances", w.consistent},
		{"chaos -target compose", w.chaosAgainstCompose},
	} {
		if !t.Run(phase.name, func(t *testing.T) { phase.run(ctx, t) }) {
			t.FailNow()
		}
	}
}

// walk is the state the phases share.
type walk struct {
	s             *stack
	c             *client
	user, product string
	initialStock  int
	first         order    // the walk-through's order, made with firstKey
	accepted      []string // every order answered 201
}

const firstKey = "containertest-first-order"

func (w *walk) orderBody(quantity int) map[string]any {
	return map[string]any{"user_id": w.user, "items": []item{{ProductID: w.product, Quantity: quantity}}}
}

// order sends one order for one item; a 201 is remembered.
func (w *walk) order(ctx context.Context, t *testing.T) answer {
	t.Helper()
	a, err := w.c.do(ctx, http.MethodPost, w.s.gateway+"/v1/orders", w.orderBody(1), "")
	if err != nil {
		t.Fatal(err)
	}
	if a.status == http.StatusCreated {
		var o order
		if err := a.decode(&o); err != nil {
			t.Fatal(err)
		}
		w.accepted = append(w.accepted, o.ID)
	}
	return a
}

func (w *walk) walkThrough(ctx context.Context, t *testing.T) {
	var u user
	if err := w.c.create(ctx, w.s.gateway+"/v1/users", map[string]any{
		"name": "Ada Lovelace", "email": "ada@example.com", "password": "analytical-engine"}, &u); err != nil {
		t.Fatal(err)
	}
	// The admin (ADMIN_EMAIL, ADMIN_PASSWORD from the environment, as an
	// .env file gives them) adds the product; Ada orders for herself.
	if err := w.c.signIn(ctx, w.s.gateway, adminEmail, w.s.adminPassword); err != nil {
		t.Fatal(err)
	}
	w.initialStock = 1000
	var p product
	if err := w.c.create(ctx, w.s.gateway+"/v1/products", map[string]any{
		"name": "Difference engine", "price_cents": 125000, "stock": w.initialStock}, &p); err != nil {
		t.Fatal(err)
	}
	if err := w.c.signIn(ctx, w.s.gateway, "ada@example.com", "analytical-engine"); err != nil {
		t.Fatal(err)
	}
	w.user, w.product = u.ID, p.ID
	for i := range 2 { // the second is a replay: the same order, no more stock taken
		a, err := w.c.do(ctx, http.MethodPost, w.s.gateway+"/v1/orders", w.orderBody(2), firstKey)
		if err != nil {
			t.Fatal(err)
		}
		var o order
		if a.status != http.StatusCreated || a.decode(&o) != nil || o.Status != "confirmed" {
			t.Fatalf("order %d: want 201 confirmed, got %s", i+1, a)
		}
		if i == 1 && o.ID != w.first.ID {
			t.Fatalf("replay with the same Idempotency-Key made order %s, not %s again", o.ID, w.first.ID)
		}
		w.first = o
	}
	w.accepted = append(w.accepted, w.first.ID)
	if err := w.c.get(ctx, w.s.gateway+"/v1/products/"+w.product, &p); err != nil {
		t.Fatal(err)
	}
	if p.Stock != w.initialStock-2 {
		t.Fatalf("stock after one order of 2: want %d, got %d", w.initialStock-2, p.Stock)
	}
}

func (w *walk) killUsers(ctx context.Context, t *testing.T) {
	w.s.must(ctx, "kill", "usersvc")
	w.untilBreakerOpens(ctx, t, "user")
}

func (w *walk) startUsers(ctx context.Context, t *testing.T) {
	w.s.must(ctx, "start", "usersvc")
	w.untilOrdersSucceed(ctx, t, "user")
}

func (w *walk) pauseProducts(ctx context.Context, t *testing.T) {
	w.s.must(ctx, "pause", "productsvc")
	w.untilBreakerOpens(ctx, t, "product")
}

func (w *walk) unpauseProducts(ctx context.Context, t *testing.T) {
	w.s.must(ctx, "unpause", "productsvc")
	w.untilOrdersSucceed(ctx, t, "product")
}

// untilBreakerOpens sends orders while dependency is down: each is a 503
// naming it, within the contract's bound, until they come fast (the
// breaker is open); then twenty more must all be fast, and ordersvc's
// /readyz must show the breaker open while ordersvc stays ready.
func (w *walk) untilBreakerOpens(ctx context.Context, t *testing.T, dependency string) {
	began := time.Now()
	for n := 1; ; n++ {
		a := w.order(ctx, t)
		if err := a.unavailable(dependency); err != nil {
			t.Fatalf("order %d after the fault: %v", n, err)
		}
		if a.took > boundedAnswer {
			t.Fatalf("order %d after the fault took %s, over REQUEST_TIMEOUT+100ms (%s)", n, a.took, boundedAnswer)
		}
		if a.took < fastAnswer {
			t.Logf("%s breaker open: fast 503s from order %d, %s after the fault", dependency, n, time.Since(began).Round(time.Millisecond))
			break
		}
		if time.Since(began) > 15*time.Second {
			t.Fatalf("no fast 503 within 15s of the fault; the last: %s", a)
		}
	}
	var took []time.Duration
	for range 20 {
		a := w.order(ctx, t)
		if err := a.unavailable(dependency); err != nil {
			t.Fatal(err)
		}
		took = append(took, a.took)
	}
	slices.Sort(took)
	if took[len(took)-2] > fastAnswer || took[len(took)-1] > hiccup {
		t.Fatalf("503s behind an open breaker should take under %s (one under %s); sorted: %v", fastAnswer, hiccup, took)
	}
	t.Logf("20 more 503s naming %s: median %s, max %s", dependency, took[len(took)/2], took[len(took)-1])

	var ready struct {
		Status       string `json:"status"`
		Dependencies map[string]struct {
			State string `json:"state"`
		} `json:"dependencies"`
	}
	if err := w.c.get(ctx, w.s.orders+"/readyz", &ready); err != nil {
		t.Fatalf("ordersvc must stay ready with a breaker open: %v", err)
	}
	if got := ready.Dependencies[dependency].State; got != "open" {
		t.Fatalf("ordersvc /readyz: want the %s breaker open, got %q", dependency, got)
	}
}

// untilOrdersSucceed sends an order every 100ms once dependency is back,
// until one succeeds (within recoveryBound); the others must be 503s naming
// it. Five more orders must then all succeed.
func (w *walk) untilOrdersSucceed(ctx context.Context, t *testing.T, dependency string) {
	began := time.Now()
	for {
		a := w.order(ctx, t)
		if a.status == http.StatusCreated {
			break
		}
		if err := a.unavailable(dependency); err != nil {
			t.Fatalf("while %s comes back: %v", dependency, err)
		}
		if time.Since(began) > recoveryBound {
			t.Fatalf("orders still fail %s after %s came back (bound %s): %s", time.Since(began).Round(time.Millisecond), dependency, recoveryBound, a)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("orders succeed again %s after %s came back", time.Since(began).Round(time.Millisecond), dependency)
	for i := range 5 {
		if a := w.order(ctx, t); a.status != http.StatusCreated {
			t.Fatalf("order %d after recovery: %s", i+1, a)
		}
	}
}

// restartOrders restarts ordersvc: its orders live on in its volume, and
// the first order's Idempotency-Key still answers with the same order.
func (w *walk) restartOrders(ctx context.Context, t *testing.T) {
	w.s.must(ctx, "restart", "-t", "10", "ordersvc")
	w.s.waitHealthy(ctx, 30*time.Second)
	w.s.orders = "http://" + w.s.port(ctx, "ordersvc", "8083") // a new free port
	var o order
	if err := w.c.get(ctx, w.s.gateway+"/v1/orders/"+w.first.ID, &o); err != nil {
		t.Fatal(err)
	}
	a, err := w.c.do(ctx, http.MethodPost, w.s.gateway+"/v1/orders", w.orderBody(2), firstKey)
	if err != nil {
		t.Fatal(err)
	}
	if a.status != http.StatusCreated || a.decode(&o) != nil || o.ID != w.first.ID {
		t.Fatalf("replay of the first order after a restart: want 201 with %s, got %s", w.first.ID, a)
	}
}
