// Package chaos is the chaos experiment runner behind cmd/chaos: it starts
// the shop as separate processes of its own executable (or as the
// containers of docker-compose.yml, -target compose), drives an open-loop
// load of orders at ordersvc, injects a fault (a killed, frozen, slow or
// resetting dependency, or a killed ordersvc), heals it, and checks the
// contract's resilience points 1-7 (CONTRACT.md, "Resilience" and
// "cmd/chaos") against what it measured and against the shop's own books.
//
// # One experiment
//
//  1. Stack: usersvc, productsvc and ordersvc on free loopback ports, fresh
//     databases (SQLite files in a temporary directory, or with -postgres
//     databases created on that server and dropped after), ordersvc
//     reaching its dependencies through toxiproxy proxies run in this
//     process. With -target compose the services are containers of a
//     compose project of the experiment's own, acted on with docker kill,
//     pause, unpause and start (stack_compose.go). The
//     resilience settings are short defaults (CALL_TIMEOUT=300ms,
//     REQUEST_TIMEOUT=2s, BREAKER_OPEN_TIMEOUT=2s, RETRY_MAX_ATTEMPTS=3,
//     RESERVATION_TTL=10m) unless the environment sets them; the checks use
//     the values passed. Services log JSON; their output goes to
//     <report>/<experiment>.log.
//  2. Setup through the APIs: 20 users, 8 products of stock 1,000,000.
//  3. Probe (point 2): 30 requests that must be refused (unknown product,
//     unknown user), one after the other, before the load.
//  4. Load: POST /v1/orders at a fixed rate, each with its own
//     Idempotency-Key and X-Request-ID, a random user, one or two
//     products, quantities 1-3; 5% name an unknown product. Phases:
//     steady (20% of -duration), fault (40%), recovery (the rest, at
//     least BREAKER_OPEN_TIMEOUT+3s). A request belongs to the phase in
//     which its answer came (one in flight at the fault is judged with the
//     fault; the last phase takes the answers that came after the load
//     stopped), in the table, check 2 and the chart alike. Checks 4 and 5
//     look at when requests were sent: whether the breaker was open then,
//     and which 1s window they open. ordersvc's /metrics is scraped every
//     100ms.
//  5. Re-drive: every key whose answer was not definitive (no answer, 5xx,
//     409 request_in_progress) is asked again with the same key and body
//     until it is, within a bound.
//  6. Settle: wait until ordersvc has no pending or cancelling order (its
//     orders_unresolved gauge, as an operator would see it) and productsvc
//     holds no reservation.
//  7. Books: stock, confirmed orders, held and confirmed reservations, and
//     GET /v1/orders/{id} for every order a 201 named.
//  8. Goroutines: ordersvc's go_goroutines against the steady baseline.
//
// # Checks
//
//	1   every request answered within REQUEST_TIMEOUT+100ms (client side)
//	2   the probe: all 422, ordersvc's retries/timeouts/short circuits +0,
//	    breakers closed; and the steady load's bad requests all 422
//	3   no call of a first-try request reached a dependency route more
//	    than RETRY_MAX_ATTEMPTS times (counted in the dependencies' access
//	    logs by request ID, which ordersvc passes on)
//	4   the faulted dependency's breaker seen open within 1s of the fault;
//	    503s to requests started while it was open: p99 < 10ms. Applies to
//	    kill-*, hang-user, and also slow-product (5 timeouts in a row open
//	    it in about CALL_TIMEOUT) and reset-product (failures at once).
//	    Requests started while the breaker may have been half-open are
//	    left out (the probe is let through and may take CALL_TIMEOUT).
//	    Skipped for restart-order, where no dependency fails.
//	5   from the heal (a restarted service answering /healthz, SIGCONT,
//	    the toxic removed), the first 1s window with >= 99% of answers
//	    below 500 starts within BREAKER_OPEN_TIMEOUT+2s
//	6a  per product: initial = current + confirmed orders + held, unexpired
//	    reservations
//	6b  confirmed reservations and confirmed orders match one to one, with
//	    the same quantities
//	6c  no held reservation more than 1s (a sweep) past its expiry
//	6d  one order per key: each key's 201s name one order, which is listed,
//	    retrievable, confirmed and what the key asked for; no confirmed
//	    order that no 201 named; every key decided; nothing left
//	    unresolved
//	7   ordersvc's goroutines back within max(10, 10%) of the steady
//	    median within 10s, after the proxies dropped their connections:
//	    ordersvc keeps an idle keep-alive pool (two goroutines a
//	    connection) for 90s, and a fault that raised concurrency leaves a
//	    larger, healthy pool that is not a leak.
//
// Exit status: 0 every check held, 1 a check failed (named on stderr), 2
// an experiment could not run (bad usage, a service that would not start
// or restart, SIGINT): nothing is left running.
//
// Where things are: options.go (flags), settings.go, stack.go,
// stack_process.go, stack_compose.go and proxies.go (the services and the
// fault proxies), workload.go and load.go (the load),
// faults.go and experiments.go (the catalogue), runner.go and observe.go
// (one experiment), redrive.go, stats.go, invariants.go and checks.go (the
// judging, pure), report.go, format.go and chart.go (the output).
package chaos
