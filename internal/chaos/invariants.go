package chaos

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/kitshop/kitshop/pkg/orderservice"
	"github.com/kitshop/kitshop/pkg/productservice"
)

// Books is what the shop says about itself once an experiment has settled:
// the stock, the confirmed orders and the reservations, read through the
// APIs, and the initial stock the runner set up.
type Books struct {
	Initial   map[string]int64 // product ID -> stock at setup
	Stock     map[string]int64 // product ID -> stock now
	Orders    []orderservice.Order
	Held      []productservice.Reservation
	Confirmed []productservice.Reservation
	// Now is when the books were read; a held reservation is unexpired
	// while its expires_at is after Now.
	Now time.Time
}

// stockViolations checks, for every product, initial = current + the
// quantities of confirmed orders + those of held, unexpired reservations;
// and that no confirmed order names a product the runner did not create.
func stockViolations(b Books) []string {
	sold := map[string]int64{}
	var out []string
	for _, o := range b.Orders {
		for _, it := range o.Items {
			if _, known := b.Initial[it.ProductID]; !known {
				out = append(out, fmt.Sprintf("order %s has unknown product %s", o.ID, it.ProductID))
			}
			sold[it.ProductID] += it.Quantity
		}
	}
	held := map[string]int64{}
	for _, r := range b.Held {
		if r.ExpiresAt.After(b.Now) {
			for _, it := range r.Items {
				held[it.ProductID] += it.Quantity
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(b.Initial)) {
		initial := b.Initial[id]
		stock, ok := b.Stock[id]
		if !ok {
			out = append(out, fmt.Sprintf("%s: stock not read", id))
			continue
		}
		if got := stock + sold[id] + held[id]; got != initial {
			out = append(out, fmt.Sprintf("%s: initial %d != stock %d + confirmed %d + held %d (%+d)",
				id, initial, stock, sold[id], held[id], got-initial))
		}
	}
	return out
}

// reservationViolations checks that confirmed reservations and confirmed
// orders match one to one by order ID, with the same quantities.
func reservationViolations(b Books) []string {
	var out []string
	orders := map[string]orderservice.Order{}
	for _, o := range b.Orders {
		orders[o.ID] = o
	}
	byOrder := map[string]productservice.Reservation{}
	for _, r := range b.Confirmed {
		if prev, dup := byOrder[r.OrderID]; dup {
			out = append(out, fmt.Sprintf("order %s has two confirmed reservations %s and %s", r.OrderID, prev.ID, r.ID))
			continue
		}
		byOrder[r.OrderID] = r
		o, ok := orders[r.OrderID]
		if !ok {
			out = append(out, fmt.Sprintf("confirmed reservation %s belongs to no confirmed order (order_id %s)", r.ID, r.OrderID))
			continue
		}
		if !sameQuantities(o.Items, r.Items) {
			out = append(out, fmt.Sprintf("order %s and its reservation %s differ in quantities", o.ID, r.ID))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(orders)) {
		if _, ok := byOrder[id]; !ok {
			out = append(out, fmt.Sprintf("confirmed order %s has no confirmed reservation", id))
		}
	}
	return out
}

func sameQuantities(items []orderservice.OrderItem, reserved []productservice.ReservedItem) bool {
	want := map[string]int64{}
	for _, it := range items {
		want[it.ProductID] += it.Quantity
	}
	got := map[string]int64{}
	for _, it := range reserved {
		got[it.ProductID] += it.Quantity
	}
	return maps.Equal(want, got)
}

// expiredHeldViolations lists held reservations more than grace past their
// expiry: the sweeper should have released them.
func expiredHeldViolations(b Books, grace time.Duration) []string {
	var out []string
	for _, r := range b.Held {
		if late := b.Now.Sub(r.ExpiresAt); late > grace {
			out = append(out, fmt.Sprintf("reservation %s held %s past its expiry", r.ID, late.Round(time.Millisecond)))
		}
	}
	return out
}

// keyViolations checks one order per key: every key's answers are
// definitive in the end; all its 201s name the same order; that order is
// confirmed, listed, retrievable, and is what the key asked for; a request
// meant to be refused was refused; and no confirmed order exists that no
// 201 named. retrievable says which order IDs GET /v1/orders/{id} returned.
func keyViolations(exs []Exchange, reqs map[string]orderRequest, orders []orderservice.Order, retrievable map[string]bool) []string {
	var out []string
	created := map[string]map[string]bool{} // key -> order IDs of its 201s
	for _, ex := range exs {
		if ex.Status == 201 {
			if created[ex.Key] == nil {
				created[ex.Key] = map[string]bool{}
			}
			created[ex.Key][ex.OrderID] = true
		}
	}
	listed := map[string]orderservice.Order{}
	for _, o := range orders {
		listed[o.ID] = o
	}
	named := map[string]string{} // order ID -> key
	for _, key := range undecided(exs) {
		out = append(out, fmt.Sprintf("key %s: no definitive answer even after re-drive", key))
	}
	for _, key := range slices.Sorted(maps.Keys(created)) {
		ids := slices.Sorted(maps.Keys(created[key]))
		if len(ids) > 1 {
			out = append(out, fmt.Sprintf("key %s: %d different orders %v", key, len(ids), ids))
		}
		req := reqs[key]
		if req.Bad {
			out = append(out, fmt.Sprintf("key %s: asked for an unknown product and got order %s", key, ids[0]))
		}
		for _, id := range ids {
			if prev, dup := named[id]; dup {
				out = append(out, fmt.Sprintf("order %s answered to two keys %s and %s", id, prev, key))
			}
			named[id] = key
			o, ok := listed[id]
			switch {
			case !ok:
				out = append(out, fmt.Sprintf("key %s: order %s was answered 201 but is not a confirmed order (lost)", key, id))
			case !retrievable[id]:
				out = append(out, fmt.Sprintf("key %s: order %s is listed but GET /v1/orders/%s does not return it", key, id, id))
			case !matchesRequest(o, req):
				out = append(out, fmt.Sprintf("key %s: order %s differs from its request", key, id))
			}
		}
	}
	for _, o := range orders {
		if _, ok := named[o.ID]; !ok {
			out = append(out, fmt.Sprintf("confirmed order %s (user %s) was never answered 201 to any key (invented)", o.ID, o.UserID))
		}
	}
	return out
}

func matchesRequest(o orderservice.Order, req orderRequest) bool {
	if o.UserID != req.Body.UserID || o.Status != orderservice.StatusConfirmed || len(o.Items) != len(req.Body.Items) {
		return false
	}
	want := map[string]int64{}
	for _, l := range req.Body.Items {
		want[l.ProductID] = l.Quantity
	}
	for _, it := range o.Items {
		if want[it.ProductID] != it.Quantity {
			return false
		}
	}
	return true
}

// firstFew keeps a report readable: the first n violations and a count of
// the rest.
func firstFew(vs []string, n int) []string {
	sort.Strings(vs)
	if len(vs) <= n {
		return vs
	}
	return append(vs[:n:n], fmt.Sprintf("... and %d more", len(vs)-n))
}
