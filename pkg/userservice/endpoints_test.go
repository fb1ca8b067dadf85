package userservice

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-kit/kit/endpoint"

	"github.com/kitshop/kitshop/internal/testkit"
	"github.com/kitshop/kitshop/pkg/kitshop"
)

func TestEndpointsServeTheService(t *testing.T) {
	svc, _ := newTestService(t)
	set := NewEndpointSet(svc, testkit.AsAdmin)
	ctx := context.Background()

	out, err := set.CreateUserEndpoint(ctx, validRequest("ep@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	u, ok := out.(User)
	if !ok || u.Email != "ep@example.com" {
		t.Fatalf("CreateUserEndpoint returned %#v", out)
	}
	out, err = set.GetUserEndpoint(ctx, GetUserRequest{ID: u.ID})
	if err != nil || out.(User) != u {
		t.Fatalf("GetUserEndpoint returned %#v, %v", out, err)
	}
	out, err = set.ListUsersEndpoint(ctx, ListUsersRequest{Limit: 10})
	if resp, ok := out.(ListUsersResponse); err != nil || !ok || len(resp.Users) != 1 || resp.Next != "" {
		t.Fatalf("ListUsersEndpoint returned %#v, %v", out, err)
	}
	if _, err := set.GetUserEndpoint(ctx, GetUserRequest{ID: "usr_x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetUserEndpoint(unknown): %v", err)
	}
	if _, err := set.ListUsersEndpoint(ctx, ListUsersRequest{}); kitshop.AsError(err).Code != kitshop.CodeInvalidArgument {
		t.Fatalf("ListUsersEndpoint(limit 0): %v", err)
	}
}

// A request of the wrong type is an internal error, never a panic.
func TestEndpointsRejectWrongRequestTypes(t *testing.T) {
	set := NewEndpointSet(NewService(newMemStore()), testkit.AsAdmin)
	for name, e := range map[string]endpoint.Endpoint{
		"CreateUser": set.CreateUserEndpoint, "GetUser": set.GetUserEndpoint, "ListUsers": set.ListUsersEndpoint,
	} {
		for _, req := range []any{nil, "x", &CreateUserRequest{}, struct{}{}} {
			if _, err := e(context.Background(), req); kitshop.AsError(err).Code != kitshop.CodeInternal {
				t.Errorf("%s(%T): %v", name, req, err)
			}
		}
	}
}

// The Set is itself a Service.
func TestSetIsAService(t *testing.T) {
	inner, _ := newTestService(t)
	var svc Service = NewEndpointSet(inner, testkit.AsAdmin)
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, validRequest("set@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := svc.GetUser(ctx, u.ID); err != nil || got != u {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	users, next, err := svc.ListUsers(ctx, "", 5)
	if err != nil || len(users) != 1 || next != "" {
		t.Fatalf("ListUsers = %v, %q, %v", users, next, err)
	}
	if _, err := svc.CreateUser(ctx, validRequest("SET@example.com")); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
}

// Middleware passed to NewEndpointSet wraps every endpoint, first outermost.
func TestEndpointSetMiddlewareOrder(t *testing.T) {
	var trace []string
	mark := func(name string) endpoint.Middleware {
		return func(next endpoint.Endpoint) endpoint.Endpoint {
			return func(ctx context.Context, req any) (any, error) {
				trace = append(trace, name)
				return next(ctx, req)
			}
		}
	}
	set := NewEndpointSet(NewService(newMemStore()), testkit.AsAdmin, mark("outer"), mark("inner"))
	for _, call := range []func(){
		func() { _, _ = set.GetUserEndpoint(context.Background(), GetUserRequest{ID: "x"}) },
		func() { _, _ = set.ListUsersEndpoint(context.Background(), ListUsersRequest{Limit: 1}) },
		func() { _, _ = set.CreateUserEndpoint(context.Background(), CreateUserRequest{}) },
	} {
		trace = nil
		call()
		if strings.Join(trace, ",") != "outer,inner" {
			t.Fatalf("middleware ran %v", trace)
		}
	}
}
