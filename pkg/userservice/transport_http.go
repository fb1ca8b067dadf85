package userservice

import (
	"context"
	"net/http"

	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/kitshop/kitshop/transport"
)

// NewHTTPHandler serves the user service's HTTP API over the endpoints of
// set, plus /healthz, /readyz and /metrics from ops:
//
//	POST /v1/users        {name, email, password} -> 201 user
//	GET  /v1/users/{id}   -> 200 user | 404
//	GET  /v1/users?limit=&cursor= -> 200 {items, next_cursor}
//	POST /v1/sessions     {email, password} -> 201 {access_token, token_type, expires_in, user} | 401 | 429
//	GET  /.well-known/jwks.json -> 200 {keys}
func NewHTTPHandler(set Set, ops transport.Ops) http.Handler {
	opts := transport.ServerOptions()
	rt := transport.NewRouter()
	rt.Handle("POST /v1/users", httptransport.NewServer(set.CreateUserEndpoint, decodeCreateUserRequest, encodeCreated, opts...))
	rt.Handle("GET /v1/users/{id}", httptransport.NewServer(set.GetUserEndpoint, decodeGetUserRequest, transport.EncodeJSONResponse, opts...))
	cursors := ops.ListCursors()
	rt.Handle("GET /v1/users", httptransport.NewServer(set.ListUsersEndpoint, decodeListUsersRequest(cursors), encodeListUsersResponse(cursors),
		append(opts, transport.ListNamed("users"))...))
	rt.Handle("POST /v1/sessions", httptransport.NewServer(set.CreateSessionEndpoint, decodeCreateSessionRequest, encodeSession, opts...))
	rt.Handle("GET /.well-known/jwks.json", httptransport.NewServer(set.JWKSEndpoint, decodeJWKSRequest, transport.EncodeJSONResponse, opts...))
	return transport.Finish(rt, ops)
}

func decodeCreateSessionRequest(_ context.Context, r *http.Request) (any, error) {
	var req CreateSessionRequest
	if err := transport.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	return req, nil
}

func decodeJWKSRequest(context.Context, *http.Request) (any, error) { return JWKSRequest{}, nil }

// encodeSession answers 201 with the token, which no cache may keep.
func encodeSession(ctx context.Context, w http.ResponseWriter, response any) error {
	w.Header().Set("Cache-Control", "no-store")
	return transport.EncodeJSONResponse(ctx, w, transport.Created{Body: response})
}

func decodeCreateUserRequest(_ context.Context, r *http.Request) (any, error) {
	var req CreateUserRequest
	if err := transport.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	return req, nil
}

func decodeGetUserRequest(_ context.Context, r *http.Request) (any, error) {
	return GetUserRequest{ID: r.PathValue("id")}, nil
}

func decodeListUsersRequest(cursors *transport.Cursors) httptransport.DecodeRequestFunc {
	return func(_ context.Context, r *http.Request) (any, error) {
		page, err := cursors.DecodePage(r, "users")
		if err != nil {
			return nil, err
		}
		return ListUsersRequest{After: page.After, Limit: page.Limit}, nil
	}
}

func encodeCreated(ctx context.Context, w http.ResponseWriter, response any) error {
	return transport.EncodeJSONResponse(ctx, w, transport.Created{Body: response})
}

func encodeListUsersResponse(cursors *transport.Cursors) httptransport.EncodeResponseFunc {
	return func(ctx context.Context, w http.ResponseWriter, response any) error {
		resp, err := transport.Assert[ListUsersResponse](response)
		if err != nil {
			return err
		}
		return transport.EncodeJSONResponse(ctx, w, transport.NewListBody(resp.Users, cursors.Next(ctx, resp.Next)))
	}
}
