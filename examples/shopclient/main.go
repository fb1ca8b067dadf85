// Command shopclient signs in to the shop and calls usersvc and productsvc
// through the same resilient clients ordersvc uses (retries with backoff, a
// circuit breaker per instance, timeouts): it reads the signed-in user and
// lists the first products.
//
//	go run ./examples/shopclient ada@example.com analytical-engine
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport"
	"github.com/kitshop/kitshop/transport/resilience"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: shopclient EMAIL PASSWORD")
	}
	ctx := context.Background()
	userDep, err := resilience.NewDependency("user", []string{"http://localhost:8081"}, resilience.Settings{})
	if err != nil {
		log.Fatal(err)
	}
	productDep, err := resilience.NewDependency("product", []string{"http://localhost:8082"}, resilience.Settings{})
	if err != nil {
		log.Fatal(err)
	}

	// Sign in (POST /v1/sessions); remote errors come back typed.
	session, err := userservice.NewHTTPClient(userDep, nil).CreateSession(ctx,
		userservice.CreateSessionRequest{Email: os.Args[1], Password: os.Args[2]})
	switch {
	case errors.Is(err, userservice.ErrBadCredentials):
		log.Fatal("wrong email or password")
	case err != nil: // 503 dependency_unavailable once retries are spent or the breaker is open
		log.Fatal(err)
	}
	// Every call of these clients carries the access token.
	asUser := transport.WithToken(session.AccessToken)
	users := userservice.NewHTTPClient(userDep, nil, asUser) // a userservice.Service
	products := productservice.NewHTTPClient(productDep, nil, asUser)

	u, err := users.GetUser(ctx, session.User.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s <%s>, %s\n", u.Name, u.Email, u.Role)

	page, _, err := products.ListProducts(ctx, "", 5)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range page {
		fmt.Printf("%s  %s  %d cents, %d in stock\n", p.ID, p.Name, p.PriceCents, p.Stock)
	}
}
