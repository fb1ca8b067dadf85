package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/pgtest"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/auth"
)

// sample is one request of the load: when it started, how long it took,
// and how it was answered.
type sample struct {
	start  time.Time
	took   time.Duration
	status int
	code   string // the error code, if any
	err    error  // a transport error: no answer at all
}

// The PostgreSQL server restarts under load (fast shutdown, down for a
// while, back on the same port). The product service keeps answering, at
// once: requests that need the database get 503 unavailable while it is
// down, /readyz turns 503, and when the server is back the service
// recovers by itself (new connections), without a restart.
func TestProductServiceRidesOutADatabaseRestart(t *testing.T) {
	srv := pgtest.Local(t)
	dbURL := pgtest.URL(t)
	addr := deadAddr(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedWriter{}
	done := make(chan error, 1)
	tokens := testkit.NewTokens(t)
	admin, jwks := tokens.User(t, "usr_admin", auth.RoleAdmin), tokens.ServeJWKS(t)
	go func() {
		done <- RunProductService(ctx, []string{"-http-addr", addr, "-database-url", dbURL, "-reservation-ttl", "1s",
			"-user-url", jwks}, mapEnv(nil), out)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("productsvc stopped with %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("productsvc did not stop")
		}
	}()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	call := func(method, path, body string) sample {
		s := sample{start: time.Now()}
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := client.Do(req)
		s.took = time.Since(s.start)
		if err != nil {
			s.err = err
			return s
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		s.status = resp.StatusCode
		var e wireError
		if json.Unmarshal(data, &e) == nil {
			s.code = e.Error.Code
		}
		return s
	}
	ready := func() int { return call("GET", "/readyz", "").status }
	waitUntil := func(what string, bound time.Duration, cond func() bool) time.Time {
		t.Helper()
		deadline := time.Now().Add(bound)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s\n%s", what, bound, out)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Now()
	}
	waitUntil("productsvc ready", 15*time.Second, func() bool { return ready() == 200 })
	created := call("POST", "/v1/products", `{"name":"widget","price_cents":100,"stock":1000000}`)
	if created.status != 201 {
		t.Fatalf("create product: %d %s", created.status, created.code)
	}
	r := do(t, "GET", base+"/v1/products?limit=1", "", nil)
	var page struct{ Items []struct{ ID string } }
	if err := json.Unmarshal(r.body, &page); err != nil || len(page.Items) != 1 {
		t.Fatalf("list products: %s", r.body)
	}
	productID := page.Items[0].ID

	// The load: reads and writes, four at a time, until told to stop.
	var mu sync.Mutex
	var samples []sample
	stop := make(chan struct{})
	var load sync.WaitGroup
	for w := range 4 {
		load.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var s sample
				if (w+i)%2 == 0 {
					s = call("GET", "/v1/products/"+productID, "")
				} else {
					s = call("POST", "/v1/products", `{"name":"w","price_cents":1,"stock":1}`)
				}
				mu.Lock()
				samples = append(samples, s)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)

	down := time.Now()
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop the server: %v", err)
	}
	stopped := time.Now()
	notReady := waitUntil("/readyz 503 with the database down", 3*time.Second, func() bool { return ready() == 503 })
	if r := do(t, "GET", base+"/readyz", "", nil); r.status != 503 || !strings.Contains(string(r.body), `"status":"unavailable"`) {
		t.Errorf("/readyz while down: %d %s", r.status, r.body)
	}
	if r := do(t, "GET", base+"/healthz", "", nil); r.status != 200 {
		t.Errorf("/healthz while the database is down: %d (liveness must not depend on it)", r.status)
	}
	time.Sleep(1500 * time.Millisecond)
	up := time.Now()
	if err := srv.Start(); err != nil {
		t.Fatalf("start the server again: %v", err)
	}
	started := time.Now()
	readyAgain := waitUntil("/readyz 200 after the database came back", 10*time.Second, func() bool { return ready() == 200 })
	time.Sleep(time.Second)
	close(stop)
	load.Wait()

	t.Logf("server stopped in %s; /readyz 503 after %s; down %s; started in %s; /readyz 200 %s after the start",
		stopped.Sub(down).Round(time.Millisecond), notReady.Sub(down).Round(time.Millisecond),
		up.Sub(down).Round(time.Millisecond), started.Sub(up).Round(time.Millisecond), readyAgain.Sub(started).Round(time.Millisecond))
	var before, during, after, failedDuring, slowest = 0, 0, 0, 0, time.Duration(0)
	counts := map[string]int{}
	for _, s := range samples {
		key := fmt.Sprint(s.status)
		if s.code != "" {
			key += " " + s.code
		}
		if s.err != nil {
			key = "no answer"
		}
		counts[key]++
		slowest = max(slowest, s.took)
		ok := s.err == nil && s.status < 300
		switch {
		case s.start.Add(s.took).Before(down):
			before++
			if !ok {
				t.Errorf("before the outage: %s after %s", key, s.took)
			}
		case s.start.After(readyAgain.Add(200 * time.Millisecond)):
			after++
			if !ok {
				t.Errorf("after recovery: %s after %s", key, s.took)
			}
		default:
			during++
			if !ok {
				failedDuring++
				// The one error code for "the database is unavailable".
				if s.err != nil || s.status != 503 || s.code != "unavailable" {
					t.Errorf("during the outage: %s after %s, want 503 unavailable", key, s.took)
				}
			}
		}
		// Nothing waits for the database: connection refused is at once.
		if s.took > 2*time.Second {
			t.Errorf("a request took %s (%s)", s.took, key)
		}
	}
	t.Logf("requests: %d before, %d around the outage (%d failed), %d after recovery; slowest %s; answers %v",
		before, during, failedDuring, after, slowest.Round(time.Millisecond), counts)
	if before == 0 || failedDuring == 0 || after == 0 {
		t.Fatalf("the load did not cover the outage: %d before, %d failed during, %d after", before, failedDuring, after)
	}
}
