package chaos

import (
	"bytes"
	"testing"
	"time"
)

const exposition = `# HELP dependency_breaker_state Circuit breaker state per dependency instance: 0 closed, 1 half-open, 2 open.
# TYPE dependency_breaker_state gauge
dependency_breaker_state{dependency="product",instance="http://127.0.0.1:1"} 0
dependency_breaker_state{dependency="user",instance="http://127.0.0.1:2"} 2
dependency_breaker_state{dependency="user",instance="http://127.0.0.1:3"} 2
# TYPE dependency_retries_total counter
dependency_retries_total{dependency="product"} 3
dependency_retries_total{dependency="user"} 17
dependency_timeouts_total{dependency="user"} 4
dependency_short_circuits_total{dependency="user"} 250
go_goroutines 42
process_open_fds 17
orders_unresolved{status="pending"} 2
orders_unresolved{status="cancelling"} 1
http_request_duration_seconds_bucket{code="201",method="POST",route="POST /v1/orders",le="+Inf"} 9
weird{a="x\"y",b="z"} 1e3
broken line
`

func TestSampleFrom(t *testing.T) {
	s := sampleFrom(ms2(5), exposition)
	if !s.OK || s.At != ms2(5) {
		t.Fatalf("sample = %+v", s)
	}
	if s.Breaker["user"] != 2 || s.Breaker["product"] != 0 {
		t.Errorf("breakers = %v", s.Breaker)
	}
	if s.Retries["user"] != 17 || s.Retries["product"] != 3 || sumOver(s.Retries) != 20 {
		t.Errorf("retries = %v", s.Retries)
	}
	if s.Timeouts["user"] != 4 || s.ShortCircuits["user"] != 250 {
		t.Errorf("timeouts %v, short circuits %v", s.Timeouts, s.ShortCircuits)
	}
	if s.Goroutines != 42 || s.OpenFDs != 17 {
		t.Errorf("goroutines %v, fds %v", s.Goroutines, s.OpenFDs)
	}
	if s.Unresolved != 3 {
		t.Errorf("unresolved orders %v, want 3", s.Unresolved)
	}
	if s := sampleFrom(0, "go_goroutines 1\n"); s.Unresolved != -1 {
		t.Errorf("no orders_unresolved in the scrape: %v, want -1 (unknown)", s.Unresolved)
	}
}

func TestBreakerStateIsTheLeastOpenInstance(t *testing.T) {
	s := sampleFrom(0, `dependency_breaker_state{dependency="user",instance="a"} 2
dependency_breaker_state{dependency="user",instance="b"} 0`)
	if s.Breaker["user"] != 0 {
		t.Errorf("one closed instance of two: state %d, want 0 (the dependency is still available)", s.Breaker["user"])
	}
}

func TestParseLabels(t *testing.T) {
	lines := parseProm(exposition)
	var weird *promLine
	for i := range lines {
		if lines[i].name == "weird" {
			weird = &lines[i]
		}
	}
	if weird == nil || weird.labels["a"] != `x"y` || weird.labels["b"] != "z" || weird.value != 1000 {
		t.Errorf("weird = %+v", weird)
	}
}

func TestServiceLogCountsAttemptsByRequestID(t *testing.T) {
	var out bytes.Buffer
	l := newServiceLog(&out)
	lines := []string{
		`usersvc | {"request_id":"k.1","route":"GET /v1/users/{id}","status":200}`,
		`productsvc | {"request_id":"k.1","route":"POST /v1/reservations","status":503}`,
		`productsvc | {"request_id":"k.1","route":"POST /v1/reservations","status":201}`,
		`ordersvc | {"request_id":"k.1","route":"POST /v1/orders","status":201,"duration":"205.415µs","ts":"2026-11-23T09:58:23.136168051Z"}`,
		`productsvc | {"msg":"listening"}`,
		`productsvc | not json "route"`,
		`no prefix at all`,
		`ordersvc | {"component":"recovery","count":6,"msg":"recovered orders"}`,
		`ordersvc | {"component":"recovery","count":2,"msg":"recovered orders"}`,
	}
	for _, line := range lines {
		if _, err := l.Write([]byte(line + "\n")); err != nil {
			t.Fatal(err)
		}
	}
	got := l.attempts("k.1")
	if got["usersvc GET /v1/users/{id}"] != 1 || got["productsvc POST /v1/reservations"] != 2 || len(got) != 3 {
		t.Errorf("attempts = %v", got)
	}
	if s, ok := l.servedIn("k.1"); !ok || s.Took != 205415*time.Nanosecond || s.End.Nanosecond() != 136168051 {
		t.Errorf("ordersvc's own account = %+v, %v", s, ok)
	}
	if _, ok := l.servedIn("k.2"); ok {
		t.Error("time of an unknown request")
	}
	if n := l.recoveredOrders(); n != 8 {
		t.Errorf("recovered orders = %d, want 8", n)
	}
	if out.Len() == 0 {
		t.Error("output not passed on")
	}
	a := countAttempts([]Exchange{{Kind: kindLoad, RequestID: "k.1"}, {Kind: kindRedrive, RequestID: "k.1"}}, l, 1)
	if a.Max != 2 || a.Over != 1 || a.Requests != 1 || a.Worst != "k.1 productsvc POST /v1/reservations" {
		t.Errorf("attempt stats = %+v (ordersvc's own line and re-drives must not count)", a)
	}
}
