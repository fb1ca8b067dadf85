package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of one experiment, written as <experiment>.json.
type Report struct {
	Experiment  string    `json:"experiment"`
	Description string    `json:"description"`
	Started     time.Time `json:"started"`
	Took        Millis    `json:"took_ms"`
	Rate        int       `json:"rate"`
	Duration    Millis    `json:"duration_ms"`
	Seed        int64     `json:"seed"`
	// Target is what the services ran as (process or compose) and Stack
	// where: the databases, or the compose project and image.
	Target string `json:"target"`
	Stack  string `json:"stack"`
	// Env is the resilience settings as passed to the services;
	// BreakerOpenTimeout and RecoveryBound (heal + BREAKER_OPEN_TIMEOUT +
	// 2s, contract point 5) are drawn on the chart.
	Env                []string        `json:"env"`
	BreakerOpenTimeout Millis          `json:"breaker_open_timeout_ms"`
	RecoveryBound      Millis          `json:"recovery_bound_ms"`
	Events             []Event         `json:"events"`
	Phases             []PhaseStats    `json:"phases"`
	Probe              probeResult     `json:"probe"`
	Attempts           attemptStats    `json:"attempts"`
	Redrive            redriveResult   `json:"redrive"`
	Settle             settleResult    `json:"settle"`
	Goroutines         goroutineResult `json:"goroutines"`
	Checks             []Check         `json:"checks"`
	Passed             bool            `json:"passed"`
	BucketSize         Millis          `json:"bucket_ms"`
	Timeline           []Bucket        `json:"timeline"`
	Samples            []Sample        `json:"samples"`
	Slowest            []Exchange      `json:"slowest"`
	Outcomes           map[string]int  `json:"outcomes"` // all exchanges, by kind and outcome
	StopError          string          `json:"stop_error,omitempty"`
	Dependency         string          `json:"dependency,omitempty"`
}

// redriveResult is how many keys were asked again and how many stayed
// undecided.
type redriveResult struct {
	Keys int `json:"keys"`
	Left int `json:"left"`
}

func newReport(exp Experiment, cfg runConfig, o observations, checks []Check, events []Event) *Report {
	r := &Report{
		Experiment: exp.Name, Description: exp.Description, Dependency: exp.Dependency,
		Rate: cfg.opts.Rate, Duration: Millis(cfg.opts.Duration), Seed: cfg.opts.Seed,
		Env: cfg.settings.env(), Events: events,
		BreakerOpenTimeout: Millis(cfg.settings.BreakerOpenTimeout), RecoveryBound: Millis(cfg.settings.recoveryBound()), Probe: o.probe, Attempts: o.attempts,
		Settle: o.settle, Goroutines: o.goroutines, Checks: checks, Samples: o.samples,
		Slowest: slowest(o.exchanges, 10), Outcomes: map[string]int{},
	}
	for _, ph := range []Phase{o.steady, o.fault, o.recovery} {
		until := ph.To
		if ph.Name == "recovery" { // the last phase takes the answers that came after the load stopped
			until = Millis(math.MaxInt64)
		}
		st := phaseStatsThrough(ph, until, o.exchanges, o.samples)
		switch ph.Name {
		case "fault":
			if exp.Dependency != "" {
				st.TimeToOpen = timeToOpen(o.samples, exp.Dependency, ph.From, ph.To)
			}
			st.TimeToFast503 = timeToFast503(o.exchanges, ph.From, ph.To)
		case "recovery":
			st.TimeToRecover = timeToRecover(o.exchanges, ph.From, ph.To, minWindowCount(o.rate))
		}
		r.Phases = append(r.Phases, st)
	}
	r.Passed = true
	for _, c := range checks {
		if c.Result == Fail {
			r.Passed = false
		}
	}
	for _, ex := range o.exchanges {
		r.Outcomes[ex.Kind+" "+outcome(ex)]++
	}
	size := bucketSize(o.recovery.To.D())
	r.BucketSize = Millis(size)
	r.Timeline = timeline(o.exchanges, o.recovery.To, size)
	return r
}

// FailedChecks names the checks that failed ("4 breaker opens ...").
func (r *Report) FailedChecks() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Result == Fail {
			out = append(out, c.ID+" "+c.Name)
		}
	}
	return out
}

// writeFiles writes <experiment>.json and <experiment>.svg into dir.
func (r *Report) writeFiles(dir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, r.Experiment+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, r.Experiment+".svg"), []byte(chartSVG(r)), 0o644)
}

// printTable writes the per-phase table and the checks.
func (r *Report) printTable(w io.Writer) {
	verdict := "PASS"
	if !r.Passed {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n== %s: %s (%s)\n", r.Experiment, verdict, r.Description)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tspan\treqs\tok%\tcodes\tp50\tp99\tmax\tretries/req\topen\tfast 503\trecover\t")
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "%s\t%s-%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t\n",
			p.Name, fmtSecs(p.From), fmtSecs(p.To), p.Requests, p.SuccessPct, fmtCodes(p.Codes),
			fmtDur(p.P50.D()), fmtDur(p.P99.D()), fmtDur(p.Max.D()), p.RetriesPerRequest,
			optDur(p.TimeToOpen), optDur(p.TimeToFast503), optDur(p.TimeToRecover))
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "  events: %s\n", fmtEvents(r.Events))
	fmt.Fprintf(w, "  re-drive: %d keys, %d undecided; settle: %s, %d unresolved orders, %d held reservations; ordersvc's recovery loop settled %d orders\n",
		r.Redrive.Keys, r.Redrive.Left, fmtDur(r.Settle.Waited.D()), r.Settle.Unresolved, r.Settle.Held, r.Settle.Recovered)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "check\tresult\tmeasured\tthreshold\t")
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t\n", c.ID, c.Name, c.Result, c.Measured, c.Threshold)
	}
	_ = tw.Flush()
	for _, c := range r.Checks {
		if c.Result == Fail {
			for _, d := range c.Details {
				fmt.Fprintf(w, "  check %s: %s\n", c.ID, d)
			}
		}
	}
	if r.StopError != "" {
		fmt.Fprintf(w, "  note: services did not stop cleanly: %s\n", oneLine(r.StopError))
	}
}

// printSummary writes one line per experiment.
func printSummary(w io.Writer, reports []*Report, took time.Duration) {
	fmt.Fprintln(w, "\n== summary")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "experiment\tresult\ttook\tfailed checks\t")
	for _, r := range reports {
		res, failed := "PASS", "-"
		if !r.Passed {
			res, failed = "FAIL", strings.Join(r.FailedChecks(), "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.Experiment, res, fmtDur(r.Took.D()), failed)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "total %s\n", fmtDur(took))
}

// writeSummary writes summary.txt (the terminal's tables) and summary.json
// (one entry per experiment) into dir.
func writeSummary(dir string, reports []*Report, took time.Duration) error {
	var b strings.Builder
	for _, r := range reports {
		r.printTable(&b)
	}
	printSummary(&b, reports, took)
	if err := os.WriteFile(filepath.Join(dir, "summary.txt"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	type entry struct {
		Experiment string   `json:"experiment"`
		Passed     bool     `json:"passed"`
		Took       Millis   `json:"took_ms"`
		Failed     []string `json:"failed_checks"`
		Checks     []Check  `json:"checks"`
	}
	var entries []entry
	for _, r := range reports {
		entries = append(entries, entry{r.Experiment, r.Passed, r.Took, r.FailedChecks(), r.Checks})
	}
	data, err := json.MarshalIndent(map[string]any{"took_ms": Millis(took), "experiments": entries}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "summary.json"), append(data, '\n'), 0o644)
}

func fmtSecs(m Millis) string { return fmt.Sprintf("%.1fs", m.D().Seconds()) }

func optDur(m *Millis) string {
	if m == nil {
		return "-"
	}
	return fmtDur(m.D())
}

func fmtEvents(evs []Event) string {
	var parts []string
	for _, e := range evs {
		s := fmtSecs(e.At) + " " + e.Name
		if e.Detail != "" {
			s += " (" + e.Detail + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
