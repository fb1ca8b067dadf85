package cli

import (
	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/authn"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
	"github.com/kitshop/kitshop/transport/resilience"
)

// remoteVerifier verifies tokens for a server other than usersvc: access
// tokens against usersvc's keys, fetched through a resilient client of the
// user service at userURLs (a fixed list), and service tokens against
// secret ("" refuses them). Close the returned dependency when done.
func remoteVerifier(userURLs, secret string, logger log.Logger) (*authn.Verifier, *resilience.Dependency, error) {
	instances, err := transport.ParseInstances(userURLs)
	if err != nil {
		return nil, nil, err
	}
	dep, err := resilience.NewDependency("user", instances, resilience.Settings{Logger: log.With(logger, "component", "jwks")})
	if err != nil {
		return nil, nil, err
	}
	users := userservice.NewHTTPClient(dep, nil)
	return authn.NewVerifier(auth.NewKeySet(users.JWKS), secret), dep, nil
}
