package userservice

import (
	"context"

	"github.com/go-kit/kit/endpoint"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/transport"
)

// Set holds one go-kit endpoint per Service method. It is itself a Service:
// built from a Service with NewEndpointSet it serves requests; built from
// HTTP client endpoints (NewHTTPClient) it calls a remote user service.
type Set struct {
	CreateUserEndpoint endpoint.Endpoint
	GetUserEndpoint    endpoint.Endpoint
	ListUsersEndpoint  endpoint.Endpoint
	// CreateSessionEndpoint takes a CreateSessionRequest, returns a Session.
	CreateSessionEndpoint endpoint.Endpoint
	// JWKSEndpoint takes a JWKSRequest, returns an auth.JWKS.
	JWKSEndpoint endpoint.Endpoint
}

// NewEndpointSet wraps every method of svc in an endpoint behind its access
// rule (access.go), each passed through mw (outermost first). mw must
// begin with the authentication middleware (authn), which finds the
// caller the rules check: without it every route that needs a token
// answers 401.
func NewEndpointSet(svc Service, mw ...endpoint.Middleware) Set {
	chain := transport.Chain(mw...)
	return Set{
		CreateUserEndpoint:    chain(createUserAccess(MakeCreateUserEndpoint(svc))),
		GetUserEndpoint:       chain(getUserAccess(MakeGetUserEndpoint(svc))),
		ListUsersEndpoint:     chain(listUsersAccess(MakeListUsersEndpoint(svc))),
		CreateSessionEndpoint: chain(createSessionAccess(MakeCreateSessionEndpoint(svc))),
		JWKSEndpoint:          chain(jwksAccess(MakeJWKSEndpoint(svc))),
	}
}

// JWKSRequest asks for the key set; it has no fields.
type JWKSRequest struct{}

// GetUserRequest asks for one user.
type GetUserRequest struct{ ID string }

// ListUsersRequest asks for a page of users.
type ListUsersRequest struct {
	After string
	Limit int
}

// ListUsersResponse is a page of users; Next is "" on the last page.
type ListUsersResponse struct {
	Users []User
	Next  string
}

// MakeCreateUserEndpoint takes a CreateUserRequest and returns a User.
func MakeCreateUserEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[CreateUserRequest](request)
		if err != nil {
			return nil, err
		}
		return svc.CreateUser(ctx, req)
	}
}

// MakeGetUserEndpoint takes a GetUserRequest and returns a User.
func MakeGetUserEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[GetUserRequest](request)
		if err != nil {
			return nil, err
		}
		return svc.GetUser(ctx, req.ID)
	}
}

// MakeListUsersEndpoint takes a ListUsersRequest and returns a ListUsersResponse.
func MakeListUsersEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[ListUsersRequest](request)
		if err != nil {
			return nil, err
		}
		users, next, err := svc.ListUsers(ctx, req.After, req.Limit)
		if err != nil {
			return nil, err
		}
		return ListUsersResponse{Users: users, Next: next}, nil
	}
}

// MakeCreateSessionEndpoint takes a CreateSessionRequest and returns a Session.
func MakeCreateSessionEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		req, err := transport.Assert[CreateSessionRequest](request)
		if err != nil {
			return nil, err
		}
		return svc.CreateSession(ctx, req)
	}
}

// MakeJWKSEndpoint takes a JWKSRequest and returns an auth.JWKS.
func MakeJWKSEndpoint(svc Service) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		if _, err := transport.Assert[JWKSRequest](request); err != nil {
			return nil, err
		}
		return svc.JWKS(ctx)
	}
}

// CreateUser implements Service.
func (s Set) CreateUser(ctx context.Context, req CreateUserRequest) (User, error) {
	return transport.Call[User](ctx, s.CreateUserEndpoint, req)
}

// GetUser implements Service.
func (s Set) GetUser(ctx context.Context, id string) (User, error) {
	return transport.Call[User](ctx, s.GetUserEndpoint, GetUserRequest{ID: id})
}

// ListUsers implements Service.
func (s Set) ListUsers(ctx context.Context, after string, limit int) ([]User, string, error) {
	resp, err := transport.Call[ListUsersResponse](ctx, s.ListUsersEndpoint, ListUsersRequest{After: after, Limit: limit})
	return resp.Users, resp.Next, err
}

// CreateSession implements Service.
func (s Set) CreateSession(ctx context.Context, req CreateSessionRequest) (Session, error) {
	return transport.Call[Session](ctx, s.CreateSessionEndpoint, req)
}

// JWKS implements Service.
func (s Set) JWKS(ctx context.Context) (auth.JWKS, error) {
	return transport.Call[auth.JWKS](ctx, s.JWKSEndpoint, JWKSRequest{})
}
