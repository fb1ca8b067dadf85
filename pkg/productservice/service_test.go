package productservice

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// untouchable is a Store that fails the test if used: validation must
// answer before storage is reached.
type untouchable struct {
	Store
	t *testing.T
}

func (u untouchable) ClaimIdempotencyKey(context.Context, string, string, time.Time, time.Time) (Claim, error) {
	u.t.Fatal("store reached")
	return Claim{}, nil
}

func (u untouchable) CreateProduct(context.Context, Product) error {
	u.t.Fatal("store reached")
	return nil
}

func validReserve() ReserveRequest {
	return ReserveRequest{IdempotencyKey: "k", OrderID: "ord_1", Items: []ReserveItem{
		{ProductID: "prd_a", Quantity: 1}, {ProductID: "prd_b", Quantity: 2}, {ProductID: "prd_c", Quantity: 3},
	}}
}

func TestValidation(t *testing.T) {
	many := make([]ReserveItem, MaxReservationItems+1)
	for i := range many {
		many[i] = ReserveItem{ProductID: fmt.Sprintf("prd_%d", i), Quantity: 1}
	}
	tests := []struct {
		name    string
		call    func(Service) error
		message string
	}{
		{"name empty", createWith(func(r *CreateProductRequest) { r.Name = "" }), "name: is required"},
		{"name blank", createWith(func(r *CreateProductRequest) { r.Name = " \t\n" }), "name: is required"},
		{"name too long", createWith(func(r *CreateProductRequest) { r.Name = strings.Repeat("é", 201) }), "name: must be at most 200 characters, got 201"},
		{"name invalid utf-8", createWith(func(r *CreateProductRequest) { r.Name = "a\xffb" }), "name: must be valid UTF-8"},
		{"name with NUL", createWith(func(r *CreateProductRequest) { r.Name = "a\x00b" }), "name: must not hold control characters"},
		{"name with newline", createWith(func(r *CreateProductRequest) { r.Name = "a\nb" }), "name: must not hold control characters"},
		{"name with C1 control", createWith(func(r *CreateProductRequest) { r.Name = "a\u009bb" }), "name: must not hold control characters"},
		{"price zero", createWith(func(r *CreateProductRequest) { r.PriceCents = 0 }), "price_cents: must be greater than 0"},
		{"price negative", createWith(func(r *CreateProductRequest) { r.PriceCents = -5 }), "price_cents: must be greater than 0"},
		{"price above the bound", createWith(func(r *CreateProductRequest) { r.PriceCents = MaxPriceCents + 1 }), "price_cents: must be at most 10000000000"},
		{"price at int64's end", createWith(func(r *CreateProductRequest) { r.PriceCents = 1<<63 - 1 }), "price_cents: must be at most 10000000000"},
		{"stock negative", createWith(func(r *CreateProductRequest) { r.Stock = -1 }), "stock: must be 0 or more"},
		{"key missing", reserveWith(func(r *ReserveRequest) { r.IdempotencyKey = "" }), "Idempotency-Key: header is required"},
		{"key too long", reserveWith(func(r *ReserveRequest) { r.IdempotencyKey = strings.Repeat("k", 201) }), "Idempotency-Key: must be at most 200 bytes"},
		{"order_id missing", reserveWith(func(r *ReserveRequest) { r.OrderID = "" }), "order_id: is required"},
		{"order_id blank", reserveWith(func(r *ReserveRequest) { r.OrderID = "  " }), "order_id: is required"},
		{"order_id too long", reserveWith(func(r *ReserveRequest) { r.OrderID = strings.Repeat("o", 201) }), "order_id: must be at most 200 bytes"},
		{"items nil", reserveWith(func(r *ReserveRequest) { r.Items = nil }), "items: must not be empty"},
		{"items empty", reserveWith(func(r *ReserveRequest) { r.Items = []ReserveItem{} }), "items: must not be empty"},
		{"too many items", reserveWith(func(r *ReserveRequest) { r.Items = many }), "items: must have at most 100 items, got 101"},
		{"product_id missing", reserveWith(func(r *ReserveRequest) { r.Items[1].ProductID = "" }), "items[1].product_id: is required"},
		{"product_id too long", reserveWith(func(r *ReserveRequest) { r.Items[0].ProductID = strings.Repeat("p", 201) }), "items[0].product_id: must be at most 200 bytes"},
		{"quantity zero", reserveWith(func(r *ReserveRequest) { r.Items[2].Quantity = 0 }), "items[2].quantity: must be greater than 0"},
		{"quantity negative", reserveWith(func(r *ReserveRequest) { r.Items[0].Quantity = -1 }), "items[0].quantity: must be greater than 0"},
		{"duplicate product", reserveWith(func(r *ReserveRequest) { r.Items[2].ProductID = "prd_a" }), "items[2].product_id: repeats items[0]: list each product once"},
		{"products limit 0", func(s Service) error { _, _, err := s.ListProducts(context.Background(), "", 0); return err }, "limit: must be an integer from 1 to 500"},
		{"products limit 501", func(s Service) error { _, _, err := s.ListProducts(context.Background(), "", 501); return err }, "limit: must be an integer from 1 to 500"},
		{"reservations limit", func(s Service) error { _, _, err := s.ListReservations(context.Background(), "", "", -1); return err }, "limit: must be an integer from 1 to 500"},
		{"reservations status", func(s Service) error {
			_, _, err := s.ListReservations(context.Background(), "pending", "", 10)
			return err
		}, "status: must be one of held, confirmed, released, expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(NewService(untouchable{t: t}))
			if e := wantCode(t, err, kitshop.CodeInvalidArgument); e.Message != tt.message {
				t.Fatalf("message = %q, want %q", e.Message, tt.message)
			}
		})
	}
}

func createWith(mutate func(*CreateProductRequest)) func(Service) error {
	return func(s Service) error {
		req := CreateProductRequest{Name: "Widget", PriceCents: 100, Stock: 1}
		mutate(&req)
		_, err := s.CreateProduct(context.Background(), req)
		return err
	}
}

func reserveWith(mutate func(*ReserveRequest)) func(Service) error {
	return func(s Service) error {
		req := validReserve()
		mutate(&req)
		_, err := s.Reserve(context.Background(), req)
		return err
	}
}

func TestMalformedIDsAreNotFound(t *testing.T) {
	svc := NewService(untouchable{t: t})
	ctx := context.Background()
	for _, id := range []string{"", "prd_", "rsv_x", "../etc", strings.Repeat("a", 300), ids.New("usr")} {
		if _, err := svc.GetProduct(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetProduct(%q): err = %v, want ErrNotFound", id, err)
		}
		if _, err := svc.ConfirmReservation(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("ConfirmReservation(%q): err = %v, want ErrNotFound", id, err)
		}
		if err := svc.ReleaseReservation(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("ReleaseReservation(%q): err = %v, want ErrNotFound", id, err)
		}
	}
}

func TestServiceProducts(t *testing.T) {
	clock := newFakeClock()
	svc := NewService(openSQLite(t), WithClock(clock.Now))
	ctx := context.Background()
	p := mustCreateProduct(t, svc, "Widget", 1999, 0)
	if !strings.HasPrefix(p.ID, "prd_") || !p.CreatedAt.Equal(t0) || p.Stock != 0 || p.PriceCents != 1999 {
		t.Fatalf("product = %+v", p)
	}
	if got, err := svc.GetProduct(ctx, p.ID); err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("get = %+v, %v; want %+v", got, err, p)
	}
	if _, err := svc.GetProduct(ctx, ids.New(ProductIDPrefix)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get unknown: err = %v, want ErrNotFound", err)
	}
	for i := range 4 {
		mustCreateProduct(t, svc, fmt.Sprint("p", i), 1, 1)
	}
	var all []Product
	after, pages := "", 0
	for {
		page, next, err := svc.ListProducts(ctx, after, 2)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		all, pages = append(all, page...), pages+1
		if next == "" {
			break
		}
		if next != page[len(page)-1].ID {
			t.Fatalf("next = %s, want the page's last ID", next)
		}
		after = next
	}
	if len(all) != 5 || pages != 3 {
		t.Fatalf("listed %d products in %d pages, want 5 in 3", len(all), pages)
	}
}

func TestServiceReserveLifecycle(t *testing.T) {
	clock := newFakeClock()
	svc := NewService(openSQLite(t), WithClock(clock.Now), WithReservationTTL(time.Minute))
	ctx := context.Background()
	p := mustCreateProduct(t, svc, "Widget", 250, 5)

	r, err := reserveOne(ctx, svc, "k1", p.ID, 2)
	want := Reservation{ID: r.ID, OrderID: "ord_k1", Items: []ReservedItem{{p.ID, 2, 250}}, Status: StatusHeld, ExpiresAt: t0.Add(time.Minute)}
	if err != nil || !reflect.DeepEqual(r, want) || !strings.HasPrefix(r.ID, "rsv_") {
		t.Fatalf("reserve = %+v, %v; want %+v", r, err, want)
	}
	_, err = reserveOne(ctx, svc, "k2", p.ID, 4)
	if e := wantCode(t, err, kitshop.CodeInsufficientStock); !strings.Contains(e.Message, p.ID) || !strings.Contains(e.Message, "3 left") {
		t.Fatalf("insufficient stock message %q should name %s and what is left", e.Message, p.ID)
	}
	missing := ids.New(ProductIDPrefix)
	_, err = reserveOne(ctx, svc, "k3", missing, 1)
	if e := wantCode(t, err, kitshop.CodeUnknownProduct); !strings.Contains(e.Message, missing) {
		t.Fatalf("unknown product message %q should name %s", e.Message, missing)
	}
	_, err = reserveOne(ctx, svc, "k4", "not-an-id", 1)
	wantCode(t, err, kitshop.CodeUnknownProduct)
	_, err = reserveOne(ctx, svc, "k1", p.ID, 1)
	wantCode(t, err, kitshop.CodeIdempotencyKeyReused)

	// Replays, even after the price and the reservation changed.
	c, err := svc.ConfirmReservation(ctx, r.ID)
	if err != nil || c.Status != StatusConfirmed {
		t.Fatalf("confirm = %+v, %v", c, err)
	}
	if again, err := reserveOne(ctx, svc, "k1", p.ID, 2); err != nil || !reflect.DeepEqual(again, r) {
		t.Fatalf("replay = %+v, %v; want the first response %+v", again, err, r)
	}
	if _, err := reserveOne(ctx, svc, "k5", p.ID, 1); err != nil { // now 2 left
		t.Fatalf("reserve: %v", err)
	}
	clock.Advance(time.Hour) // a replay is not subject to staleness or expiry
	_, err = reserveOne(ctx, svc, "k2", p.ID, 4)
	if e := wantCode(t, err, kitshop.CodeInsufficientStock); e.Message != fmt.Sprintf("insufficient stock for product %s: 3 left, 4 requested", p.ID) {
		t.Fatalf("replayed message = %q, want the first one", e.Message)
	}
	if err := svc.ReleaseReservation(ctx, r.ID); !errors.Is(err, ErrAlreadyConfirmed) {
		t.Fatalf("release confirmed: err = %v, want ErrAlreadyConfirmed", err)
	}
	if _, err := svc.ConfirmReservation(ctx, ids.New(ReservationIDPrefix)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("confirm unknown: err = %v, want ErrNotFound", err)
	}
	if err := svc.ReleaseReservation(ctx, ids.New(ReservationIDPrefix)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("release unknown: err = %v, want ErrNotFound", err)
	}
	if s := stockOf(t, svc, p.ID); s != 2 {
		t.Fatalf("stock = %d, want 2", s)
	}
}
