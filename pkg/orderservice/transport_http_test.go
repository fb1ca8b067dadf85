package orderservice_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/transport"
)

func (s *shop) server(opts ...orderservice.Option) *httptest.Server {
	s.t.Helper()
	srv := httptest.NewServer(orderservice.NewHTTPHandler(orderservice.NewEndpointSet(s.orders, testkit.AsAdmin), transport.Ops{Cursors: testCursors}))
	s.t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, contentType, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func errorCode(t *testing.T, body string) (code, message, dependency string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message, Dependency string }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Code, e.Error.Message, e.Error.Dependency
}

func TestHTTPCreateOrderStatuses(t *testing.T) {
	s := newShop(t)
	srv := s.server()
	u, p := s.user(), s.product(300, 2)
	good := `{"user_id":"` + u.ID + `","items":[{"product_id":"` + p.ID + `","quantity":1}]}`
	for _, tc := range []struct {
		name        string
		contentType string
		body        string
		key         string
		status      int
		code        string
		field       string
	}{
		{"created", "application/json", good, "k-ok", 201, "", ""},
		{"replay", "application/json", good, "k-ok", 201, "", ""},
		{"missing content type is JSON", "", good, "", 201, "", ""},
		{"key reused", "application/json", `{"user_id":"` + u.ID + `","items":[{"product_id":"` + p.ID + `","quantity":2}]}`, "k-ok", 422, "idempotency_key_reused", ""},
		{"malformed", "application/json", `{"user_id":`, "", 400, "invalid_argument", "body"},
		{"unknown field", "application/json", `{"user_id":"x","items":[],"coupon":"FREE"}`, "", 400, "invalid_argument", "coupon"},
		{"wrong type", "application/json", `{"user_id":"x","items":[{"product_id":"p","quantity":"1"}]}`, "", 400, "invalid_argument", "items.quantity"},
		{"empty items", "application/json", `{"user_id":"x","items":[]}`, "", 400, "invalid_argument", "items"},
		{"zero quantity", "application/json", `{"user_id":"x","items":[{"product_id":"p","quantity":0}]}`, "", 400, "invalid_argument", "items[0].quantity"},
		// A left-out user_id is the caller's: the test's admin, no user of the shop's.
		{"missing user is the caller", "application/json", `{"items":[{"product_id":"` + p.ID + `","quantity":1}]}`, "", 422, "unknown_user", ""},
		{"not json", "text/plain", good, "", 415, "unsupported_media_type", ""},
		{"too large", "application/json", `{"user_id":"` + strings.Repeat("x", transport.MaxBodyBytes) + `"}`, "", 413, "payload_too_large", ""},
		{"unknown user", "application/json", `{"user_id":"usr_00000000000000000000000000","items":[{"product_id":"` + p.ID + `","quantity":1}]}`, "", 422, "unknown_user", ""},
		{"unknown product", "application/json", `{"user_id":"` + u.ID + `","items":[{"product_id":"prd_00000000000000000000000000","quantity":1}]}`, "", 422, "unknown_product", ""},
		{"insufficient stock", "application/json", `{"user_id":"` + u.ID + `","items":[{"product_id":"` + p.ID + `","quantity":5}]}`, "", 409, "insufficient_stock", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.key != "" {
				h["Idempotency-Key"] = tc.key
			}
			status, _, body := post(t, srv.URL+"/v1/orders", tc.contentType, tc.body, h)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.code == "" {
				return
			}
			code, msg, _ := errorCode(t, body)
			if code != tc.code || (tc.field != "" && !strings.HasPrefix(msg, tc.field+":")) {
				t.Fatalf("error %s %q, want %s naming %q", code, msg, tc.code, tc.field)
			}
			if tc.code == "insufficient_stock" && !strings.Contains(msg, p.ID) {
				t.Fatalf("message %q does not name the product", msg)
			}
		})
	}
}

func TestHTTPReplayIsByteIdentical(t *testing.T) {
	s := newShop(t)
	srv := s.server()
	u, p := s.user(), s.product(300, 2)
	body := `{"user_id":"` + u.ID + `","items":[{"product_id":"` + p.ID + `","quantity":1}]}`
	h := map[string]string{"Idempotency-Key": "same"}
	s1, _, b1 := post(t, srv.URL+"/v1/orders", "application/json", body, h)
	s2, _, b2 := post(t, srv.URL+"/v1/orders", "application/json", body, h)
	if s1 != 201 || s2 != 201 || b1 != b2 {
		t.Fatalf("first %d %s, replay %d %s", s1, b1, s2, b2)
	}
}

func TestHTTPDependencyUnavailableHasRetryAfter(t *testing.T) {
	s := newShop(t)
	u, p := s.user(), s.product(300, 2)
	s.orders = orderservice.NewService(s.store, usersFunc(s.getUser), s.faults,
		orderservice.WithGates(gateFunc(func() error { return nil }),
			gateFunc(func() error {
				return kitshop.DependencyUnavailable("product", 2500*time.Millisecond, errors.New("open"))
			})))
	srv := s.server()
	status, header, body := post(t, srv.URL+"/v1/orders", "application/json",
		`{"user_id":"`+u.ID+`","items":[{"product_id":"`+p.ID+`","quantity":1}]}`, nil)
	code, _, dep := errorCode(t, body)
	if status != 503 || code != "dependency_unavailable" || dep != "product" || header.Get("Retry-After") != "3" {
		t.Fatalf("got %d %s dependency=%q Retry-After=%q", status, code, dep, header.Get("Retry-After"))
	}
}

func TestHTTPReadsAndClientRoundTrip(t *testing.T) {
	s := newShop(t)
	srv := s.server()
	client := orderservice.NewHTTPClient(transport.Direct(srv.URL), nil)
	u, p := s.user(), s.product(300, 5)
	ctx := context.Background()
	o, err := client.CreateOrder(ctx, order(u.ID, "client-key", line(p, 2)))
	if err != nil || o.TotalCents != 600 {
		t.Fatalf("CreateOrder = %+v, %v", o, err)
	}
	again, err := client.CreateOrder(ctx, order(u.ID, "client-key", line(p, 2)))
	if err != nil || again.ID != o.ID {
		t.Fatalf("replay = %+v, %v", again, err)
	}
	got, err := client.GetOrder(ctx, o.ID)
	if err != nil || got.ID != o.ID || len(got.Items) != 1 || !got.CreatedAt.Equal(o.CreatedAt) {
		t.Fatalf("GetOrder = %+v, %v", got, err)
	}
	if _, err := client.GetOrder(ctx, "ord_00000000000000000000000000"); !errors.Is(err, orderservice.ErrNotFound) {
		t.Fatalf("GetOrder(missing) = %v, want ErrNotFound", err)
	}
	if _, err := client.CreateOrder(ctx, order(u.ID, "", line(p, 99))); !errors.Is(err, orderservice.ErrInsufficientStock) {
		t.Fatalf("CreateOrder(too many) = %v, want ErrInsufficientStock", err)
	}
	list, next, err := client.ListOrders(ctx, u.ID, "", 10)
	if err != nil || len(list) != 1 || next != "" {
		t.Fatalf("ListOrders = %v, %q, %v", list, next, err)
	}
	for _, q := range []string{"?limit=0", "?limit=501", "?cursor=bogus"} {
		resp, err := http.Get(srv.URL + "/v1/orders" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("GET /v1/orders%s = %d, want 400", q, resp.StatusCode)
		}
	}
	resp, err := http.Get(srv.URL + "/v1/orders/" + o.ID + "x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET unknown order = %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/v1/orders/"+o.ID, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") == "" {
		t.Errorf("DELETE order = %d Allow=%q, want 405 with Allow", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestRunRecoveryStopsWithContext(t *testing.T) {
	s := newShop(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.orders.(orderservice.Recoverer).RunRecovery(ctx, 10*time.Millisecond); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunRecovery did not stop")
	}
}
