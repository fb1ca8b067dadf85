package chaos

import (
	"bytes"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// serviceLog receives the services' output (procs writes one
// "name | line" per Write): it keeps it in a file, optionally echoes it,
// and counts the access log lines by request ID, so that the attempts of
// one inbound request at each dependency route can be counted. Services log
// in JSON (the runner sets LOG_FORMAT=json); ordersvc passes the inbound
// X-Request-ID on to every downstream call.
type serviceLog struct {
	mu   sync.Mutex
	out  io.Writer
	hits map[string]map[string]int // request ID -> "service route" -> lines
	// served is ordersvc's own account of each request, by request ID:
	// set against the client's measure, it tells the service's time from
	// the network's and the schedulers'.
	served map[string]servedBy
	// recovered counts the orders ordersvc's recovery loop says it
	// finished or undid: evidence that a fault left work half done.
	recovered int
}

// servedBy is what ordersvc's access log line says of a request: how long
// its handler took, and when it logged the line (as the handler ended).
type servedBy struct {
	Took time.Duration
	End  time.Time
}

func newServiceLog(out io.Writer) *serviceLog {
	return &serviceLog{out: out, hits: map[string]map[string]int{}, served: map[string]servedBy{}}
}

// Write implements io.Writer for procs.Spec.Output.
func (l *serviceLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.out != nil {
		_, _ = l.out.Write(b)
	}
	l.note(b)
	return len(b), nil
}

// note counts b if it is an access log line.
func (l *serviceLog) note(b []byte) {
	name, line, ok := bytes.Cut(b, []byte(" | "))
	if ok && bytes.Contains(line, []byte(`"recovered orders"`)) {
		var entry struct {
			Count int `json:"count"`
		}
		if json.Unmarshal(bytes.TrimSpace(line), &entry) == nil {
			l.recovered += entry.Count
		}
		return
	}
	if !ok || !bytes.Contains(line, []byte(`"route"`)) {
		return
	}
	var entry struct {
		RequestID string    `json:"request_id"`
		Route     string    `json:"route"`
		Status    int       `json:"status"`
		Duration  string    `json:"duration"`
		TS        time.Time `json:"ts"`
	}
	if json.Unmarshal(bytes.TrimSpace(line), &entry) != nil || entry.RequestID == "" || entry.Status == 0 {
		return
	}
	if string(name) == "ordersvc" {
		if d, err := time.ParseDuration(entry.Duration); err == nil {
			l.served[entry.RequestID] = servedBy{Took: d, End: entry.TS}
		}
	}
	key := string(name) + " " + entry.Route
	m := l.hits[entry.RequestID]
	if m == nil {
		m = map[string]int{}
		l.hits[entry.RequestID] = m
	}
	m[key]++
}

// servedIn returns ordersvc's access log's account of the request, and
// whether it logged it.
func (l *serviceLog) servedIn(requestID string) (servedBy, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.served[requestID]
	return d, ok
}

// recoveredOrders is how many orders ordersvc's recovery loop settled.
func (l *serviceLog) recoveredOrders() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recovered
}

// attempts returns, for a request ID, how many requests each dependency
// route received ("productsvc POST /v1/reservations" -> 2).
func (l *serviceLog) attempts(requestID string) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.hits[requestID] {
		out[k] = v
	}
	return out
}
