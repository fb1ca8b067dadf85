package orderservice

import (
	"context"
	"crypto/sha256"
	"encoding/base64"

	"github.com/go-kit/kit/endpoint"

	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/transport"
)

// The order service's access rules ("Identity and access" in the
// contract), one endpoint middleware per method, which NewEndpointSet
// puts around every endpoint; they read the caller the authentication
// middleware put in the context. A customer orders for themselves and
// sees their own orders only; an admin and a service may act for anyone.

// anyone is every role with a token.
var anyone = []string{auth.RoleCustomer, auth.RoleAdmin, auth.RoleService}

// createOrderAccess makes a left-out user_id the caller's, refuses a
// customer's order for another user (403), and scopes the Idempotency-Key
// to the caller: the same key from two callers is two keys.
func createOrderAccess(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		c, err := auth.Require(ctx, anyone...)
		if err != nil {
			return nil, err
		}
		req, err := transport.Assert[CreateOrderRequest](request)
		if err != nil {
			return nil, err
		}
		if req.UserID == "" {
			req.UserID = c.ID
		}
		if c.Role == auth.RoleCustomer && req.UserID != c.ID {
			return nil, auth.ErrForbidden.WithMessage("a customer orders for themselves only")
		}
		if req.IdempotencyKey != "" {
			if err := validateIdempotencyKey(req.IdempotencyKey); err != nil {
				return nil, err
			}
			req.IdempotencyKey = callerKey(c, req.IdempotencyKey)
		}
		return next(ctx, req)
	}
}

// callerKey is the caller's own form of an Idempotency-Key: a fixed-size
// digest of who sent it and the key.
func callerKey(c auth.Caller, key string) string {
	sum := sha256.Sum256([]byte(c.Role + "\x00" + c.ID + "\x00" + key))
	return "k1:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// getOrderAccess lets a customer read their own orders only: another
// user's is ErrNotFound, so its existence is not disclosed.
func getOrderAccess(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		c, err := auth.Require(ctx, anyone...)
		if err != nil {
			return nil, err
		}
		response, err := next(ctx, request)
		if err != nil {
			return nil, err
		}
		if o, ok := response.(Order); c.Role == auth.RoleCustomer && (!ok || o.UserID != c.ID) {
			return nil, ErrNotFound
		}
		return response, nil
	}
}

// listOrdersAccess makes a customer's list their own (another user_id is
// 403); an admin's or a service's without user_id is every order.
func listOrdersAccess(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, request any) (any, error) {
		c, err := auth.Require(ctx, anyone...)
		if err != nil {
			return nil, err
		}
		req, err := transport.Assert[ListOrdersRequest](request)
		if err != nil {
			return nil, err
		}
		if c.Role == auth.RoleCustomer {
			if req.UserID != "" && req.UserID != c.ID {
				return nil, auth.ErrForbidden.WithMessage("a customer lists their own orders only")
			}
			req.UserID = c.ID
		}
		return next(ctx, req)
	}
}
