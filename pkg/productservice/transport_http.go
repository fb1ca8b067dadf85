package productservice

import (
	"context"
	"net/http"

	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
)

// NewHTTPHandler serves the product service's HTTP API over the endpoints
// of set, plus /healthz, /readyz and /metrics from ops:
//
//	POST   /v1/products                  {name, price_cents, stock} -> 201 product
//	GET    /v1/products/{id}             -> 200 product | 404
//	GET    /v1/products?limit=&cursor=   -> 200 {items, next_cursor}
//	POST   /v1/reservations              {order_id, items} + Idempotency-Key -> 201 reservation
//	POST   /v1/reservations/{id}/confirm -> 200 reservation
//	DELETE /v1/reservations/{id}         -> 204
//	GET    /v1/reservations?status=&limit=&cursor= -> 200 {items, next_cursor}
//
// The reservation routes are service-to-service; the gateway does not
// expose them.
func NewHTTPHandler(set Set, ops transport.Ops) http.Handler {
	opts := transport.ServerOptions()
	rt := transport.NewRouter()
	rt.Handle("POST /v1/products", httptransport.NewServer(set.CreateProductEndpoint, decodeCreateProductRequest, encodeCreated, opts...))
	rt.Handle("GET /v1/products/{id}", httptransport.NewServer(set.GetProductEndpoint, decodeGetProductRequest, transport.EncodeJSONResponse, opts...))
	cursors := ops.ListCursors()
	rt.Handle("GET /v1/products", httptransport.NewServer(set.ListProductsEndpoint, decodeListProductsRequest(cursors), encodeListProductsResponse(cursors),
		append(opts, transport.ListNamed("products"))...))
	rt.Handle("POST /v1/reservations", httptransport.NewServer(set.ReserveEndpoint, decodeReserveRequest, encodeCreated, opts...))
	rt.Handle("POST /v1/reservations/{id}/confirm", httptransport.NewServer(set.ConfirmReservationEndpoint, decodeConfirmReservationRequest, transport.EncodeJSONResponse, opts...))
	rt.Handle("DELETE /v1/reservations/{id}", httptransport.NewServer(set.ReleaseReservationEndpoint, decodeReleaseReservationRequest, encodeNoContent, opts...))
	reservations := transport.ListOf(reservationsList)
	rt.Handle("GET /v1/reservations", httptransport.NewServer(set.ListReservationsEndpoint, decodeListReservationsRequest(cursors), encodeListReservationsResponse(cursors),
		append(opts, reservations)...))
	return transport.Finish(rt, ops)
}

// createProductBody is the wire form of CreateProductRequest. Stock is a
// pointer so that a forgotten stock is an error rather than a product that
// silently has none.
type createProductBody struct {
	Name       string `json:"name"`
	PriceCents int64  `json:"price_cents"`
	Stock      *int64 `json:"stock"`
}

func decodeCreateProductRequest(_ context.Context, r *http.Request) (any, error) {
	var body createProductBody
	if err := transport.DecodeJSON(r, &body); err != nil {
		return nil, err
	}
	if body.Stock == nil {
		return nil, kitshop.InvalidArgument("stock", "is required")
	}
	return CreateProductRequest{Name: body.Name, PriceCents: body.PriceCents, Stock: *body.Stock}, nil
}

func decodeGetProductRequest(_ context.Context, r *http.Request) (any, error) {
	return GetProductRequest{ID: r.PathValue("id")}, nil
}

func decodeListProductsRequest(cursors *transport.Cursors) httptransport.DecodeRequestFunc {
	return func(_ context.Context, r *http.Request) (any, error) {
		page, err := cursors.DecodePage(r, "products")
		if err != nil {
			return nil, err
		}
		return ListProductsRequest{After: page.After, Limit: page.Limit}, nil
	}
}

// decodeReserveRequest reads the body and the Idempotency-Key header; the
// service checks that the key is there.
func decodeReserveRequest(_ context.Context, r *http.Request) (any, error) {
	var req ReserveRequest
	if err := transport.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	req.IdempotencyKey = r.Header.Get(transport.IdempotencyKeyHeader)
	return req, nil
}

// decodeConfirmReservationRequest ignores any body: the route takes none,
// and a client that sends {} or an empty JSON body is not refused for it.
func decodeConfirmReservationRequest(_ context.Context, r *http.Request) (any, error) {
	return ConfirmReservationRequest{ID: r.PathValue("id")}, nil
}

func decodeReleaseReservationRequest(_ context.Context, r *http.Request) (any, error) {
	return ReleaseReservationRequest{ID: r.PathValue("id")}, nil
}

func decodeListReservationsRequest(cursors *transport.Cursors) httptransport.DecodeRequestFunc {
	return func(_ context.Context, r *http.Request) (any, error) {
		page, err := cursors.DecodePage(r, reservationsList(r))
		if err != nil {
			return nil, err
		}
		return ListReservationsRequest{Status: r.URL.Query().Get("status"), After: page.After, Limit: page.Limit}, nil
	}
}

// reservationsList names the list a reservations request reads, for its
// cursors: one issued for one status is good for no other.
func reservationsList(r *http.Request) string {
	return "reservations?status=" + r.URL.Query().Get("status")
}

func encodeCreated(ctx context.Context, w http.ResponseWriter, response any) error {
	return transport.EncodeJSONResponse(ctx, w, transport.Created{Body: response})
}

func encodeNoContent(ctx context.Context, w http.ResponseWriter, _ any) error {
	return transport.EncodeJSONResponse(ctx, w, transport.NoContent{})
}

func encodeListProductsResponse(cursors *transport.Cursors) httptransport.EncodeResponseFunc {
	return func(ctx context.Context, w http.ResponseWriter, response any) error {
		resp, err := transport.Assert[ListProductsResponse](response)
		if err != nil {
			return err
		}
		return transport.EncodeJSONResponse(ctx, w, transport.NewListBody(resp.Products, cursors.Next(ctx, resp.Next)))
	}
}

func encodeListReservationsResponse(cursors *transport.Cursors) httptransport.EncodeResponseFunc {
	return func(ctx context.Context, w http.ResponseWriter, response any) error {
		resp, err := transport.Assert[ListReservationsResponse](response)
		if err != nil {
			return err
		}
		return transport.EncodeJSONResponse(ctx, w, transport.NewListBody(resp.Reservations, cursors.Next(ctx, resp.Next)))
	}
}
