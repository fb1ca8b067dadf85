package orderservice_test

// Three ordersvc instances as separate OS processes on one SQLite file for
// orders (and each with its product service instance on one file for
// products), as `shop -replicas 3` runs them: SQLite takes the file's
// locks (fcntl) for a process as a whole, so only separate processes
// exercise them. Each process is this test binary run again as a child
// (instanceEnv names its databases).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/productservice/productstore"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/pkg/userservice/userstore"
)

// instanceEnv makes this test binary an order service instance of
// TestRecoveryByProcessesOnOneSQLiteFile; its value is the databases, in
// JSON.
const instanceEnv = "KITSHOP_ORDER_TEST_INSTANCE"

// The recovery loops of three processes settle the orders crashed
// processes left half done, as checkSettled wants: each once. Each process
// reports the settling calls it made; no recovery pass fails.
func TestRecoveryByProcessesOnOneSQLiteFile(t *testing.T) {
	if env := os.Getenv(instanceEnv); env != "" {
		runOrderInstance(t, env)
		return
	}
	dir := t.TempDir()
	dbs := databases{"sqlite:" + filepath.Join(dir, "users.db"), "sqlite:" + filepath.Join(dir, "products.db"),
		"sqlite:" + filepath.Join(dir, "orders.db")}
	c := newCluster(t, dbs) // this process's own instances only set up and check
	left := leaveHalfDone(t, c)
	env, err := json.Marshal(map[string]string{"users": dbs.users, "products": dbs.products, "orders": dbs.orders})
	if err != nil {
		t.Fatal(err)
	}
	children := make([]*instanceProcess, instances)
	for i := range children {
		children[i] = startInstance(t, string(env))
	}
	for _, p := range children {
		p.expect(t, "ready")
	}
	for _, p := range children { // all at once
		if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	c.waitSettled()
	for _, p := range children {
		if err := p.stdin.Close(); err != nil { // tells it to stop
			t.Fatal(err)
		}
	}
	calls := &settleCalls{orders: map[string]*orderCalls{}}
	for i, p := range children {
		for line := p.expect(t, "calls "); line != "end"; line = p.expect(t, "") {
			var id string
			var n orderCalls
			var reserved bool
			if _, err := fmt.Sscanf(line, "calls %s %d %d %d %d %d %d %t", &id, &n.confirmed, &n.rejected, &n.cancelled,
				&n.markedCancelling, &n.reservationConfirmed, &n.reservationReleased, &reserved); err != nil {
				t.Fatalf("instance %d: %q: %v", i, line, err)
			}
			calls.add(id, func(c *orderCalls) {
				c.confirmed += n.confirmed
				c.rejected += n.rejected
				c.cancelled += n.cancelled
				c.markedCancelling += n.markedCancelling
				c.reservationConfirmed += n.reservationConfirmed
				c.reservationReleased += n.reservationReleased
				c.instances[i] = c.instances[i] || reserved
			})
		}
		if err := p.wait(); err != nil {
			t.Fatalf("instance %d: %v\n%s", i, err, p.stderr.String())
		}
	}
	checkSettled(t, c, left, calls)
}

// runOrderInstance is a child's side: an order service over its own
// stores, saying "ready"; on "go" it runs its recovery loop until stdin
// closes, then prints a "calls ORDER confirm reject cancel mark-cancelling
// reservation-confirm reservation-release reserved" line per order it
// called anything for, and "end". A failed recovery pass fails it.
func runOrderInstance(t *testing.T, env string) {
	var dbs map[string]string
	if err := json.Unmarshal([]byte(env), &dbs); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	users, err := userstore.Open(ctx, dbs["users"])
	if err != nil {
		t.Fatal(err)
	}
	defer users.Close()
	products, err := productstore.Open(ctx, dbs["products"])
	if err != nil {
		t.Fatal(err)
	}
	defer products.Close()
	orders := openOrderStore(t, dbs["orders"])
	calls := &settleCalls{orders: map[string]*orderCalls{}, reservations: map[string]string{}}
	var logs testkit.LogSink
	svc := orderservice.NewService(settlingStore{Store: orders, calls: calls}, usersFunc(userservice.NewService(users).GetUser),
		settlingProducts{Products: productservice.NewService(products), calls: calls}, orderservice.WithLogger(log.NewLogfmtLogger(&logs)))
	fmt.Println("ready")
	stdin := bufio.NewReader(os.Stdin)
	if line, err := stdin.ReadString('\n'); err != nil || line != "go\n" {
		t.Fatalf("waiting for go: %q, %v", line, err)
	}
	loop, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.(orderservice.Recoverer).RunRecovery(loop, 5*time.Millisecond)
	}()
	_, _ = io.Copy(io.Discard, stdin)
	stop()
	<-done
	calls.mu.Lock()
	for id, n := range calls.orders {
		fmt.Println("calls", id, n.confirmed, n.rejected, n.cancelled, n.markedCancelling, n.reservationConfirmed,
			n.reservationReleased, n.instances[0])
	}
	calls.mu.Unlock()
	fmt.Println("end")
	if strings.Contains(logs.String(), "recovery pass failed") || strings.Contains(logs.String(), "locked") {
		t.Fatalf("a recovery pass failed:\n%s", logs.String())
	}
}

// instanceProcess is a running child instance and the lines it printed.
type instanceProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr testkit.LogSink
	waited atomic.Pointer[error]
}

// startInstance runs this test again as a child instance with env; it is
// killed when the test ends, if it has not exited by then.
func startInstance(t *testing.T, env string) *instanceProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), instanceEnv+"="+env)
	p := &instanceProcess{cmd: cmd, lines: make(chan string, 64)}
	cmd.Stderr = &p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // a no-op once it exited
		_ = p.wait()
	})
	return p
}

// expect returns the child's next line starting with prefix, reading on
// for at most 20s.
func (p *instanceProcess) expect(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("instance exited before saying %q: %v\n%s", prefix, p.wait(), p.stderr.String())
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		case <-timeout:
			t.Fatalf("instance did not say %q within 20s\n%s", prefix, p.stderr.String())
		}
	}
}

// wait waits for the child to exit, once; later calls return the same.
func (p *instanceProcess) wait() error {
	if err := p.waited.Load(); err != nil {
		return *err
	}
	for range p.lines { // the reader finishes before Wait closes the pipe
	}
	err := p.cmd.Wait()
	p.waited.Store(&err)
	return err
}
