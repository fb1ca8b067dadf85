package chaos

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
)

// healthyObservations is a kill-user run in which every check holds: the
// breaker opens 300ms after the fault, 503s are fast, success is back 200ms
// after the heal.
func healthyObservations() observations {
	exs, reqs, orders, got := keyed()
	initial := map[string]int64{"p1": 1000, "p2": 1000}
	stock := map[string]int64{"p1": 997, "p2": 997} // keyed's orders
	for i, at := 0, 0.0; at < 6000; i, at = i+1, at+25 {
		key := fmt.Sprintf("s%d", i)
		req := orderRequest{Key: key, Body: orderservice.CreateOrderRequest{UserID: "u1", Items: []orderservice.OrderLine{{ProductID: "p2", Quantity: 1}}}}
		e := ex(at, 5, 201)
		switch {
		case at == 100:
			e.Bad, e.Status = true, 422
			req.Bad = true
		case at >= 2000 && at < 4200:
			e = ex(at, 2, 503)
		}
		e.Key, e.RequestID = key, key+".1"
		if e.Status == 201 {
			e.OrderID = "o-" + key
			orders = append(orders, order(e.OrderID, "u1", item("p2", 1)))
			got[e.OrderID] = true
			stock["p2"]--
		} else if e.Status == 503 {
			// Re-driven to a 201 after the heal.
			exs = append(exs, Exchange{Key: key, Kind: kindRedrive, Start: ms2(7000), Status: 201, OrderID: "o-" + key})
			orders = append(orders, order("o-"+key, "u1", item("p2", 1)))
			got["o-"+key] = true
			stock["p2"]--
		}
		reqs[key] = req
		exs = append(exs, e)
	}
	var samples []Sample
	for at := 0.0; at < 6000; at += 100 {
		state := 0
		if at >= 2300 && at < 4200 {
			state = 2
		}
		samples = append(samples, Sample{At: ms2(at), OK: true, Breaker: map[string]int{"user": state, "product": 0}})
	}
	return observations{
		exp:      Experiment{Name: "kill-user", Dependency: "user"},
		settings: defaultSettings(), exchanges: exs, samples: samples, rate: 40,
		steady:   Phase{Name: "steady", From: 0, To: ms2(2000)},
		fault:    Phase{Name: "fault", From: ms2(2000), To: ms2(4000)},
		recovery: Phase{Name: "recovery", From: ms2(4000), To: ms2(6000)},
		probe: probeResult{Answers: map[string]int{"422": 30}, Sent: 30,
			Breakers: map[string]int{"user": 0, "product": 0}},
		attempts:   attemptStats{Max: 2, Requests: 200},
		books:      Books{Initial: initial, Stock: stock, Orders: orders, Now: now},
		retrieved:  got,
		requests:   reqs,
		goroutines: goroutineResult{Baseline: 20, Final: 21, Limit: 30, OK: true},
	}
}

func results(cs []Check) map[string]string {
	m := map[string]string{}
	for _, c := range cs {
		m[c.ID] = c.Result
	}
	return m
}

func TestEvaluateHealthy(t *testing.T) {
	o := healthyObservations()
	o.books.Confirmed = confirmedFor(o.books.Orders)
	for _, c := range evaluate(o) {
		if c.Result != Pass {
			t.Errorf("check %s %s: %s (%s; %v)", c.ID, c.Name, c.Result, c.Measured, c.Details)
		}
	}
}

func TestEvaluateCatchesEachBrokenPoint(t *testing.T) {
	tests := []struct {
		check  string
		break_ func(o *observations)
	}{
		{"1", func(o *observations) { o.exchanges = append(o.exchanges, ex(3000, 2200, 503)) }},
		{"1", func(o *observations) {
			o.settings.RequestTimeout = time.Millisecond
			o.exchanges = append(o.exchanges, ex(3000, 150, 503))
		}},
		{"2", func(o *observations) { o.probe.Retries = 4 }},
		{"2", func(o *observations) { o.probe.Breakers["product"] = 2 }},
		{"2", func(o *observations) { o.probe.Answers = map[string]int{"422": 29, "503": 1} }},
		{"2", func(o *observations) {
			o.exchanges = append(o.exchanges, Exchange{Kind: kindLoad, Bad: true, Start: ms2(50), Status: 503})
		}},
		{"3", func(o *observations) { o.attempts.Max = 4 }},
		{"3", func(o *observations) { o.attempts.Requests = 0 }},
		{"4", func(o *observations) { // never opens
			for i := range o.samples {
				o.samples[i].Breaker["user"] = 0
			}
		}},
		{"4", func(o *observations) { // opens late
			for i := range o.samples {
				if o.samples[i].At < ms2(3100) {
					o.samples[i].Breaker["user"] = 0
				}
			}
		}},
		{"4", func(o *observations) { // slow refusals
			for i := range o.exchanges {
				if o.exchanges[i].Status == 503 {
					o.exchanges[i].Latency = ms2(40)
				}
			}
		}},
		{"5", func(o *observations) { // still failing through the recovery phase
			for i := range o.exchanges {
				if o.exchanges[i].Start >= ms2(4000) && i%10 == 0 {
					o.exchanges[i].Status = 503
				}
			}
		}},
		{"5", func(o *observations) { o.settings.BreakerOpenTimeout = 0; o.recovery.From = ms2(2000) }},
		{"6a", func(o *observations) { o.books.Stock["p1"]-- }},
		{"6b", func(o *observations) { o.books.Confirmed = nil }},
		{"6c", func(o *observations) {
			o.books.Held = append(o.books.Held, reservation("r1", "o9", "held", now.Add(-time.Minute)))
		}},
		{"6d", func(o *observations) { o.books.Orders = o.books.Orders[1:] }},
		{"6d", func(o *observations) { o.settle.Unresolved = 3 }},
		{"7", func(o *observations) { o.goroutines.OK, o.goroutines.Final = false, 90 }},
	}
	for _, tt := range tests {
		o := healthyObservations()
		o.books.Confirmed = confirmedFor(o.books.Orders)
		tt.break_(&o)
		got := results(evaluate(o))
		if got[tt.check] != Fail {
			t.Errorf("check %s = %s after breaking it (all: %v)", tt.check, got[tt.check], got)
		}
	}
}

func TestBreakerCheckSkippedWithoutDependency(t *testing.T) {
	o := healthyObservations()
	o.exp = Experiment{Name: "restart-order"}
	if got := checkBreaker(o); got.Result != Skip {
		t.Errorf("check 4 for restart-order = %s, want SKIP", got.Result)
	}
}

func confirmedFor(orders []orderservice.Order) []productservice.Reservation {
	var out []productservice.Reservation
	for _, o := range orders {
		r := reservation("r-"+o.ID, o.ID, "confirmed", now.Add(time.Hour))
		for _, it := range o.Items {
			r.Items = append(r.Items, reserved(it.ProductID, it.Quantity))
		}
		out = append(out, r)
	}
	return out
}

func TestReportAndChart(t *testing.T) {
	o := healthyObservations()
	o.books.Confirmed = confirmedFor(o.books.Orders)
	checks := evaluate(o)
	cfg := runConfig{opts: Options{Rate: 40, Duration: 6 * time.Second}, settings: o.settings}
	events := []Event{{At: ms2(2000), Name: "fault", Detail: "SIGKILL usersvc"}, {At: ms2(4000), Name: "healed"}}
	r := newReport(o.exp, cfg, o, checks, events)
	if !r.Passed || len(r.Phases) != 3 {
		t.Fatalf("report: passed %v, %d phases, failed %v", r.Passed, len(r.Phases), r.FailedChecks())
	}
	if f := r.Phases[1]; f.TimeToOpen == nil || *f.TimeToOpen != ms2(300) {
		t.Errorf("fault phase time to open = %v", deref(f.TimeToOpen))
	}
	if rec := r.Phases[2]; rec.TimeToRecover == nil || *rec.TimeToRecover != ms2(200) {
		t.Errorf("recovery phase time to recover = %v", deref(rec.TimeToRecover))
	}
	var table strings.Builder
	r.printTable(&table)
	for _, want := range []string{"steady", "fault", "recovery", "4 breaker opens within 1s", "PASS"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	svg := chartSVG(r)
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("chart is not well-formed XML: %v", err)
			}
			break
		}
	}
	for _, want := range []string{"<svg", "polyline", "user breaker", "fault", "healed", stateColors[2],
		"latency of successes: p50", "latency of 503s / no answer: p50", "half-open due", "recovery bound",
		"heal + BREAKER_OPEN_TIMEOUT + 2s (4s)", "recovered", "503 p99 bound 10ms", colorOKLat, colorFailedLat} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if colorSuccess == colorOKLat || colorOKLat == colorFailedLat || colorSuccess == colorFailedLat {
		t.Error("success %, success latency and failure latency share a colour")
	}
	if strings.Contains(svg, "<script") || strings.Contains(svg, "http://") && !strings.Contains(svg, `xmlns="http://www.w3.org/2000/svg"`) {
		t.Error("chart is not self-contained")
	}
}

func TestWhereSlowSetsTheHandlerAgainstTheClient(t *testing.T) {
	t0 := now
	o := observations{t0: t0, served: func(id string) (servedBy, bool) {
		// Sent at 4.4s; the handler took 200µs and ended 50ms later.
		return servedBy{Took: 200 * time.Microsecond, End: t0.Add(4450 * time.Millisecond)}, id == "a.1"
	}}
	got := o.whereSlow(Exchange{RequestID: "a.1", Start: ms2(4400)})
	if got != "handler took 200µs and began 50ms after the client sent it" {
		t.Errorf("whereSlow = %q", got)
	}
	if got := o.whereSlow(Exchange{RequestID: "b.1"}); got != "not in ordersvc's log" {
		t.Errorf("whereSlow of an unlogged request = %q", got)
	}
}

// A bad request sent in the steady phase whose answer came only after the
// fault (ordersvc was killed under it) belongs to the fault: check 2 judges
// the steady 4xx by when they were answered.
func TestBusinessErrorsJudgeRequestsByWhenTheyFinished(t *testing.T) {
	o := healthyObservations()
	o.books.Confirmed = confirmedFor(o.books.Orders)
	inFlight := Exchange{Kind: kindLoad, Bad: true, Start: ms2(1990), Latency: ms2(40), Status: 0, Error: "eof"}
	o.exchanges = append(o.exchanges, inFlight)
	if c := checkBusinessErrors(o); c.Result != Pass {
		t.Errorf("check 2 = %s (%s): a request cut by the fault was judged with the steady phase", c.Result, c.Measured)
	}
	o.exchanges = append(o.exchanges, Exchange{Kind: kindLoad, Bad: true, Start: ms2(1900), Latency: ms2(40), Status: 503})
	if c := checkBusinessErrors(o); c.Result != Fail {
		t.Errorf("check 2 = %s (%s): a steady bad request answered 503 before the fault passed", c.Result, c.Measured)
	}
}
