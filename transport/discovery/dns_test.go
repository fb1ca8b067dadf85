package discovery

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/prometheus/client_golang/prometheus"
)

func newDNS(t *testing.T, raw string, r *fakeResolver, o Options) sd.Instancer {
	t.Helper()
	o.Resolver = r
	if o.Interval == 0 {
		o.Interval = 10 * time.Millisecond
	}
	in, stop, err := NewInstancer(context.Background(), "user", raw, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return in
}

// Every address of the name is an instance, sorted, without duplicates,
// IPv6 bracketed; changes reach the subscribers, and nothing else does.
func TestDNSFollowsTheAddresses(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newResolver("10.0.0.2", "10.0.0.1", "2001:db8::1", "10.0.0.1", "::ffff:10.0.0.3")
	in := newDNS(t, "dns+http://usersvc:8081", r, Options{Metrics: NewMetrics(reg)})
	s := subscribe(t, in)
	want := []string{"http://10.0.0.1:8081", "http://10.0.0.2:8081", "http://10.0.0.3:8081", "http://[2001:db8::1]:8081"}
	if got := s.all(); len(got) != 1 || strings.Join(got[0].Instances, " ") != strings.Join(want, " ") {
		t.Fatalf("the first event, sent on Register: %v, want %v", got, want)
	}
	if v := metricValue(t, reg, "discovery_instances", "user"); v != 4 {
		t.Fatalf("discovery_instances = %v, want 4", v)
	}

	r.answer(nil, "10.0.0.2", "10.0.0.4")
	s.waitInstances(t, 5*time.Second, "http://10.0.0.2:8081", "http://10.0.0.4:8081")
	testkit.Eventually(t, 5*time.Second, "the gauge follows", func() bool {
		return metricValue(t, reg, "discovery_instances", "user") == 2
	})
	r.waitLookups(t, 5)
	if n := len(s.all()); n != 2 {
		t.Fatalf("%d events for one change, want 2 (the current set, the change): %v", n, s.all())
	}

	// A channel registering now gets the current set at once.
	late := subscribe(t, in)
	if got := late.all(); len(got) != 1 || len(got[0].Instances) != 2 {
		t.Fatalf("a late subscriber got %v", got)
	}
}

func TestDNSHTTPSAndIPv6(t *testing.T) {
	in := newDNS(t, "dns+https://usersvc:8443", newResolver("::1"), Options{})
	subscribe(t, in).waitInstances(t, time.Second, "https://[::1]:8443")
}

// A failed resolution is one error event per outage: receivers keep their
// instances; it is logged once and counted each time; once resolution
// works again, the instances are sent again, even unchanged.
func TestDNSFailureKeepsInstancesLogsOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	var l logs
	r := newResolver("10.0.0.1")
	in := newDNS(t, "dns+http://usersvc:8081", r, Options{Metrics: NewMetrics(reg), Logger: l.logger()})
	s := subscribe(t, in)

	r.answer(&net.DNSError{Err: "i/o timeout", Name: "usersvc", IsTimeout: true})
	testkit.Eventually(t, 5*time.Second, "an error event", s.lastIsError)
	r.waitLookups(t, 5)
	if n := s.errors(); n != 1 {
		t.Fatalf("%d error events for one outage, want 1", n)
	}
	if got := s.instances(); len(got) != 1 {
		t.Fatalf("instances after the error: %v", got)
	}
	if n := l.count("DNS resolution failed"); n != 1 {
		t.Fatalf("%d log lines for one outage, want 1:\n%s", n, l.sink.String())
	}
	if v := metricValue(t, reg, "discovery_errors_total", "user"); v < 5 {
		t.Fatalf("discovery_errors_total = %v, want every failed resolution (>= 5)", v)
	}
	if v := metricValue(t, reg, "discovery_instances", "user"); v != 1 {
		t.Fatalf("discovery_instances = %v during the outage, want the last known 1", v)
	}

	r.answer(nil, "10.0.0.1")
	s.waitInstances(t, 5*time.Second, "http://10.0.0.1:8081")
	if n := l.count("DNS resolution works again"); n != 1 {
		t.Fatalf("recovery logged %d times:\n%s", n, l.sink.String())
	}

	// A second outage is told again.
	r.answer(errors.New("server misbehaving"))
	testkit.Eventually(t, 5*time.Second, "a second error event", func() bool { return s.errors() == 2 })
	if n := l.count("DNS resolution failed"); n != 2 {
		t.Fatalf("%d log lines for two outages, want 2", n)
	}
}

// A name with no address, or no longer existing, has no instance: that is
// an answer, not an error.
func TestDNSNoAddressIsNoInstance(t *testing.T) {
	r := newResolver("10.0.0.1")
	s := subscribe(t, newDNS(t, "dns+http://usersvc:8081", r, Options{}))
	r.answer(nil)
	s.waitInstances(t, 5*time.Second)
	if s.errors() != 0 {
		t.Fatalf("no address made an error event: %v", s.all())
	}

	r.answer(nil, "10.0.0.1")
	s.waitInstances(t, 5*time.Second, "http://10.0.0.1:8081")
	r.answer(&net.DNSError{Err: "no such host", Name: "usersvc", IsNotFound: true})
	s.waitInstances(t, 5*time.Second)
	if s.errors() != 0 {
		t.Fatalf("NXDOMAIN made an error event: %v", s.all())
	}
}

// The first resolution must get an answer: a resolver that fails stops the
// binary at start.
func TestDNSStartFailureIsAnError(t *testing.T) {
	reg := prometheus.NewRegistry()
	for _, err := range []error{
		&net.DNSError{Err: "i/o timeout", Name: "usersvc", IsTimeout: true},
		&net.DNSError{Err: "server misbehaving", Name: "usersvc", IsTemporary: true},
	} {
		r := newResolver()
		r.answer(err)
		in, stop, gotErr := NewInstancer(context.Background(), "user", "dns+http://usersvc:8081",
			Options{Resolver: r, Metrics: NewMetrics(reg)})
		if gotErr == nil {
			stop()
			t.Fatalf("%v at start: no error, instancer %v", err, in)
		}
		if msg := gotErr.Error(); !strings.Contains(msg, `"dns+http://usersvc:8081"`) || strings.Contains(msg, "\n") {
			t.Fatalf("error %q: want one line naming the URL", msg)
		}
	}
	if v := metricValue(t, reg, "discovery_errors_total", "user"); v != 2 {
		t.Fatalf("discovery_errors_total = %v, want 2", v)
	}
	if v := metricValue(t, reg, "discovery_instances", "user"); v != -1 {
		t.Fatalf("discovery_instances of instancers that never started: %v", v)
	}
}

// Stop returns even while a subscriber is not reading, and may be called
// again; it removes the instances series.
func TestDNSStopReleasesAStuckSend(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newResolver("10.0.0.1")
	in, stop, err := NewInstancer(context.Background(), "user", "dns+http://usersvc:8081",
		Options{Resolver: r, Interval: time.Millisecond, Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan sd.Event, 1)
	in.Register(ch) // the current set fills the buffer; nobody reads
	r.answer(nil, "10.0.0.2")
	r.waitLookups(t, 1) // the loop is then blocked sending the change
	stopped := make(chan struct{})
	go func() {
		stop()
		in.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("stop blocked on a subscriber that does not read")
	}
	if v := metricValue(t, reg, "discovery_instances", "user"); v != -1 {
		t.Fatalf("discovery_instances after stop = %v, want no series", v)
	}
}

// A name that does not exist yet at start (a headless Service before its
// first pod is ready) is no instance, not a failed start: the instances
// come when the name does.
func TestDNSNameMissingAtStartIsNoInstanceYet(t *testing.T) {
	r := newResolver()
	r.answer(&net.DNSError{Err: "no such host", Name: "usersvc", IsNotFound: true})
	s := subscribe(t, newDNS(t, "dns+http://usersvc:8081", r, Options{}))
	s.waitInstances(t, 5*time.Second)
	r.answer(nil, "10.0.0.7")
	s.waitInstances(t, 5*time.Second, "http://10.0.0.7:8081")
	if s.errors() != 0 {
		t.Fatalf("a missing name made an error event: %v", s.all())
	}
}
