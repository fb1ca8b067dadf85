package chaos

import (
	"testing"
	"time"
)

func ms2(v float64) Millis { return Millis(v * float64(time.Millisecond)) }

func TestPercentile(t *testing.T) {
	vals := func(n int) []Millis {
		out := make([]Millis, n)
		for i := range out {
			out[i] = ms2(float64(i + 1))
		}
		return out
	}
	tests := []struct {
		name   string
		sorted []Millis
		p      float64
		want   Millis
	}{
		{"empty", nil, 50, 0},
		{"one value", vals(1), 99, ms2(1)},
		{"median of 10", vals(10), 50, ms2(5)},
		{"p99 of 100", vals(100), 99, ms2(99)},
		{"p99 of 50 is the max", vals(50), 99, ms2(50)},
		{"p100", vals(7), 100, ms2(7)},
		{"p1 of 100", vals(100), 1, ms2(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func ex(start, latency float64, status int) Exchange {
	return Exchange{Kind: kindLoad, Start: ms2(start), Latency: ms2(latency), Status: status}
}

func TestPhaseStats(t *testing.T) {
	exs := []Exchange{
		ex(0, 5, 201), ex(100, 7, 201), ex(200, 9, 422), ex(300, 1, 503),
		{Kind: kindLoad, Start: ms2(400), Latency: ms2(2000), Error: "timeout"},
		ex(2950, 100, 201), // sent in the phase, answered after it
		{Kind: kindRedrive, Start: ms2(50), Latency: ms2(1), Status: 201}, // not load
	}
	samples := []Sample{
		{At: ms2(0), OK: true, Retries: map[string]float64{"user": 10}},
		{At: ms2(500), OK: true, Retries: map[string]float64{"user": 14, "product": 1}},
		{At: ms2(3500), OK: true, Retries: map[string]float64{"user": 100}},
	}
	st := phaseStats(Phase{Name: "fault", From: 0, To: ms2(3000)}, exs, samples)
	if st.Requests != 5 {
		t.Fatalf("requests = %d, want 5", st.Requests)
	}
	if st.SuccessPct != 60 {
		t.Errorf("success = %v%%, want 60%% (201, 201, 422 of 5)", st.SuccessPct)
	}
	want := map[string]int{"201": 2, "422": 1, "503": 1, "timeout": 1}
	for k, v := range want {
		if st.Codes[k] != v {
			t.Errorf("codes[%s] = %d, want %d (all %v)", k, st.Codes[k], v, st.Codes)
		}
	}
	if st.P50 != ms2(7) || st.P99 != ms2(2000) || st.Max != ms2(2000) {
		t.Errorf("p50/p99/max = %v/%v/%v, want 7ms/2s/2s", st.P50, st.P99, st.Max)
	}
	if st.Retries != 5 || st.RetriesPerRequest != 1 {
		t.Errorf("retries = %v (%v per request), want 5 (1)", st.Retries, st.RetriesPerRequest)
	}
}

func TestCounterIncreaseAcrossRestart(t *testing.T) {
	v := func(s Sample) float64 { return s.Retries["x"] }
	s := func(at float64, ok bool, val float64) Sample {
		return Sample{At: ms2(at), OK: ok, Retries: map[string]float64{"x": val}}
	}
	samples := []Sample{s(0, true, 5), s(100, true, 8), s(200, false, 0), s(300, true, 2), s(400, true, 6), s(500, true, 9)}
	if got := counterIncrease(samples, 0, ms2(400), v); got != 3+2+4 {
		t.Errorf("increase = %v, want 9 (3, then a restart from 0 to 2, then 4)", got)
	}
	if got := counterIncrease(samples, ms2(400), ms2(1000), v); got != 3 {
		t.Errorf("increase after 400ms = %v, want 3", got)
	}
}

func breakerSample(at float64, state int) Sample {
	return Sample{At: ms2(at), OK: true, Breaker: map[string]int{"user": state}}
}

func TestTimeToOpen(t *testing.T) {
	samples := []Sample{breakerSample(0, 0), breakerSample(1100, 0), {At: ms2(1200)}, breakerSample(1300, 1), breakerSample(1450, 2)}
	got := timeToOpen(samples, "user", ms2(1000), ms2(5000))
	if got == nil || *got != ms2(450) {
		t.Fatalf("time to open = %v, want 450ms", got)
	}
	if got := timeToOpen(samples, "user", ms2(1000), ms2(1400)); got != nil {
		t.Errorf("time to open before it opened = %v, want nil", *got)
	}
	if got := timeToOpen(samples, "product", ms2(1000), ms2(5000)); got != nil {
		t.Errorf("time to open of another dependency = %v, want nil", *got)
	}
}

func TestRefusedWhileOpenLeavesOutHalfOpen(t *testing.T) {
	samples := []Sample{
		breakerSample(0, 2), breakerSample(100, 2), breakerSample(200, 2),
		breakerSample(300, 1), breakerSample(400, 1), // the probe's time
		breakerSample(500, 2), breakerSample(600, 2),
	}
	spans := openSpans(samples, "user")
	if len(spans) != 2 || spans[0] != (span{0, ms2(200)}) || spans[1] != (span{ms2(500), ms2(600)}) {
		t.Fatalf("spans = %v", spans)
	}
	exs := []Exchange{ex(50, 2, 503), ex(250, 300, 503) /* the probe */, ex(350, 1, 503), ex(550, 3, 503), ex(560, 3, 201)}
	got := refusedWhileOpen(exs, spans, 0, ms2(1000))
	if len(got) != 2 || got[0].Start != ms2(50) || got[1].Start != ms2(550) {
		t.Errorf("refused while open = %v, want the 503s at 50ms and 550ms", got)
	}
}

func TestTimeToFast503(t *testing.T) {
	exs := []Exchange{ex(100, 300, 503), ex(200, 20, 503), ex(300, 2, 503), ex(250, 1, 201)}
	got := timeToFast503(exs, ms2(100), ms2(1000))
	if got == nil || *got != ms2(202) {
		t.Fatalf("time to fast 503 = %v, want 202ms (answered at 302ms)", got)
	}
	if got := timeToFast503(exs[:2], ms2(100), ms2(1000)); got != nil {
		t.Errorf("with no fast 503: %v, want nil", *got)
	}
}

// steadyLoad makes one load request every 25ms from start to end, failing
// (503) before failUntil.
func steadyLoad(start, end, failUntil float64) []Exchange {
	var exs []Exchange
	for at := start; at < end; at += 25 {
		status := 201
		if at < failUntil {
			status = 503
		}
		exs = append(exs, ex(at, 5, status))
	}
	return exs
}

func TestTimeToRecover(t *testing.T) {
	tests := []struct {
		name string
		exs  []Exchange
		want *Millis
	}{
		{"recovers 1.5s after heal", steadyLoad(1000, 6000, 2500), ptr(ms2(1500))},
		{"healthy at once", steadyLoad(1000, 6000, 0), ptr(0)},
		{"never recovers", steadyLoad(1000, 6000, 9999), nil},
		{"one failure per second keeps it below 99%", withFailuresEvery(steadyLoad(1000, 6000, 0), 900), nil},
		{"too few requests for a window", steadyLoad(1000, 1400, 0), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := timeToRecover(tt.exs, ms2(1000), ms2(6000), 20)
			switch {
			case got == nil && tt.want == nil:
			case got == nil || tt.want == nil || *got != *tt.want:
				t.Errorf("time to recover = %v, want %v", deref(got), deref(tt.want))
			}
		})
	}
}

func TestTimeToRecoverNeedsEnoughRequests(t *testing.T) {
	sparse := []Exchange{ex(1000, 1, 503), ex(1500, 1, 201), ex(3000, 1, 201), ex(3500, 1, 201)}
	if got := timeToRecover(sparse, ms2(1000), ms2(6000), 20); got != nil {
		t.Errorf("a lull counted as recovery after %v", *got)
	}
}

func withFailuresEvery(exs []Exchange, every float64) []Exchange {
	next := Millis(0)
	for i := range exs {
		if exs[i].Start >= next {
			exs[i].Status = 503
			next = exs[i].Start + ms2(every)
		}
	}
	return exs
}

func TestTimeline(t *testing.T) {
	exs := append(steadyLoad(0, 1000, 500), Exchange{Kind: kindProbe, Start: ms2(10), Status: 503})
	b := timeline(exs, ms2(1000), 250*time.Millisecond)
	if len(b) != 4 {
		t.Fatalf("%d buckets, want 4", len(b))
	}
	if b[0].Requests != 10 || b[0].SuccessPct != 0 || b[3].SuccessPct != 100 {
		t.Errorf("buckets = %+v", b)
	}
	if got := bucketSize(8 * time.Second); got != 250*time.Millisecond {
		t.Errorf("bucket for 8s = %v", got)
	}
	if got := bucketSize(20 * time.Second); got != 500*time.Millisecond {
		t.Errorf("bucket for 20s = %v", got)
	}
	if got := bucketSize(time.Minute); got != time.Second {
		t.Errorf("bucket for 1m = %v", got)
	}
}

// The timeline buckets a request by when its answer came, and keeps the
// latency of successes and of failures apart.
func TestTimelineByAnswerWithLatenciesApart(t *testing.T) {
	exs := []Exchange{
		ex(0, 10, 201), ex(10, 20, 201), ex(20, 1, 503), ex(30, 2, 503),
		ex(200, 100, 201), // sent in the first bucket, answered in the second
	}
	b := timeline(exs, ms2(250), 250*time.Millisecond)
	if len(b) != 2 || b[0].Requests != 4 || b[1].Requests != 1 {
		t.Fatalf("buckets = %+v, want 4 answers then 1", b)
	}
	if b[0].OK != 2 || b[0].OKP50 != ms2(10) || b[0].OKP99 != ms2(20) || b[0].FailedP50 != ms2(1) || b[0].FailedP99 != ms2(2) {
		t.Errorf("first bucket = %+v, want successes 10/20ms and failures 1/2ms apart", b[0])
	}
}

func TestPlanScalesAndKeepsRecoveryDecidable(t *testing.T) {
	s := defaultSettings()
	p := planFor(20*time.Second, s, 0)
	if p.steady != 4*time.Second || p.fault != 8*time.Second || p.recovery != 8*time.Second {
		t.Errorf("plan for 20s = %+v", p)
	}
	p = planFor(8*time.Second, s, 0)
	if min := s.recoveryBound() + recoverWindow; p.recovery < min {
		t.Errorf("recovery %v shorter than %v", p.recovery, min)
	}
	if p := planFor(8*time.Second, s, 500*time.Millisecond); p.fault != 500*time.Millisecond {
		t.Errorf("fault length override ignored: %+v", p)
	}
}

func ptr(m Millis) *Millis { return &m }

func deref(m *Millis) any {
	if m == nil {
		return "nil"
	}
	return *m
}
