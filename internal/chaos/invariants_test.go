package chaos

import (
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func order(id, user string, items ...orderservice.OrderItem) orderservice.Order {
	return orderservice.Order{ID: id, UserID: user, Items: items, Status: orderservice.StatusConfirmed}
}

func item(product string, qty int64) orderservice.OrderItem {
	return orderservice.OrderItem{ProductID: product, Quantity: qty, UnitPriceCents: 100}
}

func reservation(id, orderID, status string, expires time.Time, items ...productservice.ReservedItem) productservice.Reservation {
	return productservice.Reservation{ID: id, OrderID: orderID, Status: status, ExpiresAt: expires, Items: items}
}

func reserved(product string, qty int64) productservice.ReservedItem {
	return productservice.ReservedItem{ProductID: product, Quantity: qty, UnitPriceCents: 100}
}

// goodBooks: p1 and p2 start at 100; two confirmed orders and one held
// reservation account for every unit gone.
func goodBooks() Books {
	return Books{
		Initial: map[string]int64{"p1": 100, "p2": 100},
		Stock:   map[string]int64{"p1": 95, "p2": 97},
		Orders: []orderservice.Order{
			order("o1", "u1", item("p1", 2), item("p2", 1)),
			order("o2", "u2", item("p1", 1)),
		},
		Confirmed: []productservice.Reservation{
			reservation("r1", "o1", "confirmed", now.Add(time.Minute), reserved("p1", 2), reserved("p2", 1)),
			reservation("r2", "o2", "confirmed", now.Add(time.Minute), reserved("p1", 1)),
		},
		Held: []productservice.Reservation{
			reservation("r3", "o3", "held", now.Add(time.Minute), reserved("p1", 2), reserved("p2", 2)),
		},
		Now: now,
	}
}

func TestInvariantsHoldOnGoodBooks(t *testing.T) {
	b := goodBooks()
	for name, vs := range map[string][]string{
		"stock":        stockViolations(b),
		"reservations": reservationViolations(b),
		"expired held": expiredHeldViolations(b, time.Second),
	} {
		if len(vs) != 0 {
			t.Errorf("%s: violations on good books: %v", name, vs)
		}
	}
}

func TestInvariantViolations(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(*Books)
		check  func(Books) []string
		want   string
	}{
		{"stock taken twice", func(b *Books) { b.Stock["p1"] -= 2 }, stockViolations, "p1: initial 100 != stock 93"},
		{"stock given back twice", func(b *Books) { b.Stock["p2"]++ }, stockViolations, "(+1)"},
		{"expired hold not counted", func(b *Books) { b.Held[0].ExpiresAt = now.Add(-time.Millisecond) }, stockViolations, "held 0"},
		{"order for an unknown product", func(b *Books) { b.Orders[1].Items = append(b.Orders[1].Items, item("px", 1)) }, stockViolations, "unknown product px"},
		{"stock not read", func(b *Books) { delete(b.Stock, "p2") }, stockViolations, "p2: stock not read"},
		{"confirmed reservation of no order", func(b *Books) {
			b.Confirmed = append(b.Confirmed, reservation("r9", "o9", "confirmed", now, reserved("p1", 1)))
		}, reservationViolations, "r9 belongs to no confirmed order"},
		{"confirmed order without reservation", func(b *Books) { b.Confirmed = b.Confirmed[:1] }, reservationViolations, "o2 has no confirmed reservation"},
		{"two reservations for an order", func(b *Books) {
			b.Confirmed = append(b.Confirmed, reservation("r8", "o2", "confirmed", now, reserved("p1", 1)))
		}, reservationViolations, "two confirmed reservations"},
		{"quantities differ", func(b *Books) { b.Confirmed[0].Items[0].Quantity = 3 }, reservationViolations, "differ in quantities"},
		{"hold past expiry", func(b *Books) { b.Held[0].ExpiresAt = now.Add(-3 * time.Second) }, func(b Books) []string {
			return expiredHeldViolations(b, time.Second)
		}, "r3 held 3s past its expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := goodBooks()
			tt.break_(&b)
			vs := tt.check(b)
			if !containsSub(vs, tt.want) {
				t.Errorf("violations %q do not mention %q", vs, tt.want)
			}
		})
	}
}

func TestExpiredHoldWithinGraceIsNoViolation(t *testing.T) {
	b := goodBooks()
	b.Held[0].ExpiresAt = now.Add(-500 * time.Millisecond)
	if vs := expiredHeldViolations(b, time.Second); len(vs) != 0 {
		t.Errorf("a hold 500ms past expiry with a 1s sweeper: %v", vs)
	}
}

// keyed builds the exchanges, requests and orders of a healthy run: k1 got
// 201 o1 after a 503; k2 got 201 o2; bad got 422.
func keyed() ([]Exchange, map[string]orderRequest, []orderservice.Order, map[string]bool) {
	reqs := map[string]orderRequest{
		"k1":  {Key: "k1", Body: orderservice.CreateOrderRequest{UserID: "u1", Items: []orderservice.OrderLine{{ProductID: "p1", Quantity: 2}}}},
		"k2":  {Key: "k2", Body: orderservice.CreateOrderRequest{UserID: "u2", Items: []orderservice.OrderLine{{ProductID: "p1", Quantity: 1}, {ProductID: "p2", Quantity: 3}}}},
		"bad": {Key: "bad", Bad: true, Body: orderservice.CreateOrderRequest{UserID: "u1", Items: []orderservice.OrderLine{{ProductID: "px", Quantity: 1}}}},
	}
	exs := []Exchange{
		{Key: "k1", Kind: kindLoad, Start: 1, Status: 503, Code: "dependency_unavailable"},
		{Key: "k1", Kind: kindRedrive, Start: 5, Status: 201, OrderID: "o1"},
		{Key: "k2", Kind: kindLoad, Start: 2, Status: 201, OrderID: "o2"},
		{Key: "bad", Kind: kindLoad, Start: 3, Status: 422, Code: "unknown_product"},
	}
	orders := []orderservice.Order{
		order("o1", "u1", item("p1", 2)),
		order("o2", "u2", item("p2", 3), item("p1", 1)),
	}
	return exs, reqs, orders, map[string]bool{"o1": true, "o2": true}
}

func TestKeysHoldOnAHealthyRun(t *testing.T) {
	exs, reqs, orders, got := keyed()
	if vs := keyViolations(exs, reqs, orders, got); len(vs) != 0 {
		t.Errorf("violations: %v", vs)
	}
}

func TestKeyViolations(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(exs *[]Exchange, orders *[]orderservice.Order, got map[string]bool)
		want   string
	}{
		{"duplicate order for a key", func(exs *[]Exchange, orders *[]orderservice.Order, got map[string]bool) {
			*exs = append(*exs, Exchange{Key: "k2", Kind: kindRedrive, Start: 9, Status: 201, OrderID: "o3"})
			*orders = append(*orders, order("o3", "u2", item("p1", 1), item("p2", 3)))
			got["o3"] = true
		}, "key k2: 2 different orders"},
		{"lost order", func(_ *[]Exchange, orders *[]orderservice.Order, _ map[string]bool) {
			*orders = (*orders)[1:]
		}, "order o1 was answered 201 but is not a confirmed order (lost)"},
		{"invented order", func(_ *[]Exchange, orders *[]orderservice.Order, _ map[string]bool) {
			*orders = append(*orders, order("o7", "u1", item("p1", 1)))
		}, "o7 (user u1) was never answered 201"},
		{"not retrievable", func(_ *[]Exchange, _ *[]orderservice.Order, got map[string]bool) {
			got["o2"] = false
		}, "GET /v1/orders/o2 does not return it"},
		{"order differs from request", func(_ *[]Exchange, orders *[]orderservice.Order, _ map[string]bool) {
			(*orders)[0].Items[0].Quantity = 5
		}, "order o1 differs from its request"},
		{"bad request accepted", func(exs *[]Exchange, orders *[]orderservice.Order, got map[string]bool) {
			(*exs)[3] = Exchange{Key: "bad", Kind: kindLoad, Start: 3, Status: 201, OrderID: "o4"}
			*orders = append(*orders, order("o4", "u1", item("px", 1)))
			got["o4"] = true
		}, "asked for an unknown product"},
		{"still undecided", func(exs *[]Exchange, _ *[]orderservice.Order, _ map[string]bool) {
			*exs = append(*exs, Exchange{Key: "k3", Kind: kindLoad, Start: 4, Error: "timeout"})
		}, "key k3: no definitive answer"},
		{"in progress is not definitive", func(exs *[]Exchange, _ *[]orderservice.Order, _ map[string]bool) {
			*exs = append(*exs, Exchange{Key: "k4", Kind: kindLoad, Start: 4, Status: 409, Code: "request_in_progress"})
		}, "key k4: no definitive answer"},
		{"one order for two keys", func(exs *[]Exchange, _ *[]orderservice.Order, _ map[string]bool) {
			(*exs)[2].OrderID = "o1"
		}, "order o1 answered to two keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exs, reqs, orders, got := keyed()
			tt.break_(&exs, &orders, got)
			vs := keyViolations(exs, reqs, orders, got)
			if !containsSub(vs, tt.want) {
				t.Errorf("violations %q do not mention %q", vs, tt.want)
			}
		})
	}
}

func TestUndecidedUsesTheLastAnswer(t *testing.T) {
	exs := []Exchange{
		{Key: "a", Start: 1, Status: 201}, {Key: "a", Start: 0, Error: "reset"}, // answered in the end
		{Key: "b", Start: 1, Status: 503}, {Key: "b", Start: 0, Status: 201}, // last is a 503
		{Key: "c", Start: 0, Status: 422},
		{Key: "d", Start: 0, Status: 500},
	}
	got := undecided(exs)
	if strings.Join(got, ",") != "b,d" {
		t.Errorf("undecided = %v, want [b d]", got)
	}
}

func TestFirstFew(t *testing.T) {
	vs := []string{"c", "a", "b", "d"}
	if got := firstFew(vs, 2); strings.Join(got, "|") != "a|b|... and 2 more" {
		t.Errorf("firstFew = %q", got)
	}
}

func containsSub(vs []string, sub string) bool {
	for _, v := range vs {
		if strings.Contains(v, sub) {
			return true
		}
	}
	return false
}
