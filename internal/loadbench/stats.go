package loadbench

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Window is one measured stretch of load against one target: every
// completed request's latency, the errors, and what the processes involved
// spent of the CPU meanwhile.
type Window struct {
	Elapsed   time.Duration
	Latencies []time.Duration // one per successful request, unsorted
	Errors    int             // transport errors and unexpected statuses
	CPU       CPUUse
}

// CPUUse is how busy each side was during a window, in cores (1.0 is one
// core fully used).
type CPUUse struct {
	Loadgen  float64 `json:"loadgen_cores"`
	Services float64 `json:"services_cores"` // the processes serving this target
	Others   float64 `json:"others_cores"`   // everything else on the machine
}

// RPS is the window's rate of successful requests per second.
func (w Window) RPS() float64 {
	if w.Elapsed <= 0 {
		return 0
	}
	return float64(len(w.Latencies)) / w.Elapsed.Seconds()
}

// ServiceCPU is the CPU time the target's processes spent per successful
// request, in microseconds.
func (w Window) ServiceCPU() float64 {
	if len(w.Latencies) == 0 {
		return 0
	}
	return w.CPU.Services * w.Elapsed.Seconds() / float64(len(w.Latencies)) * 1e6
}

// Percentile returns the q-quantile (0 < q <= 1) of sorted by the nearest-
// rank method: the smallest value with at least q of the values at or below
// it. It returns 0 for no values.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// Summary is what a set of windows of one target comes to: the rate over
// all of them, each window's own rate, and latency percentiles over every
// request of every window.
type Summary struct {
	Target   string    `json:"target"`
	RPS      float64   `json:"rps"`
	Rounds   []float64 `json:"rounds_rps"`
	Requests int       `json:"requests"`
	Errors   int       `json:"errors"`
	P50      Millis    `json:"p50_ms"`
	P90      Millis    `json:"p90_ms"`
	P99      Millis    `json:"p99_ms"`
	Max      Millis    `json:"max_ms"`
	CPU      CPUUse    `json:"cpu"` // averaged over the windows, weighted by time
	// ServiceCPU and LoadgenCPU are the CPU time the target's processes
	// and the load generator spent per successful request, in
	// microseconds. Unlike the rate, they hardly change when other
	// processes take CPU time away: on a shared machine they are the
	// steadier measure of what a request costs.
	ServiceCPU float64 `json:"services_cpu_us_per_request"`
	LoadgenCPU float64 `json:"loadgen_cpu_us_per_request"`
}

// Millis is a duration written as fractional milliseconds in JSON.
type Millis time.Duration

// MarshalJSON writes the duration in milliseconds, to the microsecond.
func (m Millis) MarshalJSON() ([]byte, error) {
	ms := math.Round(float64(m)/float64(time.Microsecond)) / 1000
	return []byte(formatFloat(ms)), nil
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (m *Millis) UnmarshalJSON(b []byte) error {
	ms, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("milliseconds: %w", err)
	}
	*m = Millis(math.Round(ms * float64(time.Millisecond)))
	return nil
}

// Summarize combines the windows of one target.
func Summarize(target string, windows []Window) Summary {
	s := Summary{Target: target}
	var elapsed time.Duration
	var all []time.Duration
	var cpu CPUUse
	for _, w := range windows {
		elapsed += w.Elapsed
		all = append(all, w.Latencies...)
		s.Errors += w.Errors
		s.Rounds = append(s.Rounds, w.RPS())
		secs := w.Elapsed.Seconds()
		cpu.Loadgen += w.CPU.Loadgen * secs
		cpu.Services += w.CPU.Services * secs
		cpu.Others += w.CPU.Others * secs
	}
	s.Requests = len(all)
	if elapsed > 0 {
		s.RPS = float64(len(all)) / elapsed.Seconds()
		secs := elapsed.Seconds()
		s.CPU = CPUUse{Loadgen: cpu.Loadgen / secs, Services: cpu.Services / secs, Others: cpu.Others / secs}
		if len(all) > 0 {
			s.ServiceCPU = cpu.Services / float64(len(all)) * 1e6
			s.LoadgenCPU = cpu.Loadgen / float64(len(all)) * 1e6
		}
	}
	slices.Sort(all)
	s.P50 = Millis(Percentile(all, 0.50))
	s.P90 = Millis(Percentile(all, 0.90))
	s.P99 = Millis(Percentile(all, 0.99))
	if len(all) > 0 {
		s.Max = Millis(all[len(all)-1])
	}
	return s
}

// Comparison puts a subject (a kitshop hop) next to its reference (raw
// net/http doing the same job), measured in alternating rounds of the
// same run.
type Comparison struct {
	Name      string  `json:"name"`
	Subject   Summary `json:"subject"`
	Reference Summary `json:"reference"`
	// RPSRatio is Subject.RPS / Reference.RPS; RPSRatioMin and Max are the
	// lowest and highest ratio of one round's two windows.
	RPSRatio    float64 `json:"rps_ratio"`
	RPSRatioMin float64 `json:"rps_ratio_min"`
	RPSRatioMax float64 `json:"rps_ratio_max"`
	// P50Ratio and P99Ratio are Subject's percentile over Reference's.
	P50Ratio float64 `json:"p50_ratio"`
	P99Ratio float64 `json:"p99_ratio"`
	// CPURatio is Reference.ServiceCPU / Subject.ServiceCPU: what the rate
	// ratio would be if both sides were held back only by the CPU time
	// their server spends per request (the client's, for the client
	// comparison: its LoadgenCPU).
	CPURatio float64 `json:"cpu_ratio"`
	// Open, when measured, puts both sides at one fixed rate (open loop),
	// where latencies compare the sides rather than the server's queue.
	Open *OpenComparison `json:"open_loop,omitempty"`
}

// OpenComparison is a subject and its reference at one fixed rate.
type OpenComparison struct {
	Rate      float64 `json:"rate"`
	Subject   Summary `json:"subject"`
	Reference Summary `json:"reference"`
	P50Ratio  float64 `json:"p50_ratio"`
	P99Ratio  float64 `json:"p99_ratio"`
}

// Compare builds the comparison of two summaries measured in the same
// rounds (Rounds index-aligned).
func Compare(name string, subject, reference Summary) Comparison {
	c := Comparison{
		Name: name, Subject: subject, Reference: reference,
		RPSRatio: ratio(subject.RPS, reference.RPS),
		P50Ratio: ratio(float64(subject.P50), float64(reference.P50)),
		P99Ratio: ratio(float64(subject.P99), float64(reference.P99)),
		CPURatio: ratio(reference.ServiceCPU, subject.ServiceCPU),
	}
	first := true
	for i := range min(len(subject.Rounds), len(reference.Rounds)) {
		r := ratio(subject.Rounds[i], reference.Rounds[i])
		if first || r < c.RPSRatioMin {
			c.RPSRatioMin = r
		}
		if first || r > c.RPSRatioMax {
			c.RPSRatioMax = r
		}
		first = false
	}
	return c
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
