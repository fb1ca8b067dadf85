package productservice

// Three product service instances as separate OS processes on one SQLite
// file, as `shop -replicas 3` runs them: SQLite takes the file's locks
// (fcntl) for a process as a whole, so only separate processes exercise
// them. Each process is this test binary run again as a
// child (instanceEnv names its database): it serves the HTTP API on
// loopback and runs its expiry sweeper, as productsvc does.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// instanceEnv makes this test binary a product service instance of
// TestInstancesAsProcessesOnOneSQLiteFile; its value is the database URL.
const instanceEnv = "KITSHOP_PRODUCT_TEST_INSTANCE"

// processTTL is the instances' reservation TTL: long enough for the
// confirmations below to come first, short enough to wait for the rest to
// expire.
const processTTL = 1500 * time.Millisecond

// Clients send reservations to three processes at once: the same request
// under one key to all of them, and buyers with keys of their own against
// scarce stock. Every key has one reservation, answered alike by every
// process, or 409 request_in_progress; no answer is a 5xx (a writer
// waits for the file lock rather than failing). Some reservations are
// confirmed through another process; the sweepers of the three processes
// expire the rest, each once: their counts add up to the expired
// reservations, and initial stock = current stock + confirmed.
func TestInstancesAsProcessesOnOneSQLiteFile(t *testing.T) {
	if url := os.Getenv(instanceEnv); url != "" {
		runProductInstance(t, url)
		return
	}
	url := "sqlite:" + filepath.Join(t.TempDir(), "products.db")
	store := openStore(t, url) // a fourth pool, in this process, to set up and check
	svc := NewService(store)
	const initial = 40
	a := mustCreateProduct(t, svc, "scarce", 100, initial)
	b := mustCreateProduct(t, svc, "plenty", 250, 1000)

	instances := make([]*testkit.Child, 3)
	for i := range instances {
		instances[i] = testkit.StartChild(t, instanceEnv, url)
	}
	addrs := make([]string, len(instances))
	for i, p := range instances {
		addrs[i] = strings.TrimPrefix(p.Expect(t, "ready "), "ready ")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}

	const keys, repeats, buyers = 4, 3, 10
	type answer struct {
		key    string
		status int
		body   string
	}
	var answers []answer
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	send := func(addr, key, body string) {
		<-start
		status, reply, err := call(client, http.MethodPost, "http://"+addr+"/v1/reservations", key, body)
		if err != nil {
			t.Errorf("POST %s: %v", addr, err)
			return
		}
		mu.Lock()
		answers = append(answers, answer{key, status, reply})
		mu.Unlock()
	}
	for k := range keys {
		body := fmt.Sprintf(`{"order_id":"ord_same_%d","items":[{"product_id":%q,"quantity":%d}]}`, k, b.ID, k+1)
		for j := range len(addrs) * repeats {
			wg.Go(func() { send(addrs[j%len(addrs)], fmt.Sprintf("same-%d", k), body) })
		}
	}
	for i, addr := range addrs {
		for j := range buyers {
			body := fmt.Sprintf(`{"order_id":"ord_%d_%d","items":[{"product_id":%q,"quantity":%d},{"product_id":%q,"quantity":1}]}`,
				i, j, a.ID, 1+(i+j)%3, b.ID)
			wg.Go(func() { send(addr, fmt.Sprintf("buyer-%d-%d", i, j), body) })
		}
	}
	close(start)
	wg.Wait()

	same := map[string]string{} // key -> the reservation's body
	for _, ans := range answers {
		switch {
		case ans.status == http.StatusCreated:
			if first, ok := same[ans.key]; ok && first != ans.body {
				t.Errorf("key %s: two answers %s and %s", ans.key, first, ans.body)
			}
			same[ans.key] = ans.body
		case ans.status == http.StatusConflict && strings.HasPrefix(ans.key, "same-") && wireCode(ans.body) == kitshop.CodeRequestInProgress:
		case ans.status == http.StatusConflict && strings.HasPrefix(ans.key, "buyer-") && wireCode(ans.body) == kitshop.CodeInsufficientStock:
		default:
			t.Errorf("key %s: %d %s", ans.key, ans.status, ans.body)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	// Each same-key reservation: replayed alike by every process, then
	// confirmed through one of them.
	refused := 0
	for k := range keys {
		key := fmt.Sprintf("same-%d", k)
		body := fmt.Sprintf(`{"order_id":"ord_same_%d","items":[{"product_id":%q,"quantity":%d}]}`, k, b.ID, k+1)
		for _, addr := range addrs {
			status, reply, err := call(client, http.MethodPost, "http://"+addr+"/v1/reservations", key, body)
			if err != nil || status != http.StatusCreated || (same[key] != "" && reply != same[key]) {
				t.Fatalf("key %s: replay on %s = %d %s, %v; want 201 %s", key, addr, status, reply, err, same[key])
			}
			same[key] = reply
		}
		var r Reservation
		if err := json.Unmarshal([]byte(same[key]), &r); err != nil {
			t.Fatal(err)
		}
		status, reply, err := call(client, http.MethodPost, "http://"+addrs[k%len(addrs)]+"/v1/reservations/"+r.ID+"/confirm", "", "")
		switch {
		case err != nil:
			t.Fatal(err)
		case status == http.StatusConflict && wireCode(reply) == kitshop.CodeReservationExpired:
			refused++ // slower than the TTL: it expired, on the spot or by a sweeper
		case status != http.StatusOK:
			t.Fatalf("confirm %s: %d %s", r.ID, status, reply)
		}
	}

	waitFor(t, 10*time.Second, "the sweepers to expire every held reservation", func() bool {
		held, err := store.ListReservations(context.Background(), StatusHeld, "", 1)
		return err == nil && len(held) == 0
	})
	// Stop them all: no connection left for their servers to wait for,
	// then stdin closed.
	tr.CloseIdleConnections()
	for _, p := range instances {
		if err := p.Stdin.Close(); err != nil {
			t.Fatal(err)
		}
	}
	swept := 0
	for _, p := range instances {
		var n int
		if _, err := fmt.Sscanf(p.Expect(t, "expired "), "expired %d", &n); err != nil {
			t.Fatal(err)
		}
		swept += n
		if err := p.Wait(); err != nil {
			t.Fatalf("instance: %v\n%s", err, p.Stderr())
		}
	}
	counts := statusCounts(t, store)
	if counts[StatusConfirmed] != keys-refused || counts[StatusReleased] != 0 ||
		counts[StatusConfirmed]+counts[StatusExpired] != len(same) {
		t.Fatalf("reservations by status %v; want %d confirmed, the other of the %d expired", counts, keys-refused, len(same))
	}
	if swept > counts[StatusExpired] || counts[StatusExpired] > swept+refused {
		t.Fatalf("the sweepers counted %d expirations, %d reservations are expired (%d confirmations refused): want each expired once",
			swept, counts[StatusExpired], refused)
	}
	checkStockInvariant(t, svc, a.ID, initial)
	checkStockInvariant(t, svc, b.ID, 1000)
	t.Logf("%d reservations, %d confirmed, %d expired by the three processes' sweepers", len(same), counts[StatusConfirmed], swept)
}

// runProductInstance is a child's side: serve, sweep, say "ready ADDR";
// when stdin closes, stop and say "expired N", N being what its sweeper
// expired. A failed sweeper pass fails it.
func runProductInstance(t *testing.T, url string) {
	store := openStore(t, url)
	svc := NewService(store, WithReservationTTL(processTTL))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: NewHTTPHandler(NewEndpointSet(svc, testkit.AsAdmin), transport.Ops{Cursors: testCursors})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var logs testkit.LogSink
	sweeper := &countingExpirer{ReservationExpirer: store}
	ctx, cancel := context.WithCancel(context.Background())
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		RunExpirySweeper(ctx, sweeper, SweepInterval(processTTL), nil, log.NewLogfmtLogger(&logs))
	}()
	fmt.Println("ready", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	<-swept
	shutdownCtx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	<-served
	_, n := sweeper.counts()
	fmt.Println("expired", n)
	if strings.Contains(logs.String(), "level=error") {
		t.Fatalf("a sweeper pass failed:\n%s", logs.String())
	}
}

// call sends one request with an optional Idempotency-Key and JSON body,
// and returns the status and body.
func call(client *http.Client, method, url, key, body string) (int, string, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(reply), err
}

// wireCode is the code of an error body, or "".
func wireCode(body string) kitshop.Code {
	var e struct {
		Error struct {
			Code kitshop.Code `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}
