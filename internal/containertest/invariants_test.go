package containertest

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// consistent waits for every held reservation to be settled (confirmed,
// released by ordersvc's recovery, or expired), then checks that nothing
// was lost or invented: initial stock = current stock + confirmed orders'
// quantities, every order answered 201 is there, and confirmed
// reservations and confirmed orders match one to one.
func (w *walk) consistent(ctx context.Context, t *testing.T) {
	deadline := time.Now().Add(reservationTTL + 10*time.Second)
	for {
		summary, err := w.check(ctx)
		if err == nil {
			t.Log(summary)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (w *walk) check(ctx context.Context) (summary string, err error) {
	var p product
	if err := w.c.get(ctx, w.s.gateway+"/v1/products/"+w.product, &p); err != nil {
		return "", err
	}
	orders, err := list[order](ctx, w.c, w.s.gateway+"/v1/orders?user_id="+w.user)
	if err != nil {
		return "", err
	}
	// Reservations are for services and admins: the admin reads them.
	admin := &client{http: w.c.http}
	if err := admin.signIn(ctx, w.s.gateway, adminEmail, w.s.adminPassword); err != nil {
		return "", err
	}
	defer admin.http.CloseIdleConnections()
	held, err := list[reservation](ctx, admin, w.s.products+"/v1/reservations?status=held")
	if err != nil {
		return "", err
	}
	confirmed, err := list[reservation](ctx, admin, w.s.products+"/v1/reservations?status=confirmed")
	if err != nil {
		return "", err
	}
	if len(held) > 0 {
		return "", fmt.Errorf("%d reservations still held, the first: %+v", len(held), held[0])
	}
	ordered, orderIDs := 0, map[string]bool{}
	for _, o := range orders {
		if o.Status != "confirmed" {
			return "", fmt.Errorf("order %s listed as %q", o.ID, o.Status)
		}
		orderIDs[o.ID] = true
		for _, it := range o.Items {
			if it.ProductID == w.product {
				ordered += it.Quantity
			}
		}
	}
	for _, id := range w.accepted {
		if !orderIDs[id] {
			return "", fmt.Errorf("order %s was answered 201 but is not listed", id)
		}
	}
	if w.initialStock != p.Stock+ordered {
		return "", fmt.Errorf("initial stock %d != current stock %d + confirmed orders' quantities %d", w.initialStock, p.Stock, ordered)
	}
	reserved := map[string]bool{}
	for _, r := range confirmed {
		if !orderIDs[r.OrderID] {
			return "", fmt.Errorf("confirmed reservation %s belongs to no confirmed order (%s)", r.ID, r.OrderID)
		}
		reserved[r.OrderID] = true
	}
	for id := range orderIDs {
		if !reserved[id] {
			return "", fmt.Errorf("confirmed order %s has no confirmed reservation", id)
		}
	}
	return fmt.Sprintf("stock %d + %d ordered in %d confirmed orders = initial %d; no reservation held",
		p.Stock, ordered, len(orders), w.initialStock), nil
}
