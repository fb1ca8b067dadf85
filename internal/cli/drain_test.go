package cli

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"

	"github.com/kitshop/kitshop/internal/etcdtest"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/transport/discovery"
)

// SIGTERM (the context ending) with DRAIN_DELAY set: /readyz turns 503 at
// once, every other request is still served (with Connection: close, so
// that pooled clients move on), and the service stops only after the
// delay, cleanly.
func TestServiceDrainsBeforeStopping(t *testing.T) {
	const delay = 1500 * time.Millisecond
	addr := deadAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lockedWriter{}
	done := make(chan error, 1)
	go func() {
		done <- RunUserService(ctx, []string{"-http-addr", addr, "-drain-delay", delay.String(),
			"-database-url", "sqlite:" + filepath.Join(t.TempDir(), "users.db")}, mapEnv(nil), out)
	}()
	status := func(path string) (int, bool) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, false
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Close
	}
	testkit.Eventually(t, 10*time.Second, "usersvc ready", func() bool { s, _ := status("/readyz"); return s == 200 })

	cancel()
	stopAsked := time.Now()
	testkit.Eventually(t, time.Second, "/readyz 503 while draining", func() bool {
		s, _ := status("/readyz")
		return s == http.StatusServiceUnavailable
	})
	reply := testkit.Do(t, "GET", base+"/readyz", "", nil)
	if !strings.Contains(string(reply.Body), `"reason":"draining"`) {
		t.Errorf("/readyz while draining: %s", reply.Body)
	}
	if s, closing := status("/healthz"); s != 200 || !closing {
		t.Errorf("/healthz while draining: status %d, Connection: close %v; want 200 and true", s, closing)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("usersvc stopped with %v", err)
		}
		if took := time.Since(stopAsked); took < delay {
			t.Errorf("usersvc stopped %v after SIGTERM, before its drain delay of %v", took, delay)
		}
	case <-time.After(delay + 15*time.Second):
		t.Fatal("usersvc did not stop after its drain")
	}
	if !strings.Contains(out.String(), "msg=draining") {
		t.Errorf("no draining log line:\n%s", out.String())
	}
}

func TestServicesRejectBadLifecycleSettings(t *testing.T) {
	for _, env := range []map[string]string{
		{"DRAIN_DELAY": "-1s"},
		{"DRAIN_DELAY": "soon"},
		{"REGISTRY_URL": "etcd://127.0.0.1:2379"},
		{"ADVERTISE_URL": "http://127.0.0.1:8081"},
	} {
		env["DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "x.db")
		err := RunUserService(context.Background(), nil, mapEnv(env), &lockedWriter{})
		if err == nil || ExitCode(err) == 0 {
			t.Errorf("usersvc with %v: err = %v, want a start failure", env, err)
		}
	}
}

// With REGISTRY_URL and ADVERTISE_URL, a service is found in etcd while it
// runs, and SIGTERM takes it out first thing: gone from the registry while
// it still serves its drain.
func TestServiceRegistersAndDeregistersFirstOnSIGTERM(t *testing.T) {
	etcd := etcdtest.New(t)
	addr := deadAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- RunUserService(ctx, []string{"-http-addr", addr, "-drain-delay", "3s",
			"-registry-url", "etcd://" + etcd.Endpoint(), "-advertise-url", base,
			"-database-url", "sqlite:" + filepath.Join(t.TempDir(), "users.db")}, mapEnv(nil), &lockedWriter{})
	}()
	found, stop, err := discovery.NewInstancer(context.Background(), "usersvc", "etcd://"+etcd.Endpoint()+"/usersvc", discovery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	events := make(chan sd.Event, 16)
	found.Register(events)
	defer found.Deregister(events)
	instances := func() []string {
		var last []string
		for {
			select {
			case e := <-events:
				last = e.Instances
			default:
				return last
			}
		}
	}
	var seen []string
	testkit.Eventually(t, 10*time.Second, "usersvc registered", func() bool {
		if got := instances(); got != nil {
			seen = got
		}
		return len(seen) == 1 && seen[0] == base
	})
	cancel()
	stopAsked := time.Now()
	testkit.Eventually(t, 2*time.Second, "usersvc deregistered", func() bool {
		if got := instances(); got != nil {
			seen = got
		}
		return len(seen) == 0
	})
	if s := testkit.Do(t, "GET", base+"/healthz", "", nil); s.Status != 200 {
		t.Errorf("deregistered usersvc no longer serving during its drain: %d", s.Status)
	}
	if err := <-done; err != nil {
		t.Fatalf("usersvc stopped with %v", err)
	}
	if took := time.Since(stopAsked); took < 3*time.Second {
		t.Errorf("stopped %v after SIGTERM, before its drain delay", took)
	}
}
