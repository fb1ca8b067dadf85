package userservice

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/transport"
)

// Who may call what on the user service, with real tokens through the
// authentication middleware: the contract's table, row by row.
func TestAccessRules(t *testing.T) {
	tokens := testkit.NewTokens(t)
	svc, _ := newTestService(t)
	ada, err := svc.CreateUser(context.Background(), validRequest("ada@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	grace, err := svc.CreateUser(context.Background(), validRequest("grace@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHTTPHandler(NewEndpointSet(svc, tokens.Verifier.Authenticate()), transport.Ops{Cursors: testCursors}))
	defer srv.Close()

	bearer := func(token string) map[string]string { return map[string]string{"Authorization": "Bearer " + token} }
	anonymous := map[string]string(nil)
	customer := bearer(tokens.User(t, ada.ID, auth.RoleCustomer))
	admin := bearer(tokens.User(t, "usr_admin", auth.RoleAdmin))
	service := bearer(tokens.Service(t, "ordersvc"))
	forged := bearer(tokens.User(t, ada.ID, auth.RoleCustomer) + "x")
	for _, tc := range []struct {
		name   string
		method string
		path   string
		header map[string]string
		status int
	}{
		{"anyone signs up", "POST", "/v1/users", anonymous, 201},
		{"anonymous reads a user", "GET", "/v1/users/" + ada.ID, anonymous, 401},
		{"a customer reads themselves", "GET", "/v1/users/" + ada.ID, customer, 200},
		{"a customer reads another user", "GET", "/v1/users/" + grace.ID, customer, 404},
		{"an admin reads a user", "GET", "/v1/users/" + grace.ID, admin, 200},
		{"a service reads a user", "GET", "/v1/users/" + grace.ID, service, 200},
		{"a forged token", "GET", "/v1/users/" + ada.ID, forged, 401},
		{"anonymous lists users", "GET", "/v1/users", anonymous, 401},
		{"a customer lists users", "GET", "/v1/users", customer, 403},
		{"an admin lists users", "GET", "/v1/users", admin, 200},
		{"a service lists users", "GET", "/v1/users", service, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			h := map[string]string{}
			for k, v := range tc.header {
				h[k] = v
			}
			if tc.method == "POST" {
				body, h["Content-Type"] = `{"name":"Edsger","email":"edsger@example.com","password":"correct horse"}`, "application/json"
			}
			r := testkit.Do(t, tc.method, srv.URL+tc.path, body, h)
			if r.Status != tc.status {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, r.Status, r.Body, tc.status)
			}
			if r.Status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}
