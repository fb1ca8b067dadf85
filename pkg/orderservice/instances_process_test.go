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
	"path/filepath"
	"strings"
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
	children := make([]*testkit.Child, instances)
	for i := range children {
		children[i] = testkit.StartChild(t, instanceEnv, string(env))
	}
	for _, p := range children {
		p.Expect(t, "ready")
	}
	for _, p := range children { // all at once
		if _, err := io.WriteString(p.Stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	c.waitSettled()
	for _, p := range children {
		if err := p.Stdin.Close(); err != nil { // tells it to stop
			t.Fatal(err)
		}
	}
	calls := &settleCalls{orders: map[string]*orderCalls{}}
	for i, p := range children {
		for line := p.Expect(t, "calls "); line != "end"; line = p.Expect(t, "") {
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
		if err := p.Wait(); err != nil {
			t.Fatalf("instance %d: %v\n%s", i, err, p.Stderr())
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
