package orderservice

import (
	"net/http"

	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
)

// GatedEndpointer is a dependency's instances that also know whether the
// dependency may be called now; *resilience.Dependency is one.
type GatedEndpointer interface {
	transport.Endpointer
	Gate
}

// NewUsersClient returns the user service's HTTP client over dep. The
// client carries dep's availability: NewService finds it there, so that
// CreateOrder refuses at once while every user instance's breaker is open,
// with no separate wiring to forget. httpClient may be nil; opts carry
// the service token (transport.WithTokenSource(auth.ServiceTokenSource)).
func NewUsersClient(dep GatedEndpointer, httpClient *http.Client, opts ...transport.ClientOption) Users {
	return gatedUsers{Users: userservice.NewHTTPClient(dep, httpClient, opts...), Gate: dep}
}

// NewProductsClient is NewUsersClient for the product service.
func NewProductsClient(dep GatedEndpointer, httpClient *http.Client, opts ...transport.ClientOption) Products {
	return gatedProducts{Products: productservice.NewHTTPClient(dep, httpClient, opts...), Gate: dep}
}

type gatedUsers struct {
	Users
	Gate
}

type gatedProducts struct {
	Products
	Gate
}
