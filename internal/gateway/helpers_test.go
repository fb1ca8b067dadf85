package gateway

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/kitshop/kitshop/internal/testkit"
)

// testInstancer is an sd.Instancer that a test changes: like go-kit's
// instancers, it sends each subscriber the whole set of instances when it
// registers and again after every change.
type testInstancer struct {
	mu        sync.Mutex
	instances []string
	subs      map[chan<- sd.Event]bool
}

func newTestInstancer(instances ...string) *testInstancer {
	return &testInstancer{instances: instances, subs: map[chan<- sd.Event]bool{}}
}

func (i *testInstancer) Register(ch chan<- sd.Event) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.subs[ch] = true
	ch <- sd.Event{Instances: append([]string(nil), i.instances...)}
}

func (i *testInstancer) Deregister(ch chan<- sd.Event) {
	i.mu.Lock()
	defer i.mu.Unlock()
	delete(i.subs, ch)
}

func (i *testInstancer) Stop() {}

// set replaces the instances and tells every subscriber.
func (i *testInstancer) set(instances ...string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.instances = instances
	for ch := range i.subs {
		ch <- sd.Event{Instances: append([]string(nil), instances...)}
	}
}

// countingServer is an instance that counts the requests it got and
// answers them with handle.
type countingServer struct {
	srv  *httptest.Server
	hits atomic.Int64
}

func newCountingServer(t *testing.T, handle http.HandlerFunc) *countingServer {
	t.Helper()
	c := &countingServer{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		handle(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *countingServer) count() int { return int(c.hits.Load()) }

// hangUp reads the request's body and closes the connection without an
// answer: an instance that broke off after the request reached it.
func hangUp(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// hang reads the request's body and answers nothing until the gateway
// gives up on the request (net/http notices a closed connection only once
// the body was read).
func hang(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// deadURL is the base URL of an instance where nothing listens.
func deadURL(t *testing.T) string { return "http://" + testkit.DeadAddr(t) }

// metric is the value of the sample named by series (name and labels, as
// /metrics prints them) in the gateway's /metrics, and whether there is
// one.
func metric(t *testing.T, gwURL, series string) (float64, bool) {
	t.Helper()
	r := testkit.Do(t, "GET", gwURL+"/metrics", "", nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(r.Body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v, true
}

// breakerSeries names an instance's breaker state series.
func breakerSeries(dependency, instance string) string {
	return fmt.Sprintf(`dependency_breaker_state{dependency=%q,instance=%q}`, dependency, instance)
}

// counter is the value of one of a dependency's counters, 0 if absent.
func counter(t *testing.T, gwURL, name, dependency string) float64 {
	t.Helper()
	v, _ := metric(t, gwURL, fmt.Sprintf(`%s{dependency=%q}`, name, dependency))
	return v
}

// waitFor polls cond until it holds, for at most five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitForSeries waits until the gateway's /metrics has (or, with present
// false, no longer has) series: the gateway has taken in the instancer's
// last change.
func waitForSeries(t *testing.T, gwURL, series string, present bool) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s present: %v", series, present), func() bool {
		_, ok := metric(t, gwURL, series)
		return ok == present
	})
}
