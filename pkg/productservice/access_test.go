package productservice

import (
	"net/http/httptest"
	"testing"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/transport"
)

// Who may call what on the product service, with real tokens through the
// authentication middleware: the contract's table, row by row.
func TestAccessRules(t *testing.T) {
	tokens := testkit.NewTokens(t)
	svc := NewService(openSQLite(t))
	p := mustCreateProduct(t, svc, "Widget", 250, 100)
	srv := httptest.NewServer(NewHTTPHandler(NewEndpointSet(svc, tokens.Verifier.Authenticate()), transport.Ops{Cursors: testCursors}))
	defer srv.Close()

	bearer := func(token string) map[string]string { return map[string]string{"Authorization": "Bearer " + token} }
	customer := bearer(tokens.User(t, "usr_ada", auth.RoleCustomer))
	admin := bearer(tokens.User(t, "usr_admin", auth.RoleAdmin))
	service := bearer(tokens.Service(t, "ordersvc"))
	product := `{"name":"Gadget","price_cents":100,"stock":1}`
	reserve := func(n int) string {
		return `{"order_id":"ord_` + string(rune('a'+n)) + `","items":[{"product_id":"` + p.ID + `","quantity":1}]}`
	}
	for i, tc := range []struct {
		name   string
		method string
		path   string
		header map[string]string
		body   string
		status int
	}{
		{"anyone reads the catalogue", "GET", "/v1/products", nil, "", 200},
		{"anyone reads a product", "GET", "/v1/products/" + p.ID, nil, "", 200},
		{"anonymous adds a product", "POST", "/v1/products", nil, product, 401},
		{"a customer adds a product", "POST", "/v1/products", customer, product, 403},
		{"a service adds a product", "POST", "/v1/products", service, product, 403},
		{"an admin adds a product", "POST", "/v1/products", admin, product, 201},
		{"anonymous reserves", "POST", "/v1/reservations", nil, reserve(0), 401},
		{"a customer reserves", "POST", "/v1/reservations", customer, reserve(1), 403},
		{"a customer lists reservations", "GET", "/v1/reservations", customer, "", 403},
		{"a service reserves", "POST", "/v1/reservations", service, reserve(2), 201},
		{"an admin reserves", "POST", "/v1/reservations", admin, reserve(3), 201},
		{"a service lists reservations", "GET", "/v1/reservations", service, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Idempotency-Key": "key-" + string(rune('a'+i))}
			for k, v := range tc.header {
				h[k] = v
			}
			if tc.body != "" {
				h["Content-Type"] = "application/json"
			}
			r := testkit.Do(t, tc.method, srv.URL+tc.path, tc.body, h)
			if r.Status != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, r.Status, r.Body, tc.status)
			}
		})
	}
	if got := stockOf(t, svc, p.ID); got != 98 {
		t.Fatalf("stock %d, want 98: only the service's and the admin's reservations took any", got)
	}
}
