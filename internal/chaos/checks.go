package chaos

import (
	"fmt"
	"time"
)

// Check results.
const (
	Pass = "PASS"
	Fail = "FAIL"
	Skip = "SKIP"
)

// Check is one contract check of an experiment, with what was measured
// against what threshold.
type Check struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Result    string   `json:"result"`
	Measured  string   `json:"measured"`
	Threshold string   `json:"threshold"`
	Details   []string `json:"details,omitempty"`
}

// goroutineTolerance is how many goroutines above the baseline still count
// as "back": a tenth of the baseline, at least 10.
func goroutineTolerance(baseline float64) float64 { return max(10, baseline/10) }

// servedFor is o.served, or nothing known.
func (o observations) servedFor(requestID string) (servedBy, bool) {
	if o.served == nil {
		return servedBy{}, false
	}
	return o.served(requestID)
}

// whereSlow says, for a slow answer, what ordersvc's own log says: how long
// its handler took, and when the handler began relative to the client
// sending the request (a late start is time spent before the handler: the
// process not scheduled, the connection not yet read).
func (o observations) whereSlow(ex Exchange) string {
	s, ok := o.servedFor(ex.RequestID)
	if !ok {
		return "not in ordersvc's log"
	}
	sent := o.t0.Add(ex.Start.D())
	began := s.End.Add(-s.Took).Sub(sent)
	return fmt.Sprintf("handler took %s and began %s after the client sent it", fmtDur(s.Took), fmtDur(began))
}

// evaluate runs every check.
func evaluate(o observations) []Check {
	checks := []Check{
		checkRequestTime(o),
		checkBusinessErrors(o),
		checkAttempts(o),
		checkBreaker(o),
		checkRecovery(o),
		checkInvariant("6a", "stock: initial = current + confirmed + held", stockViolations(o.books)),
		checkInvariant("6b", "confirmed reservations <-> confirmed orders", reservationViolations(o.books)),
		checkInvariant("6c", "no held reservation past its expiry", expiredHeldViolations(o.books, time.Second)),
		checkKeys(o),
		checkGoroutines(o),
	}
	if o.exp.Instances > 0 {
		checks = append(checks, instanceChecks(o)...)
	}
	return checks
}

func verdict(ok bool) string {
	if ok {
		return Pass
	}
	return Fail
}

// checkRequestTime is contract point 1, over every request the runner made.
func checkRequestTime(o observations) Check {
	bound := o.settings.maxRequestTime()
	c := Check{ID: "1", Name: "no request slower than REQUEST_TIMEOUT+100ms", Threshold: "<= " + fmtDur(bound)}
	var worst Exchange
	over := 0
	for _, ex := range o.exchanges {
		if ex.Error == "saturated" {
			continue
		}
		if ex.Latency > worst.Latency {
			worst = ex
		}
		if ex.Latency.D() > bound {
			over++
		}
	}
	c.Measured = fmt.Sprintf("max %s (%s, %s)", fmtDur(worst.Latency.D()), worst.RequestID, outcome(worst))
	c.Result = verdict(over == 0)
	if over > 0 {
		c.Details = []string{fmt.Sprintf("%d requests over the bound", over)}
	}
	return c
}

// checkBusinessErrors is contract point 2: a burst of 4xx-only traffic
// (probeSize requests, one after the other, before the load) moves none
// of ordersvc's retry, timeout and short-circuit counters and leaves every
// breaker closed; and the bad requests of the steady load are answered
// 422. A steady request is one answered before the fault: one still in
// flight when the fault struck is judged with the fault.
func checkBusinessErrors(o observations) Check {
	p := o.probe
	c := Check{ID: "2", Name: "4xx neither retried nor counted",
		Threshold: "all 422; +0/+0/+0; closed"}
	all422 := p.Answers["422"] == p.Sent && p.Sent > 0
	closed := len(p.Breakers) > 0
	for _, s := range p.Breakers {
		closed = closed && s == 0
	}
	badOK, bad := 0, 0
	for _, ex := range finishedIn(o.exchanges, kindLoad, o.steady.From, o.steady.To) {
		if ex.Bad {
			bad++
			if ex.Status == 422 {
				badOK++
			}
		}
	}
	c.Measured = fmt.Sprintf("probe %s, steady %d/%d 422; retries/timeouts/short circuits +%g/+%g/+%g; %s",
		fmtCodes(p.Answers), badOK, bad, p.Retries, p.Timeouts, p.ShortCircuits, fmtStates(p.Breakers))
	ok := all422 && closed && !p.ScrapeFailed && p.Retries == 0 && p.Timeouts == 0 && p.ShortCircuits == 0 && badOK == bad
	c.Result = verdict(ok)
	return c
}

// checkAttempts is contract point 3: no call of a first-try request reached
// a dependency more than RETRY_MAX_ATTEMPTS times. That retries never
// outlive the request is check 1; that a retry never takes stock twice is
// check 6a.
func checkAttempts(o observations) Check {
	a := o.attempts
	c := Check{ID: "3", Name: "attempts per call <= RETRY_MAX_ATTEMPTS",
		Threshold: fmt.Sprintf("<= %d", o.settings.RetryMaxAttempts)}
	c.Measured = fmt.Sprintf("max %d (%s) over %d requests", a.Max, a.Worst, a.Requests)
	c.Result = verdict(a.Requests > 0 && a.Max <= o.settings.RetryMaxAttempts)
	switch {
	case a.Requests == 0:
		c.Details = []string{"no dependency access log line carried a load request's ID: cannot count attempts"}
	case a.Over > 0:
		c.Details = []string{fmt.Sprintf("%d calls over the limit", a.Over)}
	}
	return c
}

// checkBreaker is contract point 4 for faults of a dependency: its breaker
// opens within 1s of the fault, and from then until the heal the requests
// that find it open are refused fast. Requests started while the breaker
// was (or may have been) half-open are left out: one of them is the probe,
// which is let through and may rightly take up to CALL_TIMEOUT.
func checkBreaker(o observations) Check {
	c := Check{ID: "4", Name: "breaker opens within 1s, then 503s fast",
		Threshold: "open <= 1s; 503 p99 < " + fmtDur(fastAnswer)}
	dep := o.exp.Dependency
	if o.exp.Instances > 0 {
		c.Result, c.Measured = Skip, "one instance faulted: the others keep the dependency available (see 8a)"
		return c
	}
	if dep == "" {
		c.Result, c.Measured = Skip, "no dependency fault (ordersvc itself restarts)"
		return c
	}
	open := openedAt(o.samples, dep, o.fault.From, o.fault.To)
	if open == nil {
		c.Result = Fail
		c.Measured = fmt.Sprintf("%s breaker never seen open in %s of fault", dep, fmtDur((o.fault.To - o.fault.From).D()))
		return c
	}
	refused := refusedWhileOpen(o.exchanges, openSpans(o.samples, dep), *open, o.fault.To)
	lat := sortedLatencies(refused)
	p99 := percentile(lat, 99)
	took := *open - o.fault.From
	c.Measured = fmt.Sprintf("open after %s; 503 p99 %s (n=%d)", fmtDur(took.D()), fmtDur(p99.D()), len(refused))
	if len(refused) > 0 && len(refused) < 100 {
		c.Measured = fmt.Sprintf("open after %s; 503 p99 %s (n=%d, so p99 is the max)", fmtDur(took.D()), fmtDur(p99.D()), len(refused))
	}
	c.Result = verdict(took.D() <= time.Second && len(refused) > 0 && p99.D() < fastAnswer)
	if c.Result == Fail {
		for _, ex := range slowest(refused, 5) {
			if ex.Latency.D() < fastAnswer {
				break
			}
			c.Details = append(c.Details, fmt.Sprintf("slow 503: %s started at %s took %s at the client; ordersvc's %s (%s, dependency %q)",
				ex.RequestID, fmtSecs(ex.Start), fmtDur(ex.Latency.D()), o.whereSlow(ex), ex.Code, ex.Dependency))
		}
	}
	return c
}

// checkRecovery is contract point 5.
func checkRecovery(o observations) Check {
	bound := o.settings.recoveryBound()
	c := Check{ID: "5", Name: ">= 99% success within BREAKER_OPEN_TIMEOUT+2s of heal",
		Threshold: "<= " + fmtDur(bound)}
	d := timeToRecover(o.exchanges, o.recovery.From, o.recovery.To, minWindowCount(o.rate))
	if d == nil {
		c.Result, c.Measured = Fail, "never recovered during the recovery phase"
		return c
	}
	c.Measured = fmt.Sprintf("recovered %s after heal", fmtDur(d.D()))
	c.Result = verdict(d.D() <= bound)
	return c
}

// minWindowCount is the least number of requests a 1s window must hold to
// judge recovery: half the rate.
func minWindowCount(rate int) int { return max(1, rate/2) }

func checkInvariant(id, name string, violations []string) Check {
	c := Check{ID: id, Name: name, Threshold: "0 violations", Result: verdict(len(violations) == 0),
		Measured: fmt.Sprintf("%d violations", len(violations))}
	c.Details = firstFew(violations, 10)
	return c
}

// checkKeys is the one-order-per-key part of contract point 6, after the
// re-drive and the settling of ordersvc's recovery loop.
func checkKeys(o observations) Check {
	vs := keyViolations(o.exchanges, o.requests, o.books.Orders, o.retrieved)
	if o.settle.Unresolved > 0 {
		vs = append(vs, fmt.Sprintf("%d orders still pending or cancelling after %s", o.settle.Unresolved, fmtDur(o.settle.Waited.D())))
	}
	if o.settle.Error != "" {
		vs = append(vs, "settling: "+o.settle.Error)
	}
	c := checkInvariant("6d", "one confirmed order per 201 key, none invented", vs)
	c.Measured = fmt.Sprintf("%d keys, %d confirmed orders, %d violations", len(o.requests), len(o.books.Orders), len(vs))
	return c
}

// checkGoroutines is contract point 7.
func checkGoroutines(o observations) Check {
	g := o.goroutines
	c := Check{ID: "7", Name: "ordersvc goroutines back to baseline",
		Threshold: fmt.Sprintf("<= %g (baseline %g + %g)", g.Limit, g.Baseline, g.Limit-g.Baseline)}
	c.Measured = fmt.Sprintf("%g after %s (%g before pooled connections were dropped)", g.Final, fmtDur(g.Waited.D()), g.BeforeDrop)
	c.Result = verdict(g.OK)
	if g.Error != "" {
		c.Details = []string{g.Error}
	}
	return c
}
