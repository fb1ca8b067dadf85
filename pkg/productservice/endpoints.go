package productservice

import (
	"context"

	"github.com/go-kit/kit/endpoint"
	"github.com/kitshop/kitshop/transport"
)

// Set holds one go-kit endpoint per Service method. It is itself a Service:
// built from a Service with NewEndpointSet it serves requests; built from
// HTTP client endpoints (NewHTTPClient) it calls a remote product service.
type Set struct {
	CreateProductEndpoint      endpoint.Endpoint
	GetProductEndpoint         endpoint.Endpoint
	ListProductsEndpoint       endpoint.Endpoint
	ReserveEndpoint            endpoint.Endpoint
	ConfirmReservationEndpoint endpoint.Endpoint
	ReleaseReservationEndpoint endpoint.Endpoint
	ListReservationsEndpoint   endpoint.Endpoint
}

// NewEndpointSet wraps every method of svc in an endpoint behind its access
// rule (access.go), each passed through mw (outermost first). mw must
// begin with the authentication middleware (authn), which finds the
// caller the rules check: without it every route that needs a token
// answers 401.
func NewEndpointSet(svc Service, mw ...endpoint.Middleware) Set {
	chain := transport.Chain(mw...)
	return Set{
		CreateProductEndpoint:      chain(createProductAccess(MakeCreateProductEndpoint(svc))),
		GetProductEndpoint:         chain(getProductAccess(MakeGetProductEndpoint(svc))),
		ListProductsEndpoint:       chain(listProductsAccess(MakeListProductsEndpoint(svc))),
		ReserveEndpoint:            chain(reservationsAccess(MakeReserveEndpoint(svc))),
		ConfirmReservationEndpoint: chain(reservationsAccess(MakeConfirmReservationEndpoint(svc))),
		ReleaseReservationEndpoint: chain(reservationsAccess(MakeReleaseReservationEndpoint(svc))),
		ListReservationsEndpoint:   chain(reservationsAccess(MakeListReservationsEndpoint(svc))),
	}
}

// GetProductRequest asks for one product.
type GetProductRequest struct{ ID string }

// ListProductsRequest asks for a page of products.
type ListProductsRequest struct {
	After string
	Limit int
}

// ListProductsResponse is a page of products; Next is "" on the last page.
type ListProductsResponse struct {
	Products []Product
	Next     string
}

// ConfirmReservationRequest asks to confirm one reservation.
type ConfirmReservationRequest struct{ ID string }

// ReleaseReservationRequest asks to release one reservation.
type ReleaseReservationRequest struct{ ID string }

// ReleaseReservationResponse is the (empty) result of a release.
type ReleaseReservationResponse struct{}

// ListReservationsRequest asks for a page of reservations, only those with
// Status unless it is "".
type ListReservationsRequest struct {
	Status string
	After  string
	Limit  int
}

// ListReservationsResponse is a page of reservations; Next is "" on the
// last page.
type ListReservationsResponse struct {
	Reservations []Reservation
	Next         string
}

// MakeCreateProductEndpoint takes a CreateProductRequest and returns a Product.
func MakeCreateProductEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[CreateProductRequest](request)
		if err != nil {
			return nil, err
		}
		return svc.CreateProduct(ctx, req)
	}
}

// MakeGetProductEndpoint takes a GetProductRequest and returns a Product.
func MakeGetProductEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[GetProductRequest](request)
		if err != nil {
			return nil, err
		}
		return svc.GetProduct(ctx, req.ID)
	}
}

// MakeListProductsEndpoint takes a ListProductsRequest and returns a
// ListProductsResponse.
func MakeListProductsEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[ListProductsRequest](request)
		if err != nil {
			return nil, err
		}
		products, next, err := svc.ListProducts(ctx, req.After, req.Limit)
		if err != nil {
			return nil, err
		}
		return ListProductsResponse{Products: products, Next: next}, nil
	}
}

// MakeReserveEndpoint takes a ReserveRequest and returns a Reservation.
func MakeReserveEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[ReserveRequest](request)
		if err != nil {
			return nil, err
		}
		return svc.Reserve(ctx, req)
	}
}

// MakeConfirmReservationEndpoint takes a ConfirmReservationRequest and
// returns a Reservation.
func MakeConfirmReservationEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[ConfirmReservationRequest](request)
		if err != nil {
			return nil, err
		}
		return svc.ConfirmReservation(ctx, req.ID)
	}
}

// MakeReleaseReservationEndpoint takes a ReleaseReservationRequest and
// returns a ReleaseReservationResponse.
func MakeReleaseReservationEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[ReleaseReservationRequest](request)
		if err != nil {
			return nil, err
		}
		if err := svc.ReleaseReservation(ctx, req.ID); err != nil {
			return nil, err
		}
		return ReleaseReservationResponse{}, nil
	}
}

// MakeListReservationsEndpoint takes a ListReservationsRequest and returns a
// ListReservationsResponse.
func MakeListReservationsEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[ListReservationsRequest](request)
		if err != nil {
			return nil, err
		}
		rs, next, err := svc.ListReservations(ctx, req.Status, req.After, req.Limit)
		if err != nil {
			return nil, err
		}
		return ListReservationsResponse{Reservations: rs, Next: next}, nil
	}
}

// CreateProduct implements Service.
func (s Set) CreateProduct(ctx context.Context, req CreateProductRequest) (Product, error) {
	return transport.Call[Product](ctx, s.CreateProductEndpoint, req)
}

// GetProduct implements Service.
func (s Set) GetProduct(ctx context.Context, id string) (Product, error) {
	return transport.Call[Product](ctx, s.GetProductEndpoint, GetProductRequest{ID: id})
}

// ListProducts implements Service.
func (s Set) ListProducts(ctx context.Context, after string, limit int) ([]Product, string, error) {
	resp, err := transport.Call[ListProductsResponse](ctx, s.ListProductsEndpoint, ListProductsRequest{After: after, Limit: limit})
	return resp.Products, resp.Next, err
}

// Reserve implements Service.
func (s Set) Reserve(ctx context.Context, req ReserveRequest) (Reservation, error) {
	return transport.Call[Reservation](ctx, s.ReserveEndpoint, req)
}

// ConfirmReservation implements Service.
func (s Set) ConfirmReservation(ctx context.Context, id string) (Reservation, error) {
	return transport.Call[Reservation](ctx, s.ConfirmReservationEndpoint, ConfirmReservationRequest{ID: id})
}

// ReleaseReservation implements Service.
func (s Set) ReleaseReservation(ctx context.Context, id string) error {
	_, err := transport.Call[ReleaseReservationResponse](ctx, s.ReleaseReservationEndpoint, ReleaseReservationRequest{ID: id})
	return err
}

// ListReservations implements Service.
func (s Set) ListReservations(ctx context.Context, status, after string, limit int) ([]Reservation, string, error) {
	resp, err := transport.Call[ListReservationsResponse](ctx, s.ListReservationsEndpoint,
		ListReservationsRequest{Status: status, After: after, Limit: limit})
	return resp.Reservations, resp.Next, err
}
