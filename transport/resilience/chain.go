package resilience

import (
	"github.com/go-kit/kit/endpoint"
)

// Endpoint wraps one method of the dependency's client. factory builds that
// method's bare endpoint for one instance base URL; it is called once per
// instance, when the instance first appears, and must not return nil. The result is the whole chain,
// composed here and nowhere else, outer to inner:
//
//	caller ctx
//	  |
//	  v
//	retry ------------ backoff/v4, <= MaxAttempts, never past the caller's ctx
//	  | (each attempt)
//	  v
//	balancer --------- the less loaded of two random instances (sd.Instancer),
//	  |        |       skipping refused ones
//	  v        v
//	breaker  breaker   one per instance, shared by all Endpoints of d
//	  |        |
//	callerDone         caller's cancellation is not the instance's failure
//	  |        |
//	timeout  timeout   per attempt: min(CallTimeout, caller's deadline)
//	  |        |
//	  v        v
//	factory(instance): the HTTP client endpoint
//
// Why each sits where it does:
//   - retry is outermost so that each retry goes through the balancer
//     again, and so moves to the next instance, and so that its backoff
//     wait is not inside any timeout or breaker measurement.
//   - the balancer is outside the breakers so that it can skip an instance
//     whose breaker refuses and use another within the same attempt, and
//     tell "every instance refused" (answer 503 now, no backoff sleep) from
//     a real failure (worth a retry).
//   - the breaker is per instance and outside the timeout, so that a
//     timed-out attempt counts as that instance's failure, and a refused
//     attempt costs no timer, no context and no I/O.
//   - callerDone sits between breaker and timeout, where the caller's
//     context and the attempt's own deadline can still be told apart, so
//     that a caller giving up never trips a breaker.
//   - the timeout is innermost so that every attempt, and only the attempt,
//     gets a fresh CallTimeout: backoff waits and other attempts do not eat
//     into it.
//
// The layers are exported as go-kit middleware of d (Retry, Balance,
// Breaker, Timeout), sharing d's breakers, settings and metrics, for a
// caller that needs another composition; Endpoint is the one the shop uses.
func (d *Dependency) Endpoint(factory func(instance string) endpoint.Endpoint) endpoint.Endpoint {
	timeout := d.Timeout()
	return d.Retry()(d.Balance(func(instance string) endpoint.Endpoint {
		bare := factory(instance)
		if bare == nil {
			panic("resilience: endpoint factory returned nil for " + d.name + " instance " + instance)
		}
		return endpoint.Chain(d.Breaker(instance), timeout)(bare)
	}))
}
