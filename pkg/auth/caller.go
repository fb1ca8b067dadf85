package auth

import (
	"context"
	"slices"

	"github.com/go-kit/kit/endpoint"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

// Caller is who made a request, as its verified token says: a user (ID is
// the user's ID, Role customer or admin) or a service (ID is the service's
// name, Role RoleService).
type Caller struct {
	ID   string
	Role string
}

// Is reports whether the caller has one of roles.
func (c Caller) Is(roles ...string) bool { return slices.Contains(roles, c.Role) }

// Errors of access. Another user's user or order is not a 403 but the
// service's own not_found, so that its existence is not disclosed.
var (
	ErrUnauthenticated = kitshop.NewError(kitshop.CodeUnauthenticated, "a valid access token is required")
	ErrForbidden       = kitshop.NewError(kitshop.CodeForbidden, "this caller may not do this")
)

type callerKey struct{}

// NewContext returns ctx carrying c, as the authentication middleware does
// once it has verified a token.
func NewContext(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// FromContext returns the verified caller of the request, if there is one.
func FromContext(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Require returns the request's caller when it has one of roles:
// ErrUnauthenticated for a request without a verified token, ErrForbidden
// for a caller of another role.
func Require(ctx context.Context, roles ...string) (Caller, error) {
	c, ok := FromContext(ctx)
	if !ok {
		return Caller{}, ErrUnauthenticated
	}
	if !c.Is(roles...) {
		return Caller{}, ErrForbidden
	}
	return c, nil
}

type tokenKey struct{}

// ContextWithToken returns ctx carrying a bearer token as it came, not yet
// verified: the HTTP server puts the Authorization header's token here.
func ContextWithToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, tokenKey{}, token)
}

// TokenFromContext returns the unverified bearer token ctx carries.
func TokenFromContext(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(tokenKey{}).(string)
	return t, ok && t != ""
}

// Allow is endpoint middleware that lets through only callers of one of
// roles (Require's errors otherwise).
func Allow(roles ...string) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			if _, err := Require(ctx, roles...); err != nil {
				return nil, err
			}
			return next(ctx, request)
		}
	}
}

// Public is endpoint middleware for what anyone may call, with or without
// a token: it changes nothing, and says so where the rules are listed.
func Public(next endpoint.Endpoint) endpoint.Endpoint { return next }
