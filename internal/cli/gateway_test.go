package cli

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/transport"
)

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string { return testkit.DeadAddr(t) }

type reply struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url, body string, header map[string]string) reply {
	t.Helper()
	r := testkit.Do(t, method, url, body, header)
	return reply{r.Status, r.Header, r.Body}
}

type wireError = testkit.WireError

func decodeWireError(t *testing.T, r reply) wireError {
	t.Helper()
	return testkit.DecodeWireError(t, r.status, r.body)
}

func TestRunGatewayRejectsBadSettings(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"REQUEST_TIMEOUT": "soon"}, nil, `REQUEST_TIMEOUT="soon"`},
		{map[string]string{"USER_SERVICE_URL": "ftp://users"}, nil, `-user-url (USER_SERVICE_URL): discovery: usersvc URL "ftp://users"`},
		{nil, []string{"-order-url", "localhost:8083"}, `-order-url (ORDER_SERVICE_URL): discovery: ordersvc URL "localhost:8083"`},
		{map[string]string{"PRODUCT_SERVICE_URL": "etcd://127.0.0.1:1/productsvc"}, nil, `-product-url (PRODUCT_SERVICE_URL): discovery: productsvc URL "etcd://127.0.0.1:1/productsvc"`},
		{map[string]string{"DISCOVERY_INTERVAL": "0s"}, nil, "-discovery-interval (DISCOVERY_INTERVAL) must be positive"},
		{map[string]string{"DRAIN_DELAY": "-1s"}, nil, "-drain-delay (DRAIN_DELAY) must not be negative"},
		{map[string]string{"LOG_FORMAT": "xml"}, nil, `log format "xml"`},
	} {
		err := RunGateway(context.Background(), tc.args, mapEnv(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || ExitCode(err) == 0 {
			t.Errorf("%v %v: err = %v, want one line with %q", tc.env, tc.args, err, tc.want)
		}
	}
}

func TestRunGatewayServesUntilCancelled(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	users := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = transport.WriteJSON(w, http.StatusOK, map[string]any{"items": []any{}, "next_cursor": ""})
	}))
	addr := deadAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	var out lockedWriter
	go func() {
		errc <- RunGateway(ctx, []string{"-http-addr", addr}, mapEnv(map[string]string{"USER_SERVICE_URL": users.URL}), &out)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway not listening on %s: %s", addr, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := do(t, "GET", "http://"+addr+"/v1/users", "", map[string]string{transport.RequestIDHeader: "one-id"})
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// Each backend's instances have their breaker state on /metrics.
	m := do(t, "GET", "http://"+addr+"/metrics", "", nil)
	for _, series := range []string{
		`dependency_breaker_state{dependency="user",instance="` + users.URL + `"} 0`,
		`dependency_breaker_state{dependency="order",instance="http://localhost:8083"} 0`,
	} {
		if !strings.Contains(string(m.body), series+"\n") {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "request_id=one-id") || !strings.Contains(s, "route=/v1/users") {
		t.Errorf("no access log line for the request:\n%s", s)
	}
	users.Close()
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := m[k]; ok || k != "SERVICE_SECRET" {
			return v
		}
		return testServiceSecret // every service needs one; tests set "" to go without
	}
}

// testServiceSecret is the SERVICE_SECRET of services that tests start.
const testServiceSecret = "test-service-secret-0123456789abcdef"

// lockedWriter is a buffer that a test may read while a service writes it.
type lockedWriter = testkit.LogSink
