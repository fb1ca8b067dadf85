package chaos

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
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
	// calls are the API calls (routes under /v1/) each instance of a
	// replica stack logged, by process name ("productsvc-2"), in the
	// order logged: which instance took how much of the traffic, when.
	calls map[string][]time.Time
}

// servedBy is what ordersvc's access log line says of a request: how long
// its handler took, and when it logged the line (as the handler ended).
type servedBy struct {
	Took time.Duration
	End  time.Time
}

func newServiceLog(out io.Writer) *serviceLog {
	return &serviceLog{out: out, hits: map[string]map[string]int{}, served: map[string]servedBy{}, calls: map[string][]time.Time{}}
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
	service, instance := serviceOf(string(name))
	if service == "ordersvc" {
		if d, err := time.ParseDuration(entry.Duration); err == nil {
			l.served[entry.RequestID] = servedBy{Took: d, End: entry.TS}
		}
	}
	if instance && strings.Contains(entry.Route, "/v1/") {
		l.calls[string(name)] = append(l.calls[string(name)], entry.TS)
	}
	// The attempts of one call are counted over every instance of the
	// service that took them.
	key := service + " " + entry.Route
	m := l.hits[entry.RequestID]
	if m == nil {
		m = map[string]int{}
		l.hits[entry.RequestID] = m
	}
	m[key]++
}

// serviceOf splits a process name: "productsvc-2" is an instance of
// productsvc; "productsvc" is the one process of it.
func serviceOf(name string) (service string, instance bool) {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i], true
		}
	}
	return name, false
}

// callsIn counts the API calls the named instance logged in [from, to).
func (l *serviceLog) callsIn(name string, from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ts := range l.calls[name] {
		if !ts.Before(from) && ts.Before(to) {
			n++
		}
	}
	return n
}

// firstCall is when the named instance logged its first API call at or
// after from.
func (l *serviceLog) firstCall(name string, from time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ts := range l.calls[name] {
		if !ts.Before(from) {
			return ts, true
		}
	}
	return time.Time{}, false
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
