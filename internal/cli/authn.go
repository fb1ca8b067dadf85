package cli

import (
	"github.com/go-kit/kit/sd"
	"github.com/go-kit/log"

	"github.com/kitshop/kitshop/internal/authn"
	"github.com/kitshop/kitshop/pkg/auth"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport/resilience"
)

// remoteVerifier verifies tokens for a server other than usersvc: access
// tokens against usersvc's keys, fetched through a resilient client of the
// user service's instances, and service tokens against secret ("" refuses
// them). Close the returned dependency when done, before stopping users.
func remoteVerifier(users sd.Instancer, secret string, logger log.Logger) (*authn.Verifier, *resilience.Dependency, error) {
	dep, err := resilience.NewDependencyFromInstancer("user", users, resilience.Settings{Logger: log.With(logger, "component", "jwks")})
	if err != nil {
		return nil, nil, err
	}
	client := userservice.NewHTTPClient(dep, nil)
	return authn.NewVerifier(auth.NewKeySet(client.JWKS), secret), dep, nil
}
