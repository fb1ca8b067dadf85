package orderservice

import (
	"context"
	"net/http"

	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/kitshop/kitshop/transport"
)

// NewHTTPHandler serves the order service's HTTP API over the endpoints of
// set, plus /healthz, /readyz and /metrics from ops:
//
//	POST /v1/orders       {user_id, items} (+ Idempotency-Key) -> 201 order
//	GET  /v1/orders/{id}  -> 200 order | 404
//	GET  /v1/orders?user_id=&limit=&cursor= -> 200 {items, next_cursor}
func NewHTTPHandler(set Set, ops transport.Ops) http.Handler {
	opts := transport.ServerOptions()
	rt := transport.NewRouter()
	rt.Handle("POST /v1/orders", httptransport.NewServer(set.CreateOrderEndpoint, decodeCreateOrderRequest, encodeCreated, opts...))
	rt.Handle("GET /v1/orders/{id}", httptransport.NewServer(set.GetOrderEndpoint, decodeGetOrderRequest, transport.EncodeJSONResponse, opts...))
	cursors, list := ops.ListCursors(), transport.ListOf(ordersList)
	rt.Handle("GET /v1/orders", httptransport.NewServer(set.ListOrdersEndpoint, decodeListOrdersRequest(cursors), encodeListOrdersResponse(cursors),
		append(opts, list)...))
	return transport.Finish(rt, ops)
}

func decodeCreateOrderRequest(_ context.Context, r *http.Request) (any, error) {
	var req CreateOrderRequest
	if err := transport.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	req.IdempotencyKey = r.Header.Get(transport.IdempotencyKeyHeader)
	return req, nil
}

func decodeGetOrderRequest(_ context.Context, r *http.Request) (any, error) {
	return GetOrderRequest{ID: r.PathValue("id")}, nil
}

func decodeListOrdersRequest(cursors *transport.Cursors) httptransport.DecodeRequestFunc {
	return func(_ context.Context, r *http.Request) (any, error) {
		page, err := cursors.DecodePage(r, ordersList(r))
		if err != nil {
			return nil, err
		}
		return ListOrdersRequest{UserID: r.URL.Query().Get("user_id"), After: page.After, Limit: page.Limit}, nil
	}
}

// ordersList names the list an orders request reads, for its cursors: a
// cursor is good only for the user_id it was issued with.
func ordersList(r *http.Request) string {
	return "orders?user_id=" + r.URL.Query().Get("user_id")
}

func encodeCreated(ctx context.Context, w http.ResponseWriter, response any) error {
	return transport.EncodeJSONResponse(ctx, w, transport.Created{Body: response})
}

func encodeListOrdersResponse(cursors *transport.Cursors) httptransport.EncodeResponseFunc {
	return func(ctx context.Context, w http.ResponseWriter, response any) error {
		resp, err := transport.Assert[ListOrdersResponse](response)
		if err != nil {
			return err
		}
		return transport.EncodeJSONResponse(ctx, w, transport.NewListBody(resp.Orders, cursors.Next(ctx, resp.Next)))
	}
}
