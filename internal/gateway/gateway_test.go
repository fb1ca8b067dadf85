package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/transport"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

// echoBackend is a stand-in service that answers with what it received.
type echoBackend struct {
	name string
	srv  *httptest.Server
	mu   sync.Mutex
	hits int
}

type echoed struct {
	Backend   string `json:"backend"`
	Method    string `json:"method"`
	Path      string `json:"path"`
	Query     string `json:"query"`
	Body      string `json:"body"`
	RequestID string `json:"request_id"`
}

func newEchoBackend(t *testing.T, name string) *echoBackend {
	t.Helper()
	b := &echoBackend{name: name}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.hits++
		b.mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		// A real service echoes the request ID too; the gateway must not
		// send it twice.
		w.Header().Set(transport.RequestIDHeader, r.Header.Get(transport.RequestIDHeader))
		_ = transport.WriteJSON(w, http.StatusOK, echoed{b.name, r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Get(transport.RequestIDHeader)})
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *echoBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

// fixed is a fixed list of instances.
func fixed(urls ...string) sd.Instancer { return sd.FixedInstancer(urls) }

// startGateway serves New over httptest; cfg's nil instancers default to
// an address where nothing listens.
func startGateway(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	gw, _ := startGatewayWithRegistry(t, cfg)
	return gw
}

// startGatewayWithRegistry is startGateway, with the registry behind the
// gateway's /metrics.
func startGatewayWithRegistry(t *testing.T, cfg Config) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	dead := fixed("http://" + testkit.DeadAddr(t))
	for _, in := range []*sd.Instancer{&cfg.Users, &cfg.Products, &cfg.Orders} {
		if *in == nil {
			*in = dead
		}
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	client := transport.NewPooledHTTPClient()
	reg := prometheus.NewRegistry()
	g, err := New(cfg, client.Transport, log.NewNopLogger(), reg)
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(g)
	t.Cleanup(client.CloseIdleConnections) // runs before the backends close
	t.Cleanup(func() { _ = g.Close() })
	t.Cleanup(gw.Close)
	return gw, reg
}

func TestGatewayRoutesEachPrefixToItsBackend(t *testing.T) {
	users, products, orders := newEchoBackend(t, "user"), newEchoBackend(t, "product"), newEchoBackend(t, "order")
	gw := startGateway(t, Config{Users: fixed(users.srv.URL), Products: fixed(products.srv.URL), Orders: fixed(orders.srv.URL)})

	for _, tc := range []struct{ method, path, backend, wantPath, wantQuery string }{
		{"GET", "/v1/users", "user", "/v1/users", ""},
		{"POST", "/v1/users", "user", "/v1/users", ""},
		{"GET", "/v1/users/usr_1", "user", "/v1/users/usr_1", ""},
		{"GET", "/v1/users?limit=2&cursor=abc", "user", "/v1/users", "limit=2&cursor=abc"},
		{"GET", "/v1/products/prd_1", "product", "/v1/products/prd_1", ""},
		{"POST", "/v1/products", "product", "/v1/products", ""},
		{"POST", "/v1/orders", "order", "/v1/orders", ""},
		{"GET", "/v1/orders?user_id=u", "order", "/v1/orders", "user_id=u"},
		{"DELETE", "/v1/orders/ord_1", "order", "/v1/orders/ord_1", ""},
	} {
		r := testkit.Do(t, tc.method, gw.URL+tc.path, `{"x":1}`, map[string]string{"Content-Type": "application/json"})
		var got echoed
		if err := json.Unmarshal(r.Body, &got); err != nil || r.Status != 200 {
			t.Fatalf("%s %s: %d %s", tc.method, tc.path, r.Status, r.Body)
		}
		if got.Backend != tc.backend || got.Method != tc.method || got.Path != tc.wantPath || got.Query != tc.wantQuery {
			t.Errorf("%s %s reached %+v", tc.method, tc.path, got)
		}
		if tc.method == "POST" && got.Body != `{"x":1}` {
			t.Errorf("%s %s: body %q", tc.method, tc.path, got.Body)
		}
	}
}

func TestGatewayOwnRoutes(t *testing.T) {
	products := newEchoBackend(t, "product")
	gw := startGateway(t, Config{Products: fixed(products.srv.URL)})

	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"POST", "/v1/reservations", 404, "not_found"},
		{"POST", "/v1/reservations/res_1/confirm", 404, "not_found"},
		{"DELETE", "/v1/reservations/res_1", 404, "not_found"},
		{"GET", "/v2/users", 404, "not_found"},
		{"GET", "/", 404, "not_found"},
		{"POST", "/healthz", 405, "method_not_allowed"},
		{"DELETE", "/metrics", 405, "method_not_allowed"},
	} {
		r := testkit.Do(t, tc.method, gw.URL+tc.path, "", nil)
		if r.Status != tc.status || testkit.DecodeWireError(t, r.Status, r.Body).Error.Code != tc.code {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, r.Status, r.Body, tc.status, tc.code)
		}
		if tc.status == 405 && r.Header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", tc.method, tc.path)
		}
	}
	if n := products.count(); n != 0 {
		t.Errorf("reservations reached the product service %d times", n)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if r := testkit.Do(t, "GET", gw.URL+path, "", nil); r.Status != 200 || !bytes.Contains(r.Body, []byte(`"status":"ok"`)) {
			t.Errorf("GET %s = %d %s", path, r.Status, r.Body)
		}
	}
	testkit.Do(t, "GET", gw.URL+"/v1/products", "", nil)
	m := testkit.Do(t, "GET", gw.URL+"/metrics", "", nil)
	if m.Status != 200 || !bytes.Contains(m.Body, []byte(`http_request_duration_seconds_count{code="200",method="GET",route="/v1/products"}`)) {
		t.Errorf("metrics lack the proxied request:\n%s", m.Body)
	}
}

func TestGatewayDownBackendIs503WithDependency(t *testing.T) {
	users, products, orders := newEchoBackend(t, "user"), newEchoBackend(t, "product"), newEchoBackend(t, "order")
	gw := startGateway(t, Config{Users: fixed(users.srv.URL), Products: fixed(products.srv.URL), Orders: fixed(orders.srv.URL)})
	for _, b := range []*echoBackend{users, products, orders} {
		b.srv.Close()
	}
	for path, dep := range map[string]string{"/v1/users/u": "user", "/v1/products": "product", "/v1/orders": "order"} {
		r := testkit.Do(t, "GET", gw.URL+path, "", nil)
		e := testkit.DecodeWireError(t, r.Status, r.Body)
		if r.Status != 503 || e.Error.Code != "dependency_unavailable" || e.Error.Dependency != dep || r.Header.Get("Retry-After") != "1" {
			t.Errorf("GET %s = %d Retry-After %q %s", path, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
		if r.Header.Get(transport.RequestIDHeader) == "" {
			t.Errorf("GET %s: no request ID on the error", path)
		}
	}
}

func TestGatewayBrokenAnswerIs502(t *testing.T) {
	rude := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close() // no answer at all
		}
	}))
	t.Cleanup(rude.Close)
	gw := startGateway(t, Config{Orders: fixed(rude.URL)})
	r := testkit.Do(t, "POST", gw.URL+"/v1/orders", `{}`, nil)
	e := testkit.DecodeWireError(t, r.Status, r.Body)
	if r.Status != 502 || e.Error.Code != "dependency_unavailable" || e.Error.Dependency != "order" || r.Header.Get("Retry-After") != "" {
		t.Fatalf("POST /v1/orders = %d Retry-After %q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
}

func TestGatewayPassesTheRequestIDOn(t *testing.T) {
	users := newEchoBackend(t, "user")
	gw := startGateway(t, Config{Users: fixed(users.srv.URL)})

	r := testkit.Do(t, "GET", gw.URL+"/v1/users", "", map[string]string{transport.RequestIDHeader: "req-abc-123"})
	var got echoed
	_ = json.Unmarshal(r.Body, &got)
	if got.RequestID != "req-abc-123" || len(r.Header.Values(transport.RequestIDHeader)) != 1 || r.Header.Get(transport.RequestIDHeader) != "req-abc-123" {
		t.Errorf("given ID: backend saw %q, response has %q", got.RequestID, r.Header.Values(transport.RequestIDHeader))
	}
	r = testkit.Do(t, "GET", gw.URL+"/v1/users", "", nil)
	_ = json.Unmarshal(r.Body, &got)
	if id := r.Header.Get(transport.RequestIDHeader); id == "" || got.RequestID != id || len(r.Header.Values(transport.RequestIDHeader)) != 1 {
		t.Errorf("generated ID: backend saw %q, response has %q", got.RequestID, r.Header.Values(transport.RequestIDHeader))
	}
}

func TestGatewayBoundsTheWholeRequest(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	const timeout = 300 * time.Millisecond
	gw := startGateway(t, Config{Orders: fixed(slow.URL), RequestTimeout: timeout})

	start := time.Now()
	r := testkit.Do(t, "POST", gw.URL+"/v1/orders", `{}`, nil)
	took := time.Since(start)
	e := testkit.DecodeWireError(t, r.Status, r.Body)
	if r.Status != 503 || e.Error.Dependency != "order" || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("slow backend: %d %s", r.Status, r.Body)
	}
	// The answer comes within the timeout, after the attempt's share of it
	// (the timeout less small reserves for writing the answer and for what
	// precedes the attempt: attemptTimeout).
	if took < attemptTimeout(timeout) || took > timeout+time.Second {
		t.Fatalf("answered after %s with REQUEST_TIMEOUT %s", took, timeout)
	}
}

// A client whose chunked body never ends gets the gateway's 503 within
// REQUEST_TIMEOUT, as JSON, not a connection held until the server's read
// timeout: the gateway must not try to drain the body before answering.
func TestGatewayAnswersANeverEndingBodyInTime(t *testing.T) {
	backend := newEchoBackend(t, "order") // reads the whole body: never returns
	const timeout = 300 * time.Millisecond
	gw := startGateway(t, Config{Orders: fixed(backend.srv.URL), RequestTimeout: timeout})

	conn, err := net.Dial("tcp", gw.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "POST /v1/orders HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"+
		"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	trickled := make(chan struct{})
	go func() { // one more byte of body every 20ms, never the last chunk
		defer close(trickled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := io.WriteString(conn, "1\r\n \r\n"); err != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stop); <-trickled }()

	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(timeout + 2*time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer after %s: %v", time.Since(start), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e testkit.WireError
	if resp.StatusCode != 503 || json.Unmarshal(body, &e) != nil || e.Error.Code != "dependency_unavailable" || e.Error.Dependency != "order" {
		t.Fatalf("never-ending body: %d %s", resp.StatusCode, body)
	}
	if took := time.Since(start); took > timeout+time.Second {
		t.Fatalf("answered after %s with REQUEST_TIMEOUT %s", took, timeout)
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
