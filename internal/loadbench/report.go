package loadbench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything one run measured; it is printed as tables and
// written as JSON.
type Report struct {
	Started  time.Time `json:"started"`
	Command  string    `json:"command"`
	Machine  Machine   `json:"machine"`
	Pinning  string    `json:"pinning"`
	Settings Settings  `json:"settings"`
	// Chain is the in-process overhead of the resilient client chain,
	// measured with testing.Benchmark before any load.
	Chain       ChainBench   `json:"chain"`
	Comparisons []Comparison `json:"comparisons"`
	Orders      Orders       `json:"orders"`
	Breaker     Breaker      `json:"breaker"`
	Memory      []Memory     `json:"memory"`
	Goals       []Goal       `json:"goals"`
	Finished    time.Time    `json:"finished"`
	Notes       []string     `json:"notes,omitempty"`
}

// Settings are the knobs of the run, as used.
type Settings struct {
	Duration time.Duration `json:"window"`
	Warmup   time.Duration `json:"warmup"`
	Rounds   int           `json:"rounds"`
	Workers  int           `json:"workers"`
	OpenLoop int           `json:"open_loop_connections"`
	Users    int           `json:"users"`
	Products int           `json:"products"`
}

// ChainBench is one testing.Benchmark of the resilient client chain around
// an endpoint that does nothing.
type ChainBench struct {
	NsPerOp     float64 `json:"ns_per_op"`
	AllocsPerOp int64   `json:"allocs_per_op"`
	BytesPerOp  int64   `json:"bytes_per_op"`
	BareNsPerOp float64 `json:"bare_ns_per_op"`
}

// Overhead is what the chain adds to the bare endpoint, in nanoseconds.
func (c ChainBench) Overhead() float64 { return c.NsPerOp - c.BareNsPerOp }

// Orders is the end-to-end order creation: its closed-loop maximum, then
// the latency at fixed fractions of that maximum.
type Orders struct {
	Target string     `json:"target"`
	Max    Summary    `json:"max"`
	Open   []OpenLoop `json:"open_loop"`
}

// OpenLoop is a fixed-rate window: requests are started on schedule
// whatever the answers do, and each latency runs from its scheduled start.
type OpenLoop struct {
	Fraction float64 `json:"fraction_of_max"`
	Rate     float64 `json:"rate"`
	Summary
	// ServerSide is the service's own histogram of the window, where
	// measured.
	ServerSide *ServerSide `json:"server_side,omitempty"`
}

// Breaker is the fast-fail path: usersvc killed, its breaker open.
type Breaker struct {
	Target string `json:"target"`
	// OpenedAfter is from the kill until ordersvc's /readyz reported the
	// user breaker open.
	OpenedAfter Millis     `json:"opened_after_ms"`
	Max         Summary    `json:"max"`
	Open        []OpenLoop `json:"open_loop"`
	// Floor is raw net/http's GET at the rate of the first open-loop
	// window: what this machine's loopback, scheduler and load generator
	// alone give at that rate.
	Floor *OpenLoop `json:"raw_floor,omitempty"`
}

// Memory is one process's resident set size, in MiB.
type Memory struct {
	Process string  `json:"process"`
	Idle    float64 `json:"idle_mib"`
	Loaded  float64 `json:"loaded_mib"` // highest VmRSS sampled under load
	Peak    float64 `json:"peak_mib"`   // VmHWM at the end
}

// Goal is one of the targets, and how this run did against it.
type Goal struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// Comparison names, as Report.Comparisons holds them.
const (
	CompareServer = "GET /v1/users/{id}: usersvc (go-kit) vs raw net/http server"
	CompareKit    = "GET /v1/users/{id}: go-kit alone (usersvc's endpoint, no middleware) vs raw net/http"
	CompareClient = "ordersvc->usersvc GetUser: resilient client vs raw http.Client"
	// CompareClientTimeout is the same with a per-call deadline on the raw
	// client too (http.Client.Timeout = CALL_TIMEOUT's default).
	CompareClientTimeout = "ordersvc->usersvc GetUser: resilient client vs raw http.Client with Client.Timeout"
	CompareGateway       = "GET /v1/users/{id}: through the gateway vs direct to usersvc"
)

// comparison returns the named comparison, if the run made it.
func (r *Report) comparison(name string) (Comparison, bool) {
	for _, c := range r.Comparisons {
		if c.Name == name {
			return c, true
		}
	}
	return Comparison{}, false
}

// EvaluateGoals sets r.Goals from the measurements.
func (r *Report) EvaluateGoals() {
	r.Goals = nil
	if c, ok := r.comparison(CompareServer); ok {
		r.Goals = append(r.Goals, Goal{Name: "go-kit server GET /v1/users/{id} throughput vs raw reference",
			Want: ">= 0.90x", Got: ratioAndCPU(c), Met: c.RPSRatio >= 0.90})
	}
	if c, ok := r.comparison(CompareKit); ok {
		r.Goals = append(r.Goals, Goal{Name: "the same, go-kit alone (usersvc's service and endpoint; no middleware)",
			Want: ">= 0.90x", Got: ratioAndCPU(c), Met: c.RPSRatio >= 0.90})
	}
	if c, ok := r.comparison(CompareClient); ok {
		r.Goals = append(r.Goals, Goal{Name: "resilient ordersvc->usersvc call throughput vs raw http.Client",
			Want: ">= 0.97x", Got: ratioAndCPU(c), Met: c.RPSRatio >= 0.97})
		if o := c.Open; o != nil {
			r.Goals = append(r.Goals, Goal{Name: fmt.Sprintf("resilient ordersvc->usersvc call p99 vs raw http.Client (both at %.0f req/s)", o.Rate),
				Want: "<= 1.10x", Got: fmt.Sprintf("%.2fx (%s vs %s); at saturation %.2fx", o.P99Ratio, ms(o.Subject.P99), ms(o.Reference.P99), c.P99Ratio),
				Met: o.P99Ratio <= 1.10})
		} else {
			r.Goals = append(r.Goals, Goal{Name: "resilient ordersvc->usersvc call p99 vs raw http.Client (at saturation)",
				Want: "<= 1.10x", Got: fmt.Sprintf("%.2fx (%s vs %s)", c.P99Ratio, ms(c.Subject.P99), ms(c.Reference.P99)),
				Met: c.P99Ratio <= 1.10})
		}
	}
	if c, ok := r.comparison(CompareClientTimeout); ok {
		r.Goals = append(r.Goals, Goal{Name: "the same, against a raw client with the same per-call deadline (Client.Timeout)",
			Want: ">= 0.97x", Got: ratioAndCPU(c), Met: c.RPSRatio >= 0.97})
	}
	if len(r.Breaker.Open) > 0 {
		o := r.Breaker.Open[0]
		got := ms(o.P99)
		if f := r.Breaker.Floor; f != nil {
			got += fmt.Sprintf(" (raw net/http at the same rate: %s)", ms(f.P99))
		}
		r.Goals = append(r.Goals, Goal{Name: fmt.Sprintf("breaker-open fast-fail p99 through ordersvc, at the client (open loop, %.0f req/s)", o.Rate),
			Want: "< 1 ms", Got: got, Met: o.Requests > 0 && time.Duration(o.P99) < time.Millisecond})
		if ss := o.ServerSide; ss != nil && ss.Count > 0 {
			r.Goals = append(r.Goals, Goal{Name: "breaker-open fast-fail p99 inside ordersvc (its own histogram, same window)",
				Want: "< 1 ms", Got: fmt.Sprintf("p99 <= %s; %.2f%% within 1ms", ms(ss.P99AtMost), 100*ss.Within1ms),
				Met: ss.Within1ms >= 0.99})
		}
	}
	if r.Chain.NsPerOp > 0 {
		r.Goals = append(r.Goals, Goal{Name: "in-process client chain overhead (retry, balancer, breaker, timeout)",
			Want: "<= 1µs, <= 6 allocs",
			Got:  fmt.Sprintf("%.0f ns, %d allocs", r.Chain.Overhead(), r.Chain.AllocsPerOp),
			Met:  r.Chain.Overhead() <= 1000 && r.Chain.AllocsPerOp <= 6})
	}
	for _, m := range r.Memory {
		if m.Process == rawName || m.Process == kitName {
			continue
		}
		r.Goals = append(r.Goals, Goal{Name: "idle RSS of " + m.Process,
			Want: "<= 20 MiB", Got: fmt.Sprintf("%.1f MiB", m.Idle), Met: m.Idle <= 20})
	}
}

// Print writes the report as tables.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\n== machine: %s\n", r.Machine)
	fmt.Fprintf(w, "== pinning: %s\n", r.Pinning)
	fmt.Fprintf(w, "== %d rounds of %s windows (after %s warm-up), %d workers closed loop, %d connections open loop\n",
		r.Settings.Rounds, r.Settings.Duration, r.Settings.Warmup, r.Settings.Workers, r.Settings.OpenLoop)

	fmt.Fprintf(w, "\n-- each hop vs raw net/http (same run, alternating rounds; ratio = subject/reference, range = per round;\n"+
		"   CPU ratio = reference's CPU per request / subject's: the servers', or the clients' (loadgen) for the client comparison)\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "comparison\tside\treq/s\tp50\tp99\tmax\terrors\tCPU cores loadgen/services/others\tCPU µs/req services/loadgen\tratio req/s (range)\tCPU ratio\tp50 ratio\tp99 ratio")
	for _, c := range r.Comparisons {
		for i, s := range []Summary{c.Subject, c.Reference} {
			name, ratios := "", "\t\t\t"
			if i == 0 {
				name = c.Name
				ratios = fmt.Sprintf("%s\t%.2fx\t%.2fx\t%.2fx", ratioRange(c), c.CPURatio, c.P50Ratio, c.P99Ratio)
			}
			fmt.Fprintf(tw, "%s\t%s\t%.0f\t%s\t%s\t%s\t%d\t%s\t%.0f/%.0f\t%s\n", name, s.Target, s.RPS, ms(s.P50), ms(s.P99), ms(s.Max),
				s.Errors, cpu(s.CPU), s.ServiceCPU, s.LoadgenCPU, ratios)
		}
	}
	_ = tw.Flush()
	for _, c := range r.Comparisons {
		if o := c.Open; o != nil {
			fmt.Fprintf(w, "%s, both at %.0f req/s (open loop): p50 %s vs %s (%.2fx), p99 %s vs %s (%.2fx)\n", c.Name, o.Rate,
				ms(o.Subject.P50), ms(o.Reference.P50), o.P50Ratio, ms(o.Subject.P99), ms(o.Reference.P99), o.P99Ratio)
		}
	}

	if r.Orders.Max.Requests > 0 || len(r.Orders.Open) > 0 {
		fmt.Fprintf(w, "\n-- %s\n", r.Orders.Target)
		printLoad(w, r.Orders.Max, r.Orders.Open)
	}
	if r.Breaker.Max.Requests > 0 || len(r.Breaker.Open) > 0 {
		fmt.Fprintf(w, "\n-- %s (user breaker open %s after the kill)\n", r.Breaker.Target, ms(r.Breaker.OpenedAfter))
		open := r.Breaker.Open
		if f := r.Breaker.Floor; f != nil {
			open = append(slices.Clone(open), *f)
		}
		printLoad(w, r.Breaker.Max, open)
		for _, o := range r.Breaker.Open {
			if ss := o.ServerSide; ss != nil && ss.Count > 0 {
				fmt.Fprintf(w, "ordersvc's own histogram, open loop %.0f%%: %.0f answers, %.2f%% within 0.5ms, %.2f%% within 1ms, p99 <= %s\n",
					o.Fraction*100, ss.Count, 100*ss.Within500us, 100*ss.Within1ms, ms(ss.P99AtMost))
			}
		}
	}

	if len(r.Memory) > 0 {
		fmt.Fprintf(w, "\n-- resident memory (MiB): idle = after start, before any load; loaded = highest VmRSS sampled under load; peak = VmHWM\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "process\tidle\tloaded\tpeak")
		for _, m := range r.Memory {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\n", m.Process, m.Idle, m.Loaded, m.Peak)
		}
		_ = tw.Flush()
	}

	if r.Chain.NsPerOp > 0 {
		fmt.Fprintf(w, "\n-- in-process client chain (testing.Benchmark, caller deadline later than CallTimeout as in ordersvc): %.0f ns/op, %d allocs/op, %d B/op; bare endpoint %.1f ns/op\n",
			r.Chain.NsPerOp, r.Chain.AllocsPerOp, r.Chain.BytesPerOp, r.Chain.BareNsPerOp)
	}

	fmt.Fprintf(w, "\n-- goals\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, g := range r.Goals {
		verdict := "met"
		if !g.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%s\twant %s\tgot %s\n", verdict, g.Name, g.Want, g.Got)
	}
	_ = tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// printLoad writes a closed-loop maximum and the open-loop windows after it.
func printLoad(w io.Writer, max Summary, open []OpenLoop) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "load\treq/s\tp50\tp90\tp99\tmax\terrors\tCPU cores loadgen/services/others\tservices CPU µs/req")
	fmt.Fprintf(tw, "closed loop (max)\t%.0f\t%s\t%s\t%s\t%s\t%d\t%s\t%.0f\n", max.RPS, ms(max.P50), ms(max.P90), ms(max.P99), ms(max.Max),
		max.Errors, cpu(max.CPU), max.ServiceCPU)
	for _, o := range open {
		label := "open loop"
		if o.Target != max.Target && o.Target != "" {
			label = o.Target + ", open loop"
		}
		fmt.Fprintf(tw, label+" %.0f%% (%.0f req/s asked)\t%.0f\t%s\t%s\t%s\t%s\t%d\t%s\t%.0f\n", o.Fraction*100, o.Rate, o.RPS,
			ms(o.P50), ms(o.P90), ms(o.P99), ms(o.Max), o.Errors, cpu(o.CPU), o.ServiceCPU)
	}
	_ = tw.Flush()
}

// WriteJSON writes the report to path, indented.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func ratioRange(c Comparison) string {
	return fmt.Sprintf("%.2fx (%.2f-%.2f)", c.RPSRatio, c.RPSRatioMin, c.RPSRatioMax)
}

// ratioAndCPU is ratioRange with the CPU ratio beside it.
func ratioAndCPU(c Comparison) string {
	return fmt.Sprintf("%s; CPU per request %.2fx", ratioRange(c), c.CPURatio)
}

// ms formats a duration in milliseconds with three significant decimals
// below 10 ms.
func ms(m Millis) string {
	v := float64(time.Duration(m)) / float64(time.Millisecond)
	switch {
	case v < 1:
		return strconv.FormatFloat(v, 'f', 3, 64) + "ms"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + "ms"
}

func cpu(c CPUUse) string {
	return fmt.Sprintf("%.2f/%.2f/%.2f", c.Loadgen, c.Services, c.Others)
}

func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if strings.ContainsAny(s, "eE") {
		s = strconv.FormatFloat(f, 'f', 6, 64)
	}
	return s
}
