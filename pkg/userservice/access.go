package userservice

import (
	"context"

	"github.com/go-kit/kit/endpoint"

	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/transport"
)

// The user service's access rules ("Identity and access" in the
// contract), one endpoint middleware per method, which NewEndpointSet
// puts around every endpoint. They read the caller that the
// authentication middleware (passed to NewEndpointSet, outermost) put in
// the context, so every transport gets them.
var (
	createUserAccess    = auth.Public
	createSessionAccess = auth.Public
	jwksAccess          = auth.Public
	listUsersAccess     = auth.Allow(auth.RoleAdmin, auth.RoleService)
)

// getUserAccess lets a customer read their own user only: another user's
// is ErrNotFound, so its existence is not disclosed.
func getUserAccess(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		c, err := auth.Require(ctx, auth.RoleCustomer, auth.RoleAdmin, auth.RoleService)
		if err != nil {
			return nil, err
		}
		req, err := transport.Assert[GetUserRequest](request)
		if err != nil {
			return nil, err
		}
		if c.Role == auth.RoleCustomer && req.ID != c.ID {
			return nil, ErrNotFound
		}
		return next(ctx, request)
	}
}
