package resilience_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-kit/kit/endpoint"

	"github.com/kitshop/kitshop/pkg/kitshop"
	"github.com/kitshop/kitshop/transport"
	"github.com/kitshop/kitshop/transport/resilience"
)

// A dependency with one instance whose calls fail: the call is retried,
// the failures open the breaker, and from then on Available refuses at once
// with a typed 503 the service can answer with.
func Example() {
	users, err := resilience.NewDependency("user", []string{"http://127.0.0.1:8081"}, resilience.Settings{
		ConsecutiveFailures: 2,
		BackoffInitial:      time.Millisecond,
		BackoffMax:          time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// In a service the factory is the user client's go-kit HTTP endpoint
	// for one method and one instance, e.g. GET {instance}/v1/users/{id}.
	getUser := users.Endpoint(func(instance string) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			return nil, errors.New("dial tcp: connection refused")
		}
	})

	fmt.Println("before:", users.Available())

	_, err = getUser(context.Background(), "usr_1")
	fmt.Println("call:", kitshop.AsError(err).Code)

	// What the order service does first for every request.
	if err := users.Available(); err != nil {
		e := kitshop.AsError(err)
		fmt.Println("refused:", transport.Status(e), e.Code, e.Dependency, e.RetryAfter > 0)
	}
	fmt.Println(users.States())
	// Output:
	// before: <nil>
	// call: dependency_unavailable
	// refused: 503 dependency_unavailable user true
	// map[http://127.0.0.1:8081:open]
}
