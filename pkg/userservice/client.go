package userservice

import (
	"context"
	"net/http"
	"net/url"

	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/transport"
)

// NewHTTPClient returns a Service that calls a remote user service. Calls go
// through instances, which decides which instance serves each call and what
// protects it: a *resilience.Dependency gives balancing, per-instance
// circuit breakers, retries with backoff and per-attempt timeouts;
// transport.Direct("http://host:port") gives a bare client. Remote errors
// come back as the same typed errors: a 404 satisfies
// errors.Is(err, ErrNotFound). httpClient may be nil for
// transport.NewPooledHTTPClient().
func NewHTTPClient(instances transport.Endpointer, httpClient *http.Client, opts ...transport.ClientOption) Service {
	if httpClient == nil {
		httpClient = transport.NewPooledHTTPClient()
	}
	return Set{
		CreateUserEndpoint:    transport.ClientEndpoint(instances, httpClient, encodeCreateUserCall, decodeUserResponse, opts...),
		GetUserEndpoint:       transport.ClientEndpoint(instances, httpClient, encodeGetUserCall, decodeUserResponse, opts...),
		ListUsersEndpoint:     transport.ClientEndpoint(instances, httpClient, encodeListUsersCall, decodeListUsersResponse, opts...),
		CreateSessionEndpoint: transport.ClientEndpoint(instances, httpClient, encodeCreateSessionCall, decodeSessionResponse, opts...),
		JWKSEndpoint:          transport.ClientEndpoint(instances, httpClient, encodeJWKSCall, decodeJWKSResponse, opts...),
	}
}

func encodeCreateSessionCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[CreateSessionRequest](request)
	if err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodPost, base, "/v1/sessions", nil, req, nil)
}

func encodeJWKSCall(ctx context.Context, base string, request any) (*http.Request, error) {
	if _, err := transport.Assert[JWKSRequest](request); err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodGet, base, "/.well-known/jwks.json", nil, nil, nil)
}

func decodeSessionResponse(_ context.Context, resp *http.Response) (any, error) {
	return transport.DecodeJSONResponse[Session](resp)
}

func decodeJWKSResponse(_ context.Context, resp *http.Response) (any, error) {
	return transport.DecodeJSONResponse[auth.JWKS](resp)
}

func encodeCreateUserCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[CreateUserRequest](request)
	if err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodPost, base, "/v1/users", nil, req, nil)
}

func encodeGetUserCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[GetUserRequest](request)
	if err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodGet, base, "/v1/users/"+url.PathEscape(req.ID), nil, nil, nil)
}

func encodeListUsersCall(ctx context.Context, base string, request any) (*http.Request, error) {
	req, err := transport.Assert[ListUsersRequest](request)
	if err != nil {
		return nil, err
	}
	return transport.NewRequest(ctx, http.MethodGet, base, "/v1/users", transport.PageQuery(req.After, req.Limit), nil, nil)
}

func decodeUserResponse(_ context.Context, resp *http.Response) (any, error) {
	return transport.DecodeJSONResponse[User](resp)
}

func decodeListUsersResponse(_ context.Context, resp *http.Response) (any, error) {
	users, next, err := transport.DecodeListResponse[User](resp)
	if err != nil {
		return nil, err
	}
	return ListUsersResponse{Users: users, Next: next}, nil
}
