package discovery

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/prometheus/client_golang/prometheus"
)

// A fixed list is go-kit's sd.FixedInstancer itself (resilience asserts the
// type to follow it without a goroutine).
func TestFixedList(t *testing.T) {
	reg := prometheus.NewRegistry()
	in, stop, err := NewInstancer(context.Background(), "user", " http://a:8081/, http://b:8081 ", Options{Metrics: NewMetrics(reg)})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	stop()
	fixed, ok := in.(sd.FixedInstancer)
	if !ok || strings.Join(fixed, " ") != "http://a:8081 http://b:8081" {
		t.Fatalf("instancer %T %v, want sd.FixedInstancer of both", in, in)
	}
	if v := metricValue(t, reg, "discovery_instances", "user"); v != 2 {
		t.Fatalf("discovery_instances = %v, want 2", v)
	}
}

// A bad setting is a one-line error naming it, before any I/O.
func TestBadURLs(t *testing.T) {
	for _, raw := range []string{
		"",
		"usersvc:8081",
		"ftp://usersvc:8081",
		"grpc://usersvc:9081",
		"http://",
		"http://a:8081,dns+http://b:8081",
		"dns+http://usersvc",
		"dns+http://:8081",
		"dns+http://usersvc:0",
		"dns+http://usersvc:http",
		"dns+http://usersvc:8081/v1",
		"dns+http://usersvc:8081?x=1",
		"dns+http://a:8081,b:8081",
		"dns+grpc://usersvc:9081",
		"etcd://127.0.0.1:2379",
		"etcd://127.0.0.1:2379/",
		"etcd:///usersvc",
		"etcd://127.0.0.1/usersvc",
		"etcd://127.0.0.1:2379,/usersvc",
		"etcd://127.0.0.1:99999/usersvc",
		"etcd://127.0.0.1:2379/user/svc",
		"etcd://127.0.0.1:2379/usersvc?x=1",
	} {
		t.Run(raw, func(t *testing.T) {
			start := time.Now()
			in, stop, err := NewInstancer(context.Background(), "user", raw, Options{})
			if err == nil {
				stop()
				t.Fatalf("no error, instancer %v", in)
			}
			msg := err.Error()
			if !strings.Contains(msg, `"`+raw+`"`) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line naming the URL", msg)
			}
			if took := time.Since(start); took > 100*time.Millisecond {
				t.Fatalf("took %v: a bad URL needs no I/O", took)
			}
		})
	}
	if _, _, err := NewInstancer(context.Background(), "user", "dns+http://usersvc:8081", Options{Interval: -time.Second}); err == nil {
		t.Fatal("a negative interval was accepted")
	}
}

func TestBadRegistrations(t *testing.T) {
	for _, c := range []struct{ registry, service, advertise, want string }{
		{"", "usersvc", "http://10.0.0.5:8081", "registry URL"},
		{"http://127.0.0.1:2379", "usersvc", "http://10.0.0.5:8081", "registry URL"},
		{"etcd://127.0.0.1:2379/usersvc", "usersvc", "http://10.0.0.5:8081", "registry URL"},
		{"etcd://127.0.0.1", "usersvc", "http://10.0.0.5:8081", "registry URL"},
		{"etcd://127.0.0.1:2379", "", "http://10.0.0.5:8081", "service name"},
		{"etcd://127.0.0.1:2379", "user/svc", "http://10.0.0.5:8081", "service name"},
		{"etcd://127.0.0.1:2379", "usersvc", "", "advertise URL"},
		{"etcd://127.0.0.1:2379", "usersvc", "10.0.0.5:8081", "advertise URL"},
		{"etcd://127.0.0.1:2379", "usersvc", "/usersvc", "advertise URL"},
		{"etcd://127.0.0.1:2379", "usersvc", "grpc://10.0.0.5:9081", "advertise URL"},
		{"etcd://127.0.0.1:2379", "usersvc", "http://0.0.0.0:8081", "advertise URL"},
		{"etcd://127.0.0.1:2379", "usersvc", "http://[::]:8081", "advertise URL"},
		{"etcd://127.0.0.1:2379", "usersvc", "http://10.0.0.5:8081/v1", "advertise URL"},
		{"etcd://127.0.0.1:2379", "usersvc", "http://10.0.0.5:0", "advertise URL"},
		{"etcd://127.0.0.1:2379", "usersvc", "http://u:p@10.0.0.5:8081", "advertise URL"},
	} {
		deregister, err := Register(context.Background(), c.registry, c.service, c.advertise, Options{})
		if err == nil {
			deregister()
			t.Errorf("Register(%q, %q, %q): no error", c.registry, c.service, c.advertise)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("Register(%q, %q, %q) = %q: want one line about the %s", c.registry, c.service, c.advertise, msg, c.want)
		}
	}
}
