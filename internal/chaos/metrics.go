package chaos

import (
	"strconv"
	"strings"
)

// Sample is one scrape of ordersvc's /metrics, as the runner uses it.
type Sample struct {
	// At is the time since the load started.
	At Millis `json:"at_ms"`
	// OK is false when the scrape failed (ordersvc down or too slow).
	OK bool `json:"ok"`
	// Breaker is each dependency's breaker state: 0 closed, 1 half-open, 2
	// open (the least open of its instances, so 2 means every instance
	// refuses).
	Breaker map[string]int `json:"breaker,omitempty"`
	// Retries, Timeouts and ShortCircuits are the dependency counters.
	Retries       map[string]float64 `json:"retries,omitempty"`
	Timeouts      map[string]float64 `json:"timeouts,omitempty"`
	ShortCircuits map[string]float64 `json:"short_circuits,omitempty"`
	// Goroutines is go_goroutines; OpenFDs is process_open_fds.
	Goroutines float64 `json:"goroutines,omitempty"`
	OpenFDs    float64 `json:"open_fds,omitempty"`
	// Unresolved is orders_unresolved summed over its statuses (pending
	// and cancelling orders), or -1 when the scrape did not have it.
	Unresolved float64 `json:"unresolved_orders"`
}

// promLine is one sample line of the Prometheus text format.
type promLine struct {
	name   string
	labels map[string]string
	value  float64
}

// parseProm reads the sample lines of a Prometheus text exposition,
// skipping comments and anything it cannot read.
func parseProm(text string) []promLine {
	var out []promLine
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		var l promLine
		rest := line
		if i := strings.IndexAny(line, "{ "); i < 0 {
			continue
		} else if line[i] == '{' {
			end := strings.LastIndexByte(line, '}')
			if end < i {
				continue
			}
			l.name, l.labels, rest = line[:i], parseLabels(line[i+1:end]), line[end+1:]
		} else {
			l.name, rest = line[:i], line[i:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		l.value = v
		out = append(out, l)
	}
	return out
}

// parseLabels reads `a="x",b="y"`; escapes in values are kept as they are
// except \" and \\, which is enough for URLs and names.
func parseLabels(s string) map[string]string {
	labels := map[string]string{}
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return labels
		}
		name := strings.TrimSpace(s[:eq])
		var val strings.Builder
		i := eq + 2
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			val.WriteByte(s[i])
		}
		labels[name] = val.String()
		s = strings.TrimLeft(s[min(i+1, len(s)):], ", ")
	}
	return labels
}

// sampleFrom turns a scrape into a Sample.
func sampleFrom(at Millis, text string) Sample {
	s := Sample{At: at, OK: true, Breaker: map[string]int{}, Retries: map[string]float64{},
		Timeouts: map[string]float64{}, ShortCircuits: map[string]float64{}, Unresolved: -1}
	for _, l := range parseProm(text) {
		dep := l.labels["dependency"]
		switch l.name {
		case "dependency_breaker_state":
			state := int(l.value)
			if cur, seen := s.Breaker[dep]; !seen || state < cur {
				s.Breaker[dep] = state
			}
		case "dependency_retries_total":
			s.Retries[dep] += l.value
		case "dependency_timeouts_total":
			s.Timeouts[dep] += l.value
		case "dependency_short_circuits_total":
			s.ShortCircuits[dep] += l.value
		case "go_goroutines":
			s.Goroutines = l.value
		case "process_open_fds":
			s.OpenFDs = l.value
		case "orders_unresolved":
			s.Unresolved = max(s.Unresolved, 0) + l.value
		}
	}
	return s
}

// counterIncrease is how much a counter grew over the samples with At in
// (from, to], starting from the last good sample at or before from. A drop
// is a restart of the process: the counter began again from zero.
func counterIncrease(samples []Sample, from, to Millis, value func(Sample) float64) float64 {
	var prev *Sample
	total := 0.0
	for i := range samples {
		s := &samples[i]
		if !s.OK {
			continue
		}
		if s.At <= from {
			prev = s
			continue
		}
		if s.At > to {
			break
		}
		v := value(*s)
		switch {
		case prev == nil:
			// No sample before the window: count from the first one in it.
		case v >= value(*prev):
			total += v - value(*prev)
		default:
			total += v
		}
		prev = s
	}
	return total
}

// sumOver adds a per-dependency counter over all dependencies.
func sumOver(m map[string]float64) float64 {
	t := 0.0
	for _, v := range m {
		t += v
	}
	return t
}
