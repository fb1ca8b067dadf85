package orderservice

import (
	"context"

	"github.com/go-kit/kit/endpoint"
	"github.com/kitshop/kitshop/transport"
)

// Set holds one go-kit endpoint per Service method, and is itself a
// Service: server-side over NewEndpointSet, client-side over NewHTTPClient.
type Set struct {
	CreateOrderEndpoint endpoint.Endpoint
	GetOrderEndpoint    endpoint.Endpoint
	ListOrdersEndpoint  endpoint.Endpoint
}

// NewEndpointSet wraps every method of svc in an endpoint behind its access
// rule (access.go), each passed through mw (outermost first). mw must
// begin with the authentication middleware (authn), which finds the
// caller the rules check: without it every route answers 401.
func NewEndpointSet(svc Service, mw ...endpoint.Middleware) Set {
	chain := transport.Chain(mw...)
	return Set{
		CreateOrderEndpoint: chain(createOrderAccess(MakeCreateOrderEndpoint(svc))),
		GetOrderEndpoint:    chain(getOrderAccess(MakeGetOrderEndpoint(svc))),
		ListOrdersEndpoint:  chain(listOrdersAccess(MakeListOrdersEndpoint(svc))),
	}
}

// GetOrderRequest asks for one order.
type GetOrderRequest struct{ ID string }

// ListOrdersRequest asks for a page of orders, of one user or of all.
type ListOrdersRequest struct {
	UserID string
	After  string
	Limit  int
}

// ListOrdersResponse is a page of orders; Next is "" on the last page.
type ListOrdersResponse struct {
	Orders []Order
	Next   string
}

// MakeCreateOrderEndpoint takes a CreateOrderRequest and returns an Order.
func MakeCreateOrderEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[CreateOrderRequest](request)
		if err != nil {
			return nil, err
		}
		return svc.CreateOrder(ctx, req)
	}
}

// MakeGetOrderEndpoint takes a GetOrderRequest and returns an Order.
func MakeGetOrderEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[GetOrderRequest](request)
		if err != nil {
			return nil, err
		}
		return svc.GetOrder(ctx, req.ID)
	}
}

// MakeListOrdersEndpoint takes a ListOrdersRequest and returns a ListOrdersResponse.
func MakeListOrdersEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[ListOrdersRequest](request)
		if err != nil {
			return nil, err
		}
		orders, next, err := svc.ListOrders(ctx, req.UserID, req.After, req.Limit)
		if err != nil {
			return nil, err
		}
		return ListOrdersResponse{Orders: orders, Next: next}, nil
	}
}

// CreateOrder implements Service.
func (s Set) CreateOrder(ctx context.Context, req CreateOrderRequest) (Order, error) {
	return transport.Call[Order](ctx, s.CreateOrderEndpoint, req)
}

// GetOrder implements Service.
func (s Set) GetOrder(ctx context.Context, id string) (Order, error) {
	return transport.Call[Order](ctx, s.GetOrderEndpoint, GetOrderRequest{ID: id})
}

// ListOrders implements Service.
func (s Set) ListOrders(ctx context.Context, userID, after string, limit int) ([]Order, string, error) {
	resp, err := transport.Call[ListOrdersResponse](ctx, s.ListOrdersEndpoint, ListOrdersRequest{UserID: userID, After: after, Limit: limit})
	return resp.Orders, resp.Next, err
}
