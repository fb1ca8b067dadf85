// Command userclient looks a user up in usersvc through the same resilient
// client ordersvc uses: retries with backoff, a circuit breaker, timeouts.
//
//	go run ./examples/userclient usr_01m83vwh...
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/kitshop/kitshop/pkg/userservice"
	"github.com/kitshop/kitshop/transport/resilience"
)

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: userclient USER_ID")
	}
	users, err := resilience.NewDependency("user", []string{"http://localhost:8081"}, resilience.Settings{})
	if err != nil {
		log.Fatal(err)
	}
	client := userservice.NewHTTPClient(users, nil) // a userservice.Service: retries, breaker, timeouts
	u, err := client.GetUser(context.Background(), os.Args[1])
	switch {
	case errors.Is(err, userservice.ErrNotFound): // remote errors come back typed
		fmt.Println("no such user")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("%s <%s>\n", u.Name, u.Email)
	}
}
