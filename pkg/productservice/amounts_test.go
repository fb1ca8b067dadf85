package productservice

import (
	"context"
	"strings"
	"testing"

	"github.com/kitshop/kitshop/pkg/kitshop"
)

func TestCreateProductAcceptsTheHighestPrice(t *testing.T) {
	svc := NewService(openSQLite(t))
	if p := mustCreateProduct(t, svc, "Yacht", MaxPriceCents, 1); p.PriceCents != MaxPriceCents {
		t.Fatalf("price = %d, want %d", p.PriceCents, MaxPriceCents)
	}
}

// Products stored before prices were bounded may hold any price: a
// reservation whose line or total would overflow is refused before any
// stock is taken, and the refusal is the same on a repeat.
func TestReserveRefusesAmountsThatOverflow(t *testing.T) {
	const huge = 1<<63 - 1
	for _, tc := range []struct {
		name  string
		lines func(a, b Product) []ReserveItem
		field string
	}{
		{"line", func(a, _ Product) []ReserveItem { return []ReserveItem{{ProductID: a.ID, Quantity: 2}} },
			"items[0].quantity"},
		{"total", func(a, b Product) []ReserveItem {
			return []ReserveItem{{ProductID: b.ID, Quantity: 1}, {ProductID: a.ID, Quantity: 1}}
		}, "items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := openSQLite(t)
			svc := NewService(store)
			a, b := newProduct(t, store, huge, 10), newProduct(t, store, huge/2+1, 10)
			ctx := context.Background()
			req := ReserveRequest{IdempotencyKey: "k", OrderID: "ord_1", Items: tc.lines(a, b)}
			for attempt := 0; attempt < 2; attempt++ {
				_, err := svc.Reserve(ctx, req)
				e := wantCode(t, err, kitshop.CodeInvalidArgument)
				if !strings.HasPrefix(e.Message, tc.field+": ") {
					t.Fatalf("attempt %d: error %+v, want field %s", attempt, e, tc.field)
				}
			}
			if storeStock(t, store, a.ID) != 10 || storeStock(t, store, b.ID) != 10 {
				t.Fatalf("stock taken: %d and %d, want 10 and 10", storeStock(t, store, a.ID), storeStock(t, store, b.ID))
			}
			if rs, _, _ := svc.ListReservations(ctx, "", "", 10); len(rs) != 0 {
				t.Fatalf("reservations = %+v, want none", rs)
			}
		})
	}
}
