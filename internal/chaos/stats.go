package chaos

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Phase is a named stretch of the load: steady, fault or recovery.
type Phase struct {
	Name string `json:"name"`
	From Millis `json:"from_ms"`
	To   Millis `json:"to_ms"`
}

// PhaseStats sums up the requests answered in one phase.
type PhaseStats struct {
	Phase
	Requests   int            `json:"requests"`
	SuccessPct float64        `json:"success_pct"`
	Codes      map[string]int `json:"codes"`
	P50        Millis         `json:"p50_ms"`
	P99        Millis         `json:"p99_ms"`
	Max        Millis         `json:"max_ms"`
	// Retries is the increase of ordersvc's dependency_retries_total
	// (all dependencies) over the phase; RetriesPerRequest divides it by
	// Requests, so attempts per request are 1 + that, per downstream call.
	Retries           float64 `json:"retries"`
	RetriesPerRequest float64 `json:"retries_per_request"`
	// TimeToOpen (fault phase) is from the fault to the first scrape that
	// shows the faulted dependency's breaker open; TimeToFast503 to the
	// first 503 answered in under fastAnswer. TimeToRecover (recovery
	// phase) is from the heal to the start of the first 1s window with
	// >= 99% success. Nil when it did not happen.
	TimeToOpen    *Millis `json:"time_to_open_ms,omitempty"`
	TimeToFast503 *Millis `json:"time_to_fast_503_ms,omitempty"`
	TimeToRecover *Millis `json:"time_to_recover_ms,omitempty"`
}

// fastAnswer is contract point 4's bound on a refused request (p99).
const fastAnswer = 10 * time.Millisecond

// recoverWindow and recoverRatio define "recovered" (contract point 5).
const (
	recoverWindow = time.Second
	recoverRatio  = 0.99
)

// percentile returns the p-th percentile (0 < p <= 100) of sorted, by
// nearest rank: the smallest value with at least p% of values at or below
// it. Zero for no values.
func percentile(sorted []Millis, p float64) Millis {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// sortedLatencies returns the latencies of exs, ascending.
func sortedLatencies(exs []Exchange) []Millis {
	l := make([]Millis, len(exs))
	for i, ex := range exs {
		l[i] = ex.Latency
	}
	slices.Sort(l)
	return l
}

// outcome names an exchange's result for the status histogram: the status
// code, or the transport error.
func outcome(ex Exchange) string {
	if ex.Status == 0 {
		return ex.Error
	}
	return strconv.Itoa(ex.Status)
}

// finished is when the answer (or the error) came, since the load started.
func (e Exchange) finished() Millis { return e.Start + e.Latency }

// finishedIn returns the exchanges of kind answered in [from, to): a
// request belongs to the phase in which it finished, so one in flight at the
// fault is judged with the fault.
func finishedIn(exs []Exchange, kind string, from, to Millis) []Exchange {
	var out []Exchange
	for _, ex := range exs {
		if f := ex.finished(); ex.Kind == kind && f >= from && f < to {
			out = append(out, ex)
		}
	}
	return out
}

// startedIn returns the exchanges of kind started in [from, to).
func startedIn(exs []Exchange, kind string, from, to Millis) []Exchange {
	var out []Exchange
	for _, ex := range exs {
		if ex.Kind == kind && ex.Start >= from && ex.Start < to {
			out = append(out, ex)
		}
	}
	return out
}

// phaseStats sums up the load requests answered in p; samples give the
// retries.
func phaseStats(p Phase, exs []Exchange, samples []Sample) PhaseStats {
	return phaseStatsThrough(p, p.To, exs, samples)
}

// phaseStatsThrough is phaseStats counting the requests answered in
// [p.From, until): the last phase takes the answers that came after the
// load stopped.
func phaseStatsThrough(p Phase, until Millis, exs []Exchange, samples []Sample) PhaseStats {
	in := finishedIn(exs, kindLoad, p.From, until)
	st := PhaseStats{Phase: p, Requests: len(in), Codes: map[string]int{}}
	ok := 0
	for _, ex := range in {
		st.Codes[outcome(ex)]++
		if ex.OK() {
			ok++
		}
	}
	if len(in) > 0 {
		st.SuccessPct = 100 * float64(ok) / float64(len(in))
		lat := sortedLatencies(in)
		st.P50, st.P99, st.Max = percentile(lat, 50), percentile(lat, 99), lat[len(lat)-1]
	}
	st.Retries = counterIncrease(samples, p.From, p.To, func(s Sample) float64 { return sumOver(s.Retries) })
	if st.Requests > 0 {
		st.RetriesPerRequest = st.Retries / float64(st.Requests)
	}
	return st
}

// timeToOpen is how long after fault the first good scrape in [fault, until)
// showed dep's breaker open; nil if none did.
func timeToOpen(samples []Sample, dep string, fault, until Millis) *Millis {
	for _, s := range samples {
		if s.OK && s.At >= fault && s.At < until && s.Breaker[dep] == 2 {
			d := s.At - fault
			return &d
		}
	}
	return nil
}

// openedAt is the moment of timeToOpen, or nil.
func openedAt(samples []Sample, dep string, fault, until Millis) *Millis {
	if d := timeToOpen(samples, dep, fault, until); d != nil {
		at := fault + *d
		return &at
	}
	return nil
}

// span is a stretch of time [From, To).
type span struct{ From, To Millis }

// openSpans returns the stretches during which dep's breaker was open
// without a doubt: runs of consecutive good scrapes that all showed it
// open, from the first of the run to the last. A half-open spell between
// two scrapes (its probe request is let through, and may take up to
// CALL_TIMEOUT) splits the run when a scrape sees it; a request started in
// a span found the breaker open.
func openSpans(samples []Sample, dep string) []span {
	var spans []span
	var cur *span
	for _, s := range samples {
		if s.OK && s.Breaker[dep] == 2 {
			if cur == nil {
				cur = &span{From: s.At, To: s.At}
			}
			cur.To = s.At
			continue
		}
		if cur != nil && cur.To > cur.From {
			spans = append(spans, *cur)
		}
		cur = nil
	}
	if cur != nil && cur.To > cur.From {
		spans = append(spans, *cur)
	}
	return spans
}

// refusedWhileOpen returns the 503s of load requests started in [from, to)
// inside one of spans.
func refusedWhileOpen(exs []Exchange, spans []span, from, to Millis) []Exchange {
	var out []Exchange
	for _, ex := range startedIn(exs, kindLoad, from, to) {
		if ex.Status != 503 {
			continue
		}
		for _, sp := range spans {
			if ex.Start >= sp.From && ex.Start < sp.To {
				out = append(out, ex)
				break
			}
		}
	}
	return out
}

// timeToFast503 is how long after fault the first 503 answered in under
// fastAnswer (to a load request started in [fault, until)) arrived; nil if
// none.
func timeToFast503(exs []Exchange, fault, until Millis) *Millis {
	var first *Millis
	for _, ex := range startedIn(exs, kindLoad, fault, until) {
		if ex.Status == 503 && ex.Latency < Millis(fastAnswer) {
			at := ex.Start + ex.Latency - fault
			if first == nil || at < *first {
				first = &at
			}
		}
	}
	return first
}

// timeToRecover is how long after heal the first window of recoverWindow
// began whose load requests were at least recoverRatio successful. Windows
// start at each request started at or after heal, must end by end, and
// must hold at least minCount requests (so that a lull is not a recovery).
// Nil when no window qualifies.
func timeToRecover(exs []Exchange, heal, end Millis, minCount int) *Millis {
	in := startedIn(exs, kindLoad, heal, end)
	sort.Slice(in, func(i, j int) bool { return in[i].Start < in[j].Start })
	ok := make([]int, len(in)+1) // prefix sums of successes
	for i, ex := range in {
		ok[i+1] = ok[i]
		if ex.OK() {
			ok[i+1]++
		}
	}
	j := 0
	for i := range in {
		winEnd := in[i].Start + Millis(recoverWindow)
		if winEnd > end {
			break
		}
		if j < i {
			j = i
		}
		for j < len(in) && in[j].Start < winEnd {
			j++
		}
		n := j - i
		if n >= max(minCount, 1) && float64(ok[j]-ok[i]) >= recoverRatio*float64(n) {
			d := in[i].Start - heal
			return &d
		}
	}
	return nil
}

// Bucket is one slice of the timeline chart.
type Bucket struct {
	At         Millis  `json:"at_ms"`
	Requests   int     `json:"requests"`
	SuccessPct float64 `json:"success_pct"`
	// P50 and P99 are over every answer of the bucket; OKP50 and OKP99 over
	// the successful ones (below 500), FailedP50 and FailedP99 over the
	// others (503s and the like, or no answer). A bucket of refusals is
	// fast, which the latency over all answers would show as good news.
	P50       Millis `json:"p50_ms"`
	P99       Millis `json:"p99_ms"`
	OK        int    `json:"ok"`
	OKP50     Millis `json:"ok_p50_ms"`
	OKP99     Millis `json:"ok_p99_ms"`
	FailedP50 Millis `json:"failed_p50_ms"`
	FailedP99 Millis `json:"failed_p99_ms"`
}

// bucketSize is the timeline resolution: 250ms, 500ms or 1s, the finest
// that gives at most 60 buckets.
func bucketSize(total time.Duration) time.Duration {
	for _, s := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond} {
		if total <= 60*s {
			return s
		}
	}
	return time.Second
}

// timeline buckets the load requests sent in [0, end) by when they were
// answered, as the phases do: a request cut by the fault shows on the far
// side of the fault line. The buckets run on past end to the last answer.
func timeline(exs []Exchange, end Millis, size time.Duration) []Bucket {
	var in []Exchange
	last := end
	for _, ex := range exs {
		if ex.Kind == kindLoad && ex.Start >= 0 && ex.Start < end {
			in = append(in, ex)
			last = max(last, ex.finished()+1)
		}
	}
	n := int((last.D() + size - 1) / size)
	groups := make([][]Exchange, n)
	for _, ex := range in {
		i := int(ex.finished().D() / size)
		groups[i] = append(groups[i], ex)
	}
	out := make([]Bucket, n)
	for i, g := range groups {
		out[i] = bucketOf(Millis(time.Duration(i)*size), g)
	}
	return out
}

// bucketOf sums up the requests answered in one bucket.
func bucketOf(at Millis, g []Exchange) Bucket {
	b := Bucket{At: at, Requests: len(g)}
	if len(g) == 0 {
		return b
	}
	var ok, failed []Exchange
	for _, ex := range g {
		if ex.OK() {
			ok = append(ok, ex)
		} else {
			failed = append(failed, ex)
		}
	}
	b.OK = len(ok)
	b.SuccessPct = 100 * float64(len(ok)) / float64(len(g))
	lat := sortedLatencies(g)
	b.P50, b.P99 = percentile(lat, 50), percentile(lat, 99)
	lat = sortedLatencies(ok)
	b.OKP50, b.OKP99 = percentile(lat, 50), percentile(lat, 99)
	lat = sortedLatencies(failed)
	b.FailedP50, b.FailedP99 = percentile(lat, 50), percentile(lat, 99)
	return b
}
