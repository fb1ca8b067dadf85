package chaos

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kitshop/kitshop/pkg/orderservice"
)

// catalogue is what the setup created.
type catalogue struct {
	users    []customer
	admin    string // the admin's access token
	products []string
	initial  map[string]int64
}

// customer is a user of the load, signed in.
type customer struct {
	ID    string
	Token string
}

// setupTries bounds the tries of one setup call. Setup is not what an
// experiment measures: on a busy machine a user's bcrypt hash and its
// insert can outlast REQUEST_TIMEOUT, so a failed call is tried again (with
// a fresh email, since the first may have gone through).
const setupTries = 3

// setup creates the users and products of the load through the APIs.
func setup(ctx context.Context, a *api, st *stack, seed int64) (catalogue, error) {
	c := catalogue{initial: map[string]int64{}}
	// The runner's own calls are the admin's: the catalogue, and the reads
	// of every order and reservation for the invariants.
	admin, err := withTries(ctx, func(int) (string, error) {
		return a.login(ctx, st.user.url, st.adminEmail, st.adminPassword)
	})
	if err != nil {
		return c, fmt.Errorf("setup: admin sign-in: %w", err)
	}
	a.token, c.admin = admin, admin
	// The load's customers sign up and in like any client, and order for
	// themselves with their own tokens.
	for i := range setupUsers {
		var email string
		id, err := withTries(ctx, func(try int) (string, error) {
			email = fmt.Sprintf("chaos-%d-%d-%d@example.com", seed, i, try)
			return a.createUser(ctx, st.user.url, fmt.Sprintf("Chaos User %d", i), email)
		})
		if err != nil {
			return c, fmt.Errorf("setup: %w", err)
		}
		token, err := withTries(ctx, func(int) (string, error) { return a.login(ctx, st.user.url, email, chaosPassword) })
		if err != nil {
			return c, fmt.Errorf("setup: sign-in: %w", err)
		}
		c.users = append(c.users, customer{ID: id, Token: token})
	}
	for i := range setupProducts {
		id, err := withTries(ctx, func(int) (string, error) {
			return a.createProduct(ctx, st.product.url, fmt.Sprintf("Chaos Product %d", i), int64(100+37*i), initialStock)
		})
		if err != nil {
			return c, fmt.Errorf("setup: %w", err)
		}
		c.products = append(c.products, id)
		c.initial[id] = initialStock
	}
	return c, nil
}

// withTries calls f up to setupTries times until it succeeds. A product
// created by a try whose answer was lost is merely unused: it is not in the
// catalogue, no order names it, and the invariants look only at the
// catalogue's products.
func withTries(ctx context.Context, f func(try int) (string, error)) (string, error) {
	var err error
	for try := range setupTries {
		var id string
		if id, err = f(try); err == nil {
			return id, nil
		}
		if sleepCtx(ctx, 200*time.Millisecond) != nil {
			break
		}
	}
	return "", err
}

// probeSize is the burst of deliberate 4xx: more than the breakers'
// consecutive-failure threshold (5) several times over, so that counting
// them as failures would open a breaker.
const probeSize = 30

// probe sends probeSize requests that must be refused (unknown products,
// and a third unknown users), one after the other while nothing else runs,
// and reads ordersvc's failure counters before and after.
func probe(ctx context.Context, g *loadGen, smp *sampler, wl *workload, reqs map[string]orderRequest) probeResult {
	res := probeResult{Answers: map[string]int{}}
	before := smp.scrape(ctx)
	for i := range probeSize {
		r := wl.probe(i%3 == 2)
		reqs[r.Key] = r
		ex := g.send(ctx, r, kindProbe)
		res.Answers[outcome(ex)]++
		res.Sent++
	}
	after := smp.scrape(ctx)
	if !before.OK || !after.OK {
		res.ScrapeFailed = true
		return res
	}
	res.Retries = sumOver(after.Retries) - sumOver(before.Retries)
	res.Timeouts = sumOver(after.Timeouts) - sumOver(before.Timeouts)
	res.ShortCircuits = sumOver(after.ShortCircuits) - sumOver(before.ShortCircuits)
	res.Breakers = after.Breaker
	return res
}

// countAttempts reads, for every first-try load request, how many times
// each dependency route received it.
func countAttempts(exs []Exchange, log *serviceLog, limit int) attemptStats {
	var a attemptStats
	for _, ex := range exs {
		if ex.Kind != kindLoad || ex.RequestID == "" {
			continue
		}
		seen := false
		hits := log.attempts(ex.RequestID)
		for _, route := range slices.Sorted(maps.Keys(hits)) {
			if strings.HasPrefix(route, "ordersvc ") || strings.HasPrefix(route, "gateway ") {
				continue
			}
			seen = true
			n := hits[route]
			if n > limit {
				a.Over++
			}
			if n > a.Max {
				a.Max, a.Worst = n, ex.RequestID+" "+route
			}
		}
		if seen {
			a.Requests++
		}
	}
	return a
}

// settle waits, up to within, until ordersvc counts no pending or
// cancelling order (its orders_unresolved gauge) and productsvc holds no
// reservation: the recovery loop has finished or undone everything the
// faults left half done.
func settle(ctx context.Context, a *api, smp *sampler, st *stack, within time.Duration) settleResult {
	start := time.Now()
	var res settleResult
	for {
		res.Error = ""
		s := smp.scrape(ctx)
		if s.Unresolved < 0 {
			res.Error = "ordersvc's /metrics has no orders_unresolved"
		}
		held, err := a.listReservations(ctx, st.product.url, "held")
		if err != nil {
			res.Error = err.Error()
		}
		res.Unresolved, res.Held = int(s.Unresolved), len(held)
		res.Waited = Millis(time.Since(start))
		if res.Error == "" && res.Unresolved == 0 && res.Held == 0 {
			return res
		}
		if time.Since(start) > within || sleepCtx(ctx, 250*time.Millisecond) != nil {
			return res
		}
	}
}

// readBooks reads stock, confirmed orders and reservations.
func readBooks(ctx context.Context, a *api, st *stack, initial map[string]int64) (Books, error) {
	b := Books{Initial: initial, Stock: map[string]int64{}, Now: time.Now()}
	var err error
	if b.Held, err = a.listReservations(ctx, st.product.url, "held"); err != nil {
		return b, err
	}
	if b.Confirmed, err = a.listReservations(ctx, st.product.url, "confirmed"); err != nil {
		return b, err
	}
	if b.Orders, err = a.listOrders(ctx, st.order.url); err != nil {
		return b, err
	}
	for id := range initial {
		p, err := a.getProduct(ctx, st.product.url, id)
		if err != nil {
			return b, err
		}
		b.Stock[id] = p.Stock
	}
	return b, nil
}

// retrieve GETs every order a 201 named and says which came back confirmed.
func retrieve(ctx context.Context, a *api, st *stack, exs []Exchange) (map[string]bool, error) {
	var ids []string
	found := map[string]bool{}
	for _, ex := range exs {
		if _, seen := found[ex.OrderID]; ex.Status == 201 && ex.OrderID != "" && !seen {
			found[ex.OrderID] = false
			ids = append(ids, ex.OrderID)
		}
	}
	work := make(chan string)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for id := range work {
				o, ok, err := a.getOrder(ctx, st.order.url, id)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				found[id] = ok && o.ID == id && o.Status == orderservice.StatusConfirmed
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	return found, firstErr
}

// waitGoroutines polls ordersvc's go_goroutines, up to within, until it is
// back within tolerance of the steady-state baseline (the median of the
// steady phase's samples).
//
// First the proxies drop their connections. ordersvc pools idle keep-alive
// connections to its dependencies (two goroutines each) and reclaims them
// only after its IdleConnTimeout (90s): a fault that raised the number of
// concurrent calls leaves a larger, healthy, pool that would otherwise
// pass for a leak. What still counts: goroutines stuck on anything else,
// including a response body nobody closed (its read loop outlives the
// connection). The count before the drop is reported too.
func waitGoroutines(ctx context.Context, smp *sampler, px *proxies, steady Phase, within time.Duration) goroutineResult {
	var vals []float64
	for _, s := range smp.Samples() {
		if s.OK && s.At >= steady.From && s.At < steady.To && s.Goroutines > 0 {
			vals = append(vals, s.Goroutines)
		}
	}
	res := goroutineResult{}
	if len(vals) == 0 {
		return res
	}
	slices.Sort(vals)
	res.Baseline = vals[len(vals)/2]
	res.Limit = res.Baseline + goroutineTolerance(res.Baseline)
	if s := smp.scrape(ctx); s.OK {
		res.BeforeDrop = s.Goroutines
	}
	if err := px.dropConnections(); err != nil {
		res.Error = err.Error()
		return res
	}
	start := time.Now()
	for {
		s := smp.scrape(ctx)
		res.Waited = Millis(time.Since(start))
		if s.OK {
			res.Final = s.Goroutines
			if s.Goroutines <= res.Limit {
				res.OK = true
				return res
			}
		}
		if time.Since(start) > within || sleepCtx(ctx, 250*time.Millisecond) != nil {
			return res
		}
	}
}
