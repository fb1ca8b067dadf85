package loadbench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// compare measures subject and reference in alternating closed-loop
// windows, so that whatever else the machine does falls on both alike.
func (r *runner) compare(ctx context.Context, name string, subject, reference target) Comparison {
	fmt.Fprintf(r.out, "  %s\n", name)
	var sw, rw []Window
	for round := range r.opts.rounds {
		pair := []target{subject, reference}
		if round%2 == 1 {
			pair = []target{reference, subject}
		}
		var line []string
		for _, t := range pair {
			w := closedLoop(ctx, t, r.opts.workers, r.opts.warmup, r.opts.window, r.meter)
			if t.name == subject.name {
				sw = append(sw, w)
			} else {
				rw = append(rw, w)
			}
			line = append(line, fmt.Sprintf("%s %.0f req/s, %.0fµs server CPU/req (%d errors, others %.2f CPU)",
				t.name, w.RPS(), w.ServiceCPU(), w.Errors, w.CPU.Others))
		}
		fmt.Fprintf(r.out, "    round %d/%d: %s\n", round+1, r.opts.rounds, strings.Join(line, ", "))
	}
	return Compare(name, Summarize(subject.name, sw), Summarize(reference.name, rw))
}

// compareOpen measures subject and reference at the same fixed rate, in
// open loop, alternating (subject, reference, reference, subject).
func (r *runner) compareOpen(ctx context.Context, subject, reference target, rate float64) *OpenComparison {
	if rate < 1 {
		return nil
	}
	var sw, rw []Window
	for _, t := range []target{subject, reference, reference, subject} {
		w := openLoop(ctx, t, r.opts.openConns, rate, r.opts.warmup, r.opts.window/2, r.meter)
		if t.name == subject.name {
			sw = append(sw, w)
		} else {
			rw = append(rw, w)
		}
	}
	o := &OpenComparison{Rate: rate, Subject: Summarize(subject.name, sw), Reference: Summarize(reference.name, rw)}
	o.P50Ratio = ratio(float64(o.Subject.P50), float64(o.Reference.P50))
	o.P99Ratio = ratio(float64(o.Subject.P99), float64(o.Reference.P99))
	fmt.Fprintf(r.out, "    open loop at %.0f req/s: %s p50 %s p99 %s, %s p50 %s p99 %s\n", rate,
		subject.name, ms(o.Subject.P50), ms(o.Subject.P99), reference.name, ms(o.Reference.P50), ms(o.Reference.P99))
	return o
}

// openFractions are the fractions of the closed-loop maximum the open-loop
// windows of orders run at; breakerFractions those of the fast fail.
var (
	openFractions    = []float64{0.5, 0.9}
	breakerFractions = []float64{0.1, 0.5}
)

// orders measures POST /v1/orders through the gateway.
func (r *runner) orders(ctx context.Context) Orders {
	s := r.s
	o := Orders{Target: "POST /v1/orders end to end: gateway -> ordersvc -> usersvc + productsvc (201 expected)"}
	fmt.Fprintf(r.out, "  %s\n", o.Target)
	t := wirePostOrders("orders", s.addrs[gatewayName], userIDs(s), s.tokens, productIDs(s), http.StatusCreated,
		s.pids(gatewayName, orderName, userName, productName))
	o.Max = Summarize(t.name, []Window{closedLoop(ctx, t, r.opts.workers, r.opts.warmup, r.opts.window, r.meter)})
	fmt.Fprintf(r.out, "    closed loop: %.0f req/s, p99 %s, %d errors\n", o.Max.RPS, ms(o.Max.P99), o.Max.Errors)
	o.Open = r.openLoops(ctx, t, o.Max.RPS, openFractions)
	return o
}

// openLoops runs one open-loop window at each fraction of max.
func (r *runner) openLoops(ctx context.Context, t target, max float64, fractions []float64) []OpenLoop {
	var out []OpenLoop
	for _, f := range fractions {
		rate := f * max
		if rate < 1 {
			continue
		}
		w := openLoop(ctx, t, r.opts.openConns, rate, r.opts.warmup, r.opts.window, r.meter)
		ol := OpenLoop{Fraction: f, Rate: rate, Summary: Summarize(t.name, []Window{w})}
		fmt.Fprintf(r.out, "    open loop %.0f%% (%.0f req/s): %.0f req/s, p50 %s, p99 %s, %d errors\n",
			f*100, rate, ol.RPS, ms(ol.P50), ms(ol.P99), ol.Errors)
		out = append(out, ol)
	}
	return out
}

// breaker kills usersvc, drives orders at ordersvc until its user breaker
// is open, then measures the fast fail: a closed-loop maximum and an open
// loop at half of it. ordersvc keeps its default settings: the breaker
// turns half-open every BREAKER_OPEN_TIMEOUT (5s), lets one probe fail,
// and opens again.
func (r *runner) breaker(ctx context.Context) (Breaker, error) {
	s := r.s
	b := Breaker{Target: "POST /v1/orders to ordersvc with usersvc killed (503 dependency_unavailable expected)"}
	fmt.Fprintf(r.out, "  %s\n", b.Target)
	t := wirePostOrders("fast-fail", s.addrs[orderName], userIDs(s), s.tokens, productIDs(s), http.StatusServiceUnavailable,
		s.pids(orderName))
	if err := s.procs[userName].Kill(); err != nil {
		return b, err
	}
	killed := time.Now()
	driveCtx, stopDriving := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		do, done := t.newWorker(w)
		wg.Go(func() {
			defer done()
			for driveCtx.Err() == nil {
				_ = do(driveCtx)
			}
		})
	}
	var err error
	for {
		var state string
		if state, err = s.breakerState(ctx, "user"); err == nil && state == "open" {
			b.OpenedAfter = Millis(time.Since(killed))
			break
		}
		if time.Since(killed) > 15*time.Second {
			err = fmt.Errorf("ordersvc's user breaker not open 15s after usersvc was killed (last state %q, %v)", state, err)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopDriving()
	wg.Wait()
	if err != nil {
		return b, err
	}
	fmt.Fprintf(r.out, "    user breaker open %s after the kill\n", ms(b.OpenedAfter))
	b.Max = Summarize(t.name, []Window{closedLoop(ctx, t, r.opts.workers, r.opts.warmup, r.opts.window, r.meter)})
	fmt.Fprintf(r.out, "    closed loop: %.0f req/s, p99 %s, %d errors\n", b.Max.RPS, ms(b.Max.P99), b.Max.Errors)
	// Fast fail is judged where it is about latency, not capacity (10% of
	// the maximum, still 20 times the chaos runner's rate), and shown at
	// half of it too. Around each window, ordersvc's own histogram of its
	// 503s gives the handler's view, without the network and the load
	// generator.
	match := []string{`code="503"`, `route="POST /v1/orders"`}
	for _, f := range breakerFractions {
		before, err := scrapeHistogram(ctx, s.client, s.url(orderName), match...)
		if err != nil {
			return b, err
		}
		windows := r.openLoops(ctx, t, b.Max.RPS, []float64{f})
		after, err := scrapeHistogram(ctx, s.client, s.url(orderName), match...)
		if err != nil {
			return b, err
		}
		for i := range windows {
			ss := after.minus(before).serverSide()
			windows[i].ServerSide = &ss
			fmt.Fprintf(r.out, "      ordersvc's own histogram: %.2f%% of those answers within 0.5ms, %.2f%% within 1ms\n",
				100*ss.Within500us, 100*ss.Within1ms)
		}
		b.Open = append(b.Open, windows...)
		if f == breakerFractions[0] && len(windows) > 0 {
			// The floor of this machine at that rate: raw net/http's GET,
			// open loop too. What the client sees beyond it is not ordersvc.
			raw := wireGetUsers("raw net/http GET", s.addrs[rawName], s.users, s.tokens, s.pids(rawName))
			w := openLoop(ctx, raw, r.opts.openConns, windows[0].Rate, r.opts.warmup, r.opts.window, r.meter)
			b.Floor = &OpenLoop{Fraction: f, Rate: windows[0].Rate, Summary: Summarize(raw.name, []Window{w})}
			fmt.Fprintf(r.out, "      raw net/http GET at the same rate: p50 %s, p99 %s, %d errors\n",
				ms(b.Floor.P50), ms(b.Floor.P99), b.Floor.Errors)
		}
	}
	return b, nil
}

func userIDs(s *stack) []string {
	out := make([]string, len(s.users))
	for i, u := range s.users {
		out[i] = u.ID
	}
	return out
}

func productIDs(s *stack) []string {
	out := make([]string, len(s.prods))
	for i, p := range s.prods {
		out[i] = p.ID
	}
	return out
}

// rssSampler keeps the highest VmRSS of each child seen while it runs.
type rssSampler struct {
	stopc chan struct{}
	done  chan map[string]float64
}

func startRSSSampler(s *stack, every time.Duration) *rssSampler {
	rs := &rssSampler{stopc: make(chan struct{}), done: make(chan map[string]float64, 1)}
	go func() {
		highest := map[string]float64{}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			for name := range s.procs {
				if cur, _, err := rss(s.pid(name)); err == nil && cur > highest[name] {
					highest[name] = cur
				}
			}
			select {
			case <-rs.stopc:
				rs.done <- highest
				return
			case <-t.C:
			}
		}
	}()
	return rs
}

func (rs *rssSampler) stop() map[string]float64 {
	close(rs.stopc)
	return <-rs.done
}
