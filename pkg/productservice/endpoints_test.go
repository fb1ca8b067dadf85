package productservice

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/go-kit/kit/endpoint"

	"github.com/kitshop/kitshop/internal/ids"
	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

func TestEndpointsRejectWrongRequestTypes(t *testing.T) {
	set := NewEndpointSet(NewService(untouchable{t: t}), testkit.AsAdmin)
	for name, e := range map[string]endpoint.Endpoint{
		"CreateProduct": set.CreateProductEndpoint, "GetProduct": set.GetProductEndpoint,
		"ListProducts": set.ListProductsEndpoint, "Reserve": set.ReserveEndpoint,
		"ConfirmReservation": set.ConfirmReservationEndpoint, "ReleaseReservation": set.ReleaseReservationEndpoint,
		"ListReservations": set.ListReservationsEndpoint,
	} {
		_, err := e(context.Background(), struct{ Bogus int }{})
		var te *kitshop.Error
		if !errors.As(err, &te) || te.Code != kitshop.CodeInternal {
			t.Errorf("%s with a wrong request type: err = %v, want an internal error", name, err)
		}
	}
}

func TestEndpointSetMiddlewareOrder(t *testing.T) {
	var calls []string
	mw := func(name string) endpoint.Middleware {
		return func(next endpoint.Endpoint) endpoint.Endpoint {
			return func(ctx context.Context, req any) (any, error) {
				calls = append(calls, name)
				return next(ctx, req)
			}
		}
	}
	set := NewEndpointSet(NewService(untouchable{t: t}), testkit.AsAdmin, mw("outer"), mw("inner"))
	_, _ = set.GetProduct(context.Background(), "malformed")
	if !reflect.DeepEqual(calls, []string{"outer", "inner"}) {
		t.Fatalf("middleware ran %v, want outer then inner", calls)
	}
}

// TestEndpointSetIsAService drives every method through the endpoints and
// compares with the service itself.
func TestEndpointSetIsAService(t *testing.T) {
	clock := newFakeClock()
	svc := NewService(openSQLite(t), WithClock(clock.Now))
	testServiceRoundTrip(t, svc, NewEndpointSet(svc, testkit.AsAdmin))
}

// testServiceRoundTrip checks that via (an endpoint set, or a remote
// client) gives the same results and the same typed errors as direct.
func testServiceRoundTrip(t *testing.T, direct, via Service) {
	ctx := context.Background()
	p, err := via.CreateProduct(ctx, CreateProductRequest{Name: "Widget", PriceCents: 500, Stock: 4})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got, err := direct.GetProduct(ctx, p.ID); err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("created %+v, stored %+v (%v)", p, got, err)
	}
	if got, err := via.GetProduct(ctx, p.ID); err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("get = %+v, %v; want %+v", got, err, p)
	}
	q := mustCreateProduct(t, direct, "Gadget", 100, 0)
	page, next, err := via.ListProducts(ctx, "", 1)
	if err != nil || len(page) != 1 || next == "" { // through the client, next is the opaque cursor
		t.Fatalf("list page 1 = %+v, %q, %v", page, next, err)
	}
	page2, next2, err := via.ListProducts(ctx, next, 1)
	if err != nil || len(page2) != 1 || next2 != "" || page2[0].ID == page[0].ID {
		t.Fatalf("list page 2 = %+v, %q, %v", page2, next2, err)
	}

	req := ReserveRequest{IdempotencyKey: "k", OrderID: "ord_1", Items: []ReserveItem{{ProductID: p.ID, Quantity: 3}}}
	r, err := via.Reserve(ctx, req)
	if err != nil || r.Status != StatusHeld || !reflect.DeepEqual(r.Items, []ReservedItem{{p.ID, 3, 500}}) {
		t.Fatalf("reserve = %+v, %v", r, err)
	}
	if again, err := via.Reserve(ctx, req); err != nil || !reflect.DeepEqual(again, r) {
		t.Fatalf("replay = %+v, %v; want %+v", again, err, r)
	}
	c, err := via.ConfirmReservation(ctx, r.ID)
	if err != nil || c.Status != StatusConfirmed || c.ID != r.ID || !c.ExpiresAt.Equal(r.ExpiresAt) {
		t.Fatalf("confirm = %+v, %v", c, err)
	}
	rel, err := via.Reserve(ctx, ReserveRequest{IdempotencyKey: "k2", OrderID: "ord_2", Items: []ReserveItem{{ProductID: p.ID, Quantity: 1}}})
	if err != nil {
		t.Fatalf("reserve: %v", err)
	}
	for range 2 {
		if err := via.ReleaseReservation(ctx, rel.ID); err != nil {
			t.Fatalf("release: %v", err)
		}
	}
	rs, next, err := via.ListReservations(ctx, StatusConfirmed, "", 10)
	if err != nil || next != "" || len(rs) != 1 || !reflect.DeepEqual(rs[0], c) {
		t.Fatalf("list confirmed = %+v, %q, %v; want [%+v]", rs, next, err, c)
	}
	if rs, _, err := via.ListReservations(ctx, "", "", 10); err != nil || len(rs) != 2 {
		t.Fatalf("list all = %d, %v; want 2", len(rs), err)
	}

	// Every typed error survives the trip.
	missing := ids.New(ProductIDPrefix)
	for _, tc := range []struct {
		name string
		err  error
		want *kitshop.Error
	}{
		{"get unknown", second(via.GetProduct(ctx, missing)), ErrNotFound},
		{"confirm unknown", second(via.ConfirmReservation(ctx, ids.New(ReservationIDPrefix))), ErrNotFound},
		{"release unknown", via.ReleaseReservation(ctx, ids.New(ReservationIDPrefix)), ErrNotFound},
		{"insufficient", second(via.Reserve(ctx, reserveReq("k3", p.ID, 2))), ErrInsufficientStock},
		{"insufficient, none at all", second(via.Reserve(ctx, reserveReq("k4", q.ID, 1))), ErrInsufficientStock},
		{"unknown product", second(via.Reserve(ctx, reserveReq("k5", missing, 1))), ErrUnknownProduct},
		{"key reused", second(via.Reserve(ctx, reserveReq("k", p.ID, 1))), ErrIdempotencyKeyReused},
		{"expired", second(via.ConfirmReservation(ctx, rel.ID)), ErrReservationExpired},
		{"already confirmed", via.ReleaseReservation(ctx, r.ID), ErrAlreadyConfirmed},
		{"no key", second(via.Reserve(ctx, reserveReq("", p.ID, 1))), kitshop.InvalidArgument("x", "y")},
		{"bad status", third(via.ListReservations(ctx, "lost", "", 10)), kitshop.InvalidArgument("x", "y")},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err = %v, want errors.Is %v", tc.name, tc.err, tc.want)
		}
	}
	_, err = via.Reserve(ctx, reserveReq("k3", p.ID, 2))
	if e := kitshop.AsError(err); e.Message != "insufficient stock for product "+p.ID+": 1 left, 2 requested" {
		t.Errorf("insufficient stock message = %q", e.Message)
	}
	if s, _ := direct.GetProduct(ctx, p.ID); s.Stock != 1 {
		t.Errorf("stock = %d, want 1", s.Stock)
	}
}

func reserveReq(key, productID string, qty int64) ReserveRequest {
	return ReserveRequest{IdempotencyKey: key, OrderID: "ord_" + key, Items: []ReserveItem{{ProductID: productID, Quantity: qty}}}
}

func second[T any](_ T, err error) error { return err }

func third[T, U any](_ T, _ U, err error) error { return err }
