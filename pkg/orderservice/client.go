package orderservice

import (
	"context"
	"net/http"
	"net/url"

	"github.com/kitshop/kitshop/transport"
)

// NewHTTPClient returns a Service that calls a remote order service through
// instances (a *resilience.Dependency, or transport.Direct for a bare
// client). CreateOrder sends req.IdempotencyKey as the Idempotency-Key
// header, so a retried call never makes a second order. Remote errors come
// back typed: errors.Is(err, ErrInsufficientStock). httpClient may be nil.
func NewHTTPClient(instances transport.Endpointer, httpClient *http.Client, opts ...transport.ClientOption) Service {
	if httpClient == nil {
		httpClient = transport.NewPooledHTTPClient()
	}
	return Set{
		CreateOrderEndpoint: transport.ClientEndpoint(instances, httpClient, encodeCreateOrderCall, decodeOrderResponse, opts...),
		GetOrderEndpoint:    transport.ClientEndpoint(instances, httpClient, encodeGetOrderCall, decodeOrderResponse, opts...),
		ListOrdersEndpoint:  transport.ClientEndpoint(instances, httpClient, encodeListOrdersCall, decodeListOrdersResponse, opts...),
	}
}

func encodeCreateOrderCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[CreateOrderRequest](request)
	if err != nil {
		return nil, err
	}
	var h http.Header
	if req.IdempotencyKey != "" {
		h = http.Header{transport.IdempotencyKeyHeader: {req.IdempotencyKey}}
	}
	return transport.NewRequest(ctx, http.MethodPost, base, "/v1/orders", nil, req, h)
}

func encodeGetOrderCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[GetOrderRequest](request)
	if err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodGet, base, "/v1/orders/"+url.PathEscape(req.ID), nil, nil, nil)
}

func encodeListOrdersCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[ListOrdersRequest](request)
	if err != nil {
		return nil, err
	}
	q := transport.PageQuery(req.After, req.Limit)
	if req.UserID != "" {
		q.Set("user_id", req.UserID)
	}
	return transport.NewRequest(ctx, http.MethodGet, base, "/v1/orders", q, nil, nil)
}

func decodeOrderResponse(_ context.Context, resp *http.Response) (any, error) {
	return transport.DecodeJSONResponse[Order](resp)
}

func decodeListOrdersResponse(_ context.Context, resp *http.Response) (any, error) {
	orders, next, err := transport.DecodeListResponse[Order](resp)
	if err != nil {
		return nil, err
	}
	return ListOrdersResponse{Orders: orders, Next: next}, nil
}
