// Command shopclient calls usersvc and productsvc through the same
// resilient clients ordersvc uses (retries with backoff, a circuit breaker
// per instance, timeouts): it looks a user up and lists the first products.
//
//	go run ./examples/shopclient usr_01m83vwh...
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/kitshop/kitshop/pkg/productservice"
	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport/resilience"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: shopclient USER_ID")
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
	users := userservice.NewHTTPClient(userDep, nil) // a userservice.Service: retries, breaker, timeouts
	products := productservice.NewHTTPClient(productDep, nil)

	u, err := users.GetUser(ctx, os.Args[1])
	switch {
	case errors.Is(err, userservice.ErrNotFound): // remote errors come back typed
		log.Fatalf("no user %s", os.Args[1])
	case err != nil: // 503 dependency_unavailable once retries are spent or the breaker is open
		log.Fatal(err)
	}
	fmt.Printf("%s <%s>\n", u.Name, u.Email)

	page, _, err := products.ListProducts(ctx, "", 5)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range page {
		fmt.Printf("%s  %s  %d cents, %d in stock\n", p.ID, p.Name, p.PriceCents, p.Stock)
	}
}
