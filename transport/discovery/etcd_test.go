package discovery

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/etcdtest"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Instances that register appear within 1s, and vanish within 1s of their
// deregistration; other services' instances are not ours.
func TestEtcdRegisterAndDeregister(t *testing.T) {
	srv := etcdtest.New(t)
	registry := "etcd://" + srv.Endpoint()
	reg := prometheus.NewRegistry()
	s := subscribe(t, newEtcd(t, registry+"/usersvc", Options{Metrics: NewMetrics(reg)}))
	s.waitInstances(t, time.Second)

	deregister1 := registerIn(t, registry, "usersvc", "http://10.0.0.1:8081/", Options{})
	s.waitInstances(t, time.Second, "http://10.0.0.1:8081")
	registerIn(t, registry, "usersvc", "http://10.0.0.2:8081", Options{})
	registerIn(t, registry, "productsvc", "http://10.0.0.9:8082", Options{})
	s.waitInstances(t, time.Second, "http://10.0.0.1:8081", "http://10.0.0.2:8081")
	testkit.Eventually(t, time.Second, "the gauge follows", func() bool {
		return metricValue(t, reg, "discovery_instances", "user") == 2
	})

	cli := rawClient(t, srv)
	want := map[string]string{
		"/kitshop/services/usersvc/10.0.0.1:8081": "http://10.0.0.1:8081",
		"/kitshop/services/usersvc/10.0.0.2:8081": "http://10.0.0.2:8081",
	}
	if got := entries(t, cli, "/kitshop/services/usersvc/"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	ttl := leaseTTLOf(t, cli, "/kitshop/services/usersvc/10.0.0.1:8081")
	if ttl <= 0 || ttl > 5 {
		t.Fatalf("the key's lease has %ds left, want (0, 5]", ttl)
	}

	deregister1()
	deregister1()
	s.waitInstances(t, time.Second, "http://10.0.0.2:8081")
	if s.errors() != 0 {
		t.Fatalf("error events: %v", s.all())
	}
}

// leaseTTLOf returns the seconds left on key's lease.
func leaseTTLOf(t *testing.T, cli *clientv3.Client, key string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v, %d keys", key, err, len(resp.Kvs))
	}
	ttl, err := cli.TimeToLive(ctx, clientv3.LeaseID(resp.Kvs[0].Lease))
	if err != nil {
		t.Fatal(err)
	}
	return ttl.TTL
}

// childEnv, set, makes TestEtcdKeyLapsesWhenTheProcessDies the registered
// child process, registered in the etcd it names.
const childEnv = "KITSHOP_DISCOVERY_TEST_REGISTRY"

// A process that dies without deregistering (SIGKILL) leaves its key for
// no longer than 10s: the lease lapses.
func TestEtcdKeyLapsesWhenTheProcessDies(t *testing.T) {
	if registry := os.Getenv(childEnv); registry != "" {
		runRegisteredChild(t, registry)
		return
	}
	t.Parallel()
	srv := etcdtest.New(t)
	cli := rawClient(t, srv)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"=etcd://"+srv.Endpoint())
	var stderr testkit.LogSink
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe() // the child lives until it closes, or is killed
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	lines := make(chan string, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "registered" {
				lines <- sc.Text()
			}
		}
	}()
	select {
	case <-lines:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the child did not register; its stderr:\n%s", stderr.String())
	}
	if got := entries(t, cli, "/kitshop/services/usersvc/"); len(got) != 1 {
		t.Fatalf("keys after the child registered: %v", got)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // the stdout reader ends with it
	died := time.Now()
	testkit.Eventually(t, 10*time.Second, "the dead process's key lapses", func() bool {
		return len(entries(t, cli, "/kitshop/services/usersvc/")) == 0
	})
	t.Logf("the key lapsed %v after the process died", time.Since(died).Round(100*time.Millisecond))
}

// runRegisteredChild registers, says so, and lives until its stdin closes.
func runRegisteredChild(t *testing.T, registry string) {
	deregister, err := Register(context.Background(), registry, "usersvc", "http://10.0.0.7:8081", Options{})
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	defer deregister()
	fmt.Println("registered")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// etcd stopped: the receivers get one error event and keep their
// instances, the outage is logged once and counted; etcd started again:
// the instances come back, with what changed since.
func TestEtcdStoppedThenStarted(t *testing.T) {
	t.Parallel()
	srv := etcdtest.New(t)
	registry := "etcd://" + srv.Endpoint()
	registerIn(t, registry, "usersvc", "http://10.0.0.1:8081", Options{})
	var l logs
	reg := prometheus.NewRegistry()
	s := subscribe(t, newEtcd(t, registry+"/usersvc", Options{Logger: l.logger(), Metrics: NewMetrics(reg)}))
	s.waitInstances(t, 5*time.Second, "http://10.0.0.1:8081")

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 10*time.Second, "an error event", s.lastIsError)
	testkit.Eventually(t, 20*time.Second, "failed checks while etcd is down", func() bool {
		return metricValue(t, reg, "discovery_errors_total", "user") >= 3
	})
	if got := s.instances(); len(got) != 1 {
		t.Fatalf("instances kept through the outage: %v", got)
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	// A change the instancer may see only once it is connected again.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := rawClient(t, srv).Put(ctx, "/kitshop/services/usersvc/10.0.0.2:8081", "http://10.0.0.2:8081"); err != nil {
		t.Fatal(err)
	}
	s.waitInstances(t, 10*time.Second, "http://10.0.0.1:8081", "http://10.0.0.2:8081")
	if n := s.errors(); n != 1 {
		t.Fatalf("%d error events for one outage, want 1", n)
	}
	if n := l.count("failed to retrieve entries"); n != 1 {
		t.Fatalf("the outage was logged %d times, want once:\n%s", n, l.sink.String())
	}
	if n := l.count("etcd answers again"); n != 1 {
		t.Fatalf("the recovery was logged %d times, want once:\n%s", n, l.sink.String())
	}
}

// Cut off from etcd while others register and deregister, an instancer
// reads what changed meanwhile once it is connected again.
func TestEtcdPartitionPicksUpWhatChangedMeanwhile(t *testing.T) {
	t.Parallel()
	srv := etcdtest.New(t)
	registry := "etcd://" + srv.Endpoint()
	deregister1 := registerIn(t, registry, "usersvc", "http://10.0.0.1:8081", Options{})
	p := newProxy(t, srv.Endpoint())
	s := subscribe(t, newEtcd(t, "etcd://"+p.addr+"/usersvc", Options{}))
	s.waitInstances(t, 5*time.Second, "http://10.0.0.1:8081")

	p.cut()
	testkit.Eventually(t, 10*time.Second, "an error event", s.lastIsError)
	deregister1()
	registerIn(t, registry, "usersvc", "http://10.0.0.2:8081", Options{})
	p.restore(t)
	s.waitInstances(t, 10*time.Second, "http://10.0.0.2:8081")
}

// An etcd that does not answer is an error at start, within seconds, not
// a hang and not an instancer that is empty for ever.
func TestEtcdUnreachableAtStart(t *testing.T) {
	t.Parallel()
	addr := testkit.DeadAddr(t)
	reg := prometheus.NewRegistry()
	start := time.Now()
	raw := "etcd://" + addr + "/usersvc"
	in, stop, err := NewInstancer(context.Background(), "user", raw, Options{Metrics: NewMetrics(reg)})
	if err == nil {
		stop()
		t.Fatalf("no error, instancer %v", in)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %v", took)
	}
	if msg := err.Error(); !strings.Contains(msg, `"`+raw+`"`) || strings.Contains(msg, "\n") {
		t.Fatalf("error %q: want one line naming the URL", msg)
	}
	if v := metricValue(t, reg, "discovery_errors_total", "user"); v != 1 {
		t.Fatalf("discovery_errors_total = %v, want 1", v)
	}

	start = time.Now()
	deregister, err := Register(context.Background(), "etcd://"+addr, "usersvc", "http://10.0.0.1:8081", Options{})
	if err == nil {
		deregister()
		t.Fatal("Register: no error")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Register took %v", took)
	}
	if msg := err.Error(); !strings.Contains(msg, addr) || strings.Contains(msg, "\n") {
		t.Fatalf("Register error %q: want one line naming etcd", msg)
	}
}

// A registration whose lease is lost (here revoked behind its back, as a
// long outage would have it expire) registers again.
func TestRegisterAgainAfterTheLeaseIsLost(t *testing.T) {
	t.Parallel()
	srv := etcdtest.New(t)
	registry := "etcd://" + srv.Endpoint()
	var l logs
	registerIn(t, registry, "usersvc", "http://10.0.0.1:8081", Options{Logger: l.logger()})
	s := subscribe(t, newEtcd(t, registry+"/usersvc", Options{}))
	s.waitInstances(t, 5*time.Second, "http://10.0.0.1:8081")

	cli := rawClient(t, srv)
	key := "/kitshop/services/usersvc/10.0.0.1:8081"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %v", key, err)
	}
	if _, err := cli.Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatal(err)
	}
	s.waitInstances(t, 5*time.Second)
	s.waitInstances(t, 10*time.Second, "http://10.0.0.1:8081")
	// The new key is seen by watchers as it is written, a moment before
	// the registration logs it.
	testkit.Eventually(t, 5*time.Second, "the new registration logged", func() bool { return l.count("registered again") >= 1 })
	if l.count("registration lost") != 1 || l.count("registered again") != 1 {
		t.Fatalf("want one line for the loss and one for the new registration:\n%s", l.sink.String())
	}
}
