package orderservice_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/transport"
)

// Who may call what on the order service, with real tokens: a customer
// orders for themselves (user_id left out is theirs), sees their own
// orders only (another's is 404, another's list 403), and their
// Idempotency-Keys are theirs: two users sending the same key get two
// orders. An admin sees every order.
func TestAccessRules(t *testing.T) {
	s := newShop(t)
	tokens := testkit.NewTokens(t)
	srv := httptest.NewServer(orderservice.NewHTTPHandler(orderservice.NewEndpointSet(s.orders, tokens.Verifier.Authenticate()), transport.Ops{Cursors: testCursors}))
	defer srv.Close()
	ada, grace, p := s.user(), s.user(), s.product(100, 10)
	as := func(token string, extra ...string) map[string]string {
		h := map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}
		for i := 0; i+1 < len(extra); i += 2 {
			h[extra[i]] = extra[i+1]
		}
		return h
	}
	adaTok, graceTok := tokens.User(t, ada.ID, auth.RoleCustomer), tokens.User(t, grace.ID, auth.RoleCustomer)
	adminTok := tokens.User(t, "usr_admin", auth.RoleAdmin)
	line := `"items":[{"product_id":"` + p.ID + `","quantity":1}]`
	order := func(r testkit.Reply) orderservice.Order {
		t.Helper()
		var o orderservice.Order
		if r.Status != 201 || json.Unmarshal(r.Body, &o) != nil {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
		return o
	}

	if r := testkit.Do(t, "POST", srv.URL+"/v1/orders", "{"+line+"}", map[string]string{"Content-Type": "application/json"}); r.Status != 401 {
		t.Fatalf("anonymous order: %d %s", r.Status, r.Body)
	}
	// The same key from two customers: two orders, each their own.
	adas := order(testkit.Do(t, "POST", srv.URL+"/v1/orders", "{"+line+"}", as(adaTok, "Idempotency-Key", "same-key")))
	graces := order(testkit.Do(t, "POST", srv.URL+"/v1/orders", "{"+line+"}", as(graceTok, "Idempotency-Key", "same-key")))
	if adas.ID == graces.ID || adas.UserID != ada.ID || graces.UserID != grace.ID {
		t.Fatalf("orders %+v and %+v: want two, one each", adas, graces)
	}
	if again := order(testkit.Do(t, "POST", srv.URL+"/v1/orders", "{"+line+"}", as(adaTok, "Idempotency-Key", "same-key"))); again.ID != adas.ID {
		t.Fatalf("Ada's repeat made order %s, want her first %s", again.ID, adas.ID)
	}
	if r := testkit.Do(t, "POST", srv.URL+"/v1/orders", `{"user_id":"`+grace.ID+`",`+line+"}", as(adaTok)); r.Status != 403 {
		t.Fatalf("Ada orders for Grace: %d %s", r.Status, r.Body)
	}
	if r := testkit.Do(t, "GET", srv.URL+"/v1/orders/"+graces.ID, "", as(adaTok)); r.Status != 404 {
		t.Fatalf("Ada reads Grace's order: %d %s", r.Status, r.Body)
	}
	if r := testkit.Do(t, "GET", srv.URL+"/v1/orders/"+adas.ID, "", as(adaTok)); r.Status != 200 {
		t.Fatalf("Ada reads her order: %d %s", r.Status, r.Body)
	}
	if r := testkit.Do(t, "GET", srv.URL+"/v1/orders?user_id="+grace.ID, "", as(adaTok)); r.Status != 403 {
		t.Fatalf("Ada lists Grace's orders: %d %s", r.Status, r.Body)
	}
	list := func(token, query string) []string {
		t.Helper()
		r := testkit.Do(t, "GET", srv.URL+"/v1/orders"+query, "", as(token))
		var body transport.ListBody[orderservice.Order]
		if r.Status != 200 || json.Unmarshal(r.Body, &body) != nil {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var ids []string
		for _, o := range body.Items {
			ids = append(ids, o.ID)
		}
		return ids
	}
	if got := list(adaTok, ""); len(got) != 1 || got[0] != adas.ID {
		t.Fatalf("Ada's list: %v, want only %s", got, adas.ID)
	}
	if got := list(adminTok, ""); len(got) != 2 {
		t.Fatalf("the admin's list: %v, want both orders", got)
	}
	if got := list(adminTok, "?user_id="+grace.ID); len(got) != 1 || got[0] != graces.ID {
		t.Fatalf("the admin's list of Grace's: %v", got)
	}
	if got := s.stock(p.ID); got != 8 {
		t.Fatalf("stock %d, want 8: two orders", got)
	}
}
