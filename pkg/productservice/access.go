package productservice

import "github.com/kitshop/kitshop/pkg/auth"

// The product service's access rules ("Identity and access" in the
// contract), one endpoint middleware per method, which NewEndpointSet
// puts around every endpoint; they read the caller the authentication
// middleware put in the context. The catalogue is public; only an admin
// adds to it; reservations are for services (ordersvc) and admins.
var (
	createProductAccess = auth.Allow(auth.RoleAdmin)
	getProductAccess    = auth.Public
	listProductsAccess  = auth.Public
	reservationsAccess  = auth.Allow(auth.RoleAdmin, auth.RoleService)
)
