package cli

// End to end: POST /v1/orders through the gateway of a whole shop (four
// processes on loopback), on SQLite and on PostgreSQL, in one run:
//
//	go test -run '^$' -bench ShopCreateOrder -benchtime 2000x ./internal/cli/
//
// Each order is the full saga: the gateway, ordersvc's pending order, the
// user check (usersvc), the reservation and its confirmation (productsvc)
// and the confirmed order. The load is closed-loop, 16 requests in flight;
// orders/s is the throughput. The load generator, the four services and
// the database share the machine's CPUs.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/pgtest"
)

func BenchmarkShopCreateOrder(b *testing.B) {
	if testing.Short() {
		b.Skip("starts the whole shop")
	}
	bin := buildShopB(b)
	b.Run("sqlite", func(b *testing.B) { benchShopOrders(b, bin, nil) })
	b.Run("postgres", func(b *testing.B) {
		srv := pgtest.Local(b)
		server := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/?sslmode=disable", srv.Port())
		dropShopDatabases(b, server) // fresh ones, and none left after
		b.Cleanup(func() { dropShopDatabases(b, server) })
		benchShopOrders(b, bin, []string{"-postgres", server})
	})
}

func buildShopB(b *testing.B) string {
	bin := b.TempDir() + "/shop"
	out, err := exec.Command("go", "build", "-o", bin, "github.com/kitshop/kitshop/cmd/shop").CombinedOutput()
	if err != nil {
		b.Fatalf("go build cmd/shop: %v\n%s", err, out)
	}
	return bin
}

func benchShopOrders(b *testing.B, bin string, extra []string) {
	addr := map[string]string{}
	for _, name := range []string{"usersvc", "productsvc", "ordersvc", "gateway"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr[name] = ln.Addr().String()
		ln.Close()
	}
	args := append([]string{"-data-dir", b.TempDir(), "-user-addr", addr["usersvc"], "-product-addr", addr["productsvc"],
		"-order-addr", addr["ordersvc"], "-gateway-addr", addr["gateway"]}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedWriter{}
	errc := make(chan error, 1)
	go func() {
		errc <- runShop(ctx, args, mapEnv(map[string]string{"LOG_FORMAT": "json"}), discardAfter(out, 1<<20), shopOptions{exe: bin, signals: make(chan os.Signal, 1)})
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			b.Errorf("shop: %v", err)
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "all services ready") {
		if time.Now().After(deadline) {
			b.Fatalf("shop not ready:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	gw := "http://" + addr["gateway"]
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	post := func(path, body string, header ...string) (int, string, error) {
		req, _ := http.NewRequest("POST", gw+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data), nil
	}
	var users, products []string
	for i := range 4 {
		status, body, err := post("/v1/users", fmt.Sprintf(`{"name":"Bench","email":"bench%d@example.com","password":"correct horse"}`, i))
		if err != nil || status != 201 {
			b.Fatalf("create user: %d %s %v", status, body, err)
		}
		users = append(users, idOfString(b, body))
		status, body, err = post("/v1/products", `{"name":"Widget","price_cents":250,"stock":1000000000}`)
		if err != nil || status != 201 {
			b.Fatalf("create product: %d %s %v", status, body, err)
		}
		products = append(products, idOfString(b, body))
	}
	var seq, failed atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	b.SetParallelism(8) // 16 in flight on 2 CPUs
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			n := seq.Add(1)
			body := fmt.Sprintf(`{"user_id":%q,"items":[{"product_id":%q,"quantity":1},{"product_id":%q,"quantity":2}]}`,
				users[n%4], products[n%4], products[(n+1)%4])
			began := time.Now()
			status, _, err := post("/v1/orders", body, "Idempotency-Key", fmt.Sprintf("bench-%d", n))
			mine = append(mine, time.Since(began))
			if err != nil || status != 201 {
				failed.Add(1)
			}
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "orders/s")
	if len(latencies) > 0 {
		slices.Sort(latencies)
		at := func(q float64) float64 {
			return float64(latencies[min(len(latencies)-1, int(q*float64(len(latencies))))].Microseconds()) / 1000
		}
		b.ReportMetric(at(0.50), "p50-ms")
		b.ReportMetric(at(0.99), "p99-ms")
	}
	if f := failed.Load(); f > 0 {
		b.Errorf("%d of %d orders failed", f, b.N)
	}
}

func idOfString(b *testing.B, body string) string {
	i := strings.Index(body, `"id":"`)
	if i < 0 {
		b.Fatalf("no id in %s", body)
	}
	rest := body[i+len(`"id":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// discardAfter keeps the first limit bytes written to w (the start-up
// lines) and drops the rest (the access log of the load).
func discardAfter(w io.Writer, limit int64) io.Writer {
	return &limitedWriter{w: w, left: limit}
}

type limitedWriter struct {
	w    io.Writer
	left int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.left > 0 {
		n := min(int64(len(p)), l.left)
		l.left -= n
		_, _ = l.w.Write(p[:n])
	}
	return len(p), nil
}
