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

// errBusy and errNoSuchItem are the errors of a library user's own,
// non-HTTP client: errBusy says the callee is unwell, errNoSuchItem is an
// answer.
var (
	errBusy       = errors.New("inventory: busy")
	errNoSuchItem = errors.New("inventory: no such item")
)

// A library user's own endpoint (not HTTP) in the chain, with their own
// classifier: errBusy is retried and counts against the breaker,
// errNoSuchItem is a result, returned as it is after one attempt.
func Example_ownEndpoint() {
	inventory, err := resilience.NewDependency("inventory", []string{"inproc://inventory"}, resilience.Settings{
		Schemes:        []string{"inproc"},
		IsFailure:      func(err error) bool { return errors.Is(err, errBusy) },
		BackoffInitial: time.Millisecond,
		BackoffMax:     time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	attempts := 0
	lookup := inventory.Endpoint(func(instance string) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			attempts++
			switch request {
			case "busy":
				return nil, errBusy
			case "missing":
				return nil, errNoSuchItem
			}
			return "item " + request.(string), nil
		}
	})

	for _, id := range []string{"42", "missing", "busy"} {
		attempts = 0
		response, err := lookup(context.Background(), id)
		switch {
		case err == nil:
			fmt.Printf("%s: %v after %d attempt(s)\n", id, response, attempts)
		case errors.Is(err, errNoSuchItem):
			fmt.Printf("%s: result %q after %d attempt(s)\n", id, err, attempts)
		default:
			e := kitshop.AsError(err)
			fmt.Printf("%s: %s after %d attempt(s), busy: %v\n", id, e.Code, attempts, errors.Is(err, errBusy))
		}
	}
	// Output:
	// 42: item 42 after 1 attempt(s)
	// missing: result "inventory: no such item" after 1 attempt(s)
	// busy: dependency_unavailable after 3 attempt(s), busy: true
}
