package productservice

import (
	"context"
	"net/http"
	"net/url"

	"github.com/kitshop/kitshop/transport"
)

// NewHTTPClient returns a Service that calls a remote product service.
// Calls go through instances, which decides which instance serves each call
// and what protects it: a *resilience.Dependency gives balancing,
// per-instance circuit breakers, retries with backoff and per-attempt
// timeouts; transport.Direct("http://host:port") gives a bare client.
// Reserve sends req.IdempotencyKey as the Idempotency-Key header, so a
// retried Reserve never takes stock twice. Remote errors come back as the
// same typed errors: a 409 insufficient_stock satisfies
// errors.Is(err, ErrInsufficientStock). httpClient may be nil for
// transport.NewPooledHTTPClient().
func NewHTTPClient(instances transport.Endpointer, httpClient *http.Client, opts ...transport.ClientOption) Service {
	if httpClient == nil {
		httpClient = transport.NewPooledHTTPClient()
	}
	return Set{
		CreateProductEndpoint:      transport.ClientEndpoint(instances, httpClient, encodeCreateProductCall, decodeProductResponse, opts...),
		GetProductEndpoint:         transport.ClientEndpoint(instances, httpClient, encodeGetProductCall, decodeProductResponse, opts...),
		ListProductsEndpoint:       transport.ClientEndpoint(instances, httpClient, encodeListProductsCall, decodeListProductsResponse, opts...),
		ReserveEndpoint:            transport.ClientEndpoint(instances, httpClient, encodeReserveCall, decodeReservationResponse, opts...),
		ConfirmReservationEndpoint: transport.ClientEndpoint(instances, httpClient, encodeConfirmReservationCall, decodeReservationResponse, opts...),
		ReleaseReservationEndpoint: transport.ClientEndpoint(instances, httpClient, encodeReleaseReservationCall, decodeReleaseReservationResponse, opts...),
		ListReservationsEndpoint:   transport.ClientEndpoint(instances, httpClient, encodeListReservationsCall, decodeListReservationsResponse, opts...),
	}
}

func encodeCreateProductCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[CreateProductRequest](request)
	if err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodPost, base, "/v1/products", nil, req, nil)
}

func encodeGetProductCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[GetProductRequest](request)
	if err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodGet, base, "/v1/products/"+url.PathEscape(req.ID), nil, nil, nil)
}

func encodeListProductsCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[ListProductsRequest](request)
	if err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodGet, base, "/v1/products", transport.PageQuery(req.After, req.Limit), nil, nil)
}

func encodeReserveCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[ReserveRequest](request)
	if err != nil {
		return nil, err
	}
	header := http.Header{}
	if req.IdempotencyKey != "" {
		header.Set(transport.IdempotencyKeyHeader, req.IdempotencyKey)
	}
	return transport.NewRequest(ctx, http.MethodPost, base, "/v1/reservations", nil, req, header)
}

func encodeConfirmReservationCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[ConfirmReservationRequest](request)
	if err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodPost, base, "/v1/reservations/"+url.PathEscape(req.ID)+"/confirm", nil, nil, nil)
}

func encodeReleaseReservationCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[ReleaseReservationRequest](request)
	if err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodDelete, base, "/v1/reservations/"+url.PathEscape(req.ID), nil, nil, nil)
}

func encodeListReservationsCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[ListReservationsRequest](request)
	if err != nil {
		return nil, err
	}
	q := transport.PageQuery(req.After, req.Limit)
	if req.Status != "" {
		q.Set("status", req.Status)
	}
	return transport.NewRequest(ctx, http.MethodGet, base, "/v1/reservations", q, nil, nil)
}

func decodeProductResponse(_ context.Context, resp *http.Response) (any, error) {
	return transport.DecodeJSONResponse[Product](resp)
}

func decodeReservationResponse(_ context.Context, resp *http.Response) (any, error) {
	return transport.DecodeJSONResponse[Reservation](resp)
}

func decodeReleaseReservationResponse(_ context.Context, resp *http.Response) (any, error) {
	return transport.DecodeJSONResponse[ReleaseReservationResponse](resp)
}

func decodeListProductsResponse(_ context.Context, resp *http.Response) (any, error) {
	products, next, err := transport.DecodeListResponse[Product](resp)
	if err != nil {
		return nil, err
	}
	return ListProductsResponse{Products: products, Next: next}, nil
}

func decodeListReservationsResponse(_ context.Context, resp *http.Response) (any, error) {
	rs, next, err := transport.DecodeListResponse[Reservation](resp)
	if err != nil {
		return nil, err
	}
	return ListReservationsResponse{Reservations: rs, Next: next}, nil
}
