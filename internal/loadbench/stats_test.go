package loadbench

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func msec(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one value is every percentile", []time.Duration{7}, 0.99, 7},
		{"p50 of 1..100 is 50", hundred, 0.50, 50 * time.Millisecond},
		{"p99 of 1..100 is 99", hundred, 0.99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 1, 100 * time.Millisecond},
		{"a tiny q is the min", hundred, 0.0001, 1 * time.Millisecond},
		// Nearest rank: the smallest value with at least q of the values
		// at or below it; 3 of 4 values are <= 30, so p75 is 30, p76 is 40.
		{"p75 of four", []time.Duration{10, 20, 30, 40}, 0.75, 30},
		{"p76 of four", []time.Duration{10, 20, 30, 40}, 0.76, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.q); got != tc.want {
				t.Fatalf("Percentile(q=%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	w1 := Window{Elapsed: time.Second, Latencies: []time.Duration{msec(3), msec(1), msec(2)}, Errors: 1,
		CPU: CPUUse{Loadgen: 0.5, Services: 1, Others: 0}}
	w2 := Window{Elapsed: 3 * time.Second, Latencies: []time.Duration{msec(4), msec(5), msec(6), msec(100), msec(7), msec(8)},
		CPU: CPUUse{Loadgen: 0.1, Services: 0.5, Others: 0.4}}
	s := Summarize("usersvc", []Window{w1, w2})
	if s.Requests != 9 || s.Errors != 1 {
		t.Fatalf("requests %d errors %d, want 9 and 1", s.Requests, s.Errors)
	}
	if want := 9.0 / 4; math.Abs(s.RPS-want) > 1e-9 {
		t.Fatalf("RPS = %v, want %v (all requests over all the time)", s.RPS, want)
	}
	if len(s.Rounds) != 2 || s.Rounds[0] != 3 || s.Rounds[1] != 2 {
		t.Fatalf("Rounds = %v, want [3 2]", s.Rounds)
	}
	if time.Duration(s.P50) != msec(5) || time.Duration(s.P99) != msec(100) || time.Duration(s.Max) != msec(100) {
		t.Fatalf("p50 %v p99 %v max %v, want 5ms 100ms 100ms", time.Duration(s.P50), time.Duration(s.P99), time.Duration(s.Max))
	}
	// CPU is averaged over time: 1s at 0.5 and 3s at 0.1.
	if want := (0.5 + 0.3) / 4; math.Abs(s.CPU.Loadgen-want) > 1e-9 {
		t.Fatalf("CPU.Loadgen = %v, want %v", s.CPU.Loadgen, want)
	}
	if empty := Summarize("none", nil); empty.RPS != 0 || empty.P99 != 0 || empty.Requests != 0 {
		t.Fatalf("summary of nothing = %+v", empty)
	}
}

func TestCompare(t *testing.T) {
	subject := Summary{RPS: 900, Rounds: []float64{800, 1000, 900}, P50: Millis(msec(2)), P99: Millis(msec(10))}
	reference := Summary{RPS: 1000, Rounds: []float64{1000, 1000, 1000}, P50: Millis(msec(1)), P99: Millis(msec(8))}
	c := Compare("x", subject, reference)
	if c.RPSRatio != 0.9 || c.RPSRatioMin != 0.8 || c.RPSRatioMax != 1.0 {
		t.Fatalf("ratio %v (%v-%v), want 0.9 (0.8-1.0)", c.RPSRatio, c.RPSRatioMin, c.RPSRatioMax)
	}
	if c.P50Ratio != 2 || c.P99Ratio != 1.25 {
		t.Fatalf("p50 ratio %v p99 ratio %v, want 2 and 1.25", c.P50Ratio, c.P99Ratio)
	}
	// A reference that got nothing done gives no ratio rather than +Inf.
	if c := Compare("x", subject, Summary{Rounds: []float64{0}}); c.RPSRatio != 0 || c.RPSRatioMin != 0 {
		t.Fatalf("ratio against nothing = %+v", c)
	}
}

func TestMillisJSON(t *testing.T) {
	b, err := json.Marshal(struct{ P Millis }{Millis(1234567 * time.Nanosecond)})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"P":1.235}` {
		t.Fatalf("got %s, want milliseconds to the microsecond", b)
	}
}

// sampleReport is a report as a run makes it, with round numbers.
func sampleReport() *Report {
	r := &Report{
		Machine:  Machine{CPUs: 2, CPUModel: "Test CPU", MemoryMiB: 1024, GoVersion: "go1.26", OS: "linux/amd64"},
		Pinning:  "load generator on CPU 0, services on CPU 1",
		Settings: Settings{Duration: time.Second, Rounds: 2, Workers: 4, OpenLoop: 8},
		Chain:    ChainBench{NsPerOp: 900, AllocsPerOp: 4, BareNsPerOp: 2},
		Comparisons: []Comparison{
			Compare(CompareServer, Summary{Target: "usersvc", RPS: 500, Rounds: []float64{500, 500}, Requests: 1000},
				Summary{Target: "raw net/http", RPS: 1000, Rounds: []float64{1000, 1000}, Requests: 2000}),
			Compare(CompareClient, Summary{Target: "resilient client", RPS: 990, Rounds: []float64{990}, P99: Millis(msec(2))},
				Summary{Target: "raw http.Client", RPS: 1000, Rounds: []float64{1000}, P99: Millis(msec(2))}),
		},
		Breaker: Breaker{Target: "fast fail", OpenedAfter: Millis(msec(50)),
			Max: Summary{RPS: 5000, Requests: 100},
			Open: []OpenLoop{{Fraction: 0.1, Rate: 2500, Summary: Summary{Requests: 100, RPS: 2500, P99: Millis(msec(0.8))},
				ServerSide: &ServerSide{Count: 100, Within1ms: 0.98, P99AtMost: Millis(msec(2.5))}}}},
		Memory: []Memory{{Process: userName, Idle: 15, Loaded: 22, Peak: 23}, {Process: rawName, Idle: 30}},
	}
	r.EvaluateGoals()
	return r
}

func TestEvaluateGoals(t *testing.T) {
	got := map[string]bool{}
	for _, g := range sampleReport().Goals {
		got[g.Name] = g.Met
	}
	want := map[string]bool{
		"go-kit server GET /v1/users/{id} throughput vs raw reference":                       false, // 0.5x
		"resilient ordersvc->usersvc call throughput vs raw http.Client":                     true,  // 0.99x
		"resilient ordersvc->usersvc call p99 vs raw http.Client (at saturation)":            true,  // 1.0x
		"breaker-open fast-fail p99 through ordersvc, at the client (open loop, 2500 req/s)": true,  // 0.8ms
		"breaker-open fast-fail p99 inside ordersvc (its own histogram, same window)":        false, // 98% within 1ms
		"in-process client chain overhead (retry, balancer, breaker, timeout)":               true,  // 898ns, 4 allocs
		"idle RSS of usersvc": true, // 15 MiB
	}
	if len(got) != len(want) {
		t.Fatalf("goals %v, want %v (the raw reference has no memory goal)", got, want)
	}
	for name, met := range want {
		if m, ok := got[name]; !ok || m != met {
			t.Errorf("goal %q: met=%v (present %v), want %v", name, m, ok, met)
		}
	}
}

func TestPrintShowsRatiosAndGoals(t *testing.T) {
	var buf bytes.Buffer
	sampleReport().Print(&buf)
	out := buf.String()
	for _, want := range []string{
		CompareServer, "0.50x (0.50-0.50)", // the ratio and its per-round range
		CompareClient, "0.99x",
		"MISSED  go-kit server", "met     resilient",
		"fast fail (user breaker open 50.0ms after the kill)",
		"usersvc   15.0", // memory table
		"Test CPU",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	path := t.TempDir() + "/r.json"
	if err := sampleReport().WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	r := readReport(t, path)
	if len(r.Comparisons) != 2 || r.Comparisons[0].RPSRatio != 0.5 || len(r.Goals) != 7 {
		t.Fatalf("read back %+v", r)
	}
}

func TestSplitCPUs(t *testing.T) {
	for _, tc := range []struct {
		allowed           []int
		loadgen, services []int
	}{
		{nil, nil, nil},
		{[]int{0}, nil, nil},
		{[]int{0, 1}, []int{0}, []int{1}},
		{[]int{3, 1, 2}, []int{1}, []int{2, 3}},
		{[]int{0, 1, 2, 3}, []int{0, 1}, []int{2, 3}},
	} {
		lg, svc := splitCPUs(tc.allowed)
		if !equalInts(lg, tc.loadgen) || !equalInts(svc, tc.services) {
			t.Errorf("splitCPUs(%v) = %v, %v; want %v, %v", tc.allowed, lg, svc, tc.loadgen, tc.services)
		}
	}
}

func TestParseInts(t *testing.T) {
	if got, err := parseInts("1, 3"); err != nil || !equalInts(got, []int{1, 3}) {
		t.Fatalf("parseInts = %v, %v", got, err)
	}
	for _, bad := range []string{"", "a", "1,,2", "-1"} {
		if _, err := parseInts(bad); err == nil {
			t.Errorf("parseInts(%q) succeeded", bad)
		}
	}
	if joinInts([]int{2, 3}) != "2,3" {
		t.Fatal("joinInts")
	}
}

func TestTailWriterKeepsTheLastLines(t *testing.T) {
	tw := newTailWriter(3)
	for _, l := range []string{"a\n", "b\n", "c\n", "d\n"} {
		_, _ = tw.Write([]byte(l))
	}
	if got := tw.String(); got != "b\nc\nd\n" {
		t.Fatalf("tail = %q", got)
	}
}

func TestStatusField(t *testing.T) {
	status := []byte("Name:\tusersvc\nVmHWM:\t   23456 kB\nVmRSS:\t   12345 kB\n")
	if v, ok := statusField(status, "VmRSS:"); !ok || v != 12345 {
		t.Fatalf("VmRSS = %d, %v", v, ok)
	}
	if _, ok := statusField(status, "VmSwap:"); ok {
		t.Fatal("found a field that is not there")
	}
}

func TestParseOptions(t *testing.T) {
	o, err := parseOptions([]string{"-duration", "2s", "-phases", "server, orders"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.window != 2*time.Second || !o.runs(phaseServer) || o.runs(phaseClient) {
		t.Fatalf("options %+v", o)
	}
	if def, _ := parseOptions(nil, &bytes.Buffer{}); def.estimate() > 2*time.Minute {
		t.Fatalf("the default run takes about %v, want at most two minutes", def.estimate())
	}
	for _, bad := range [][]string{{"-phases", "nope"}, {"-duration", "0s"}, {"-workers", "0"}, {"extra"}} {
		if _, err := parseOptions(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("parseOptions(%v) succeeded", bad)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
