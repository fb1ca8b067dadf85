// Package loadbench is the load benchmark of cmd/loadbench: it starts the
// shop (usersvc, productsvc, ordersvc, gateway) and a raw net/http
// reference server as child processes of its own executable on loopback,
// and measures each hop next to raw net/http doing the same job, in one
// run on one machine:
//
//   - GET /v1/users/{id} on usersvc vs the raw reference (rawref.go);
//   - ordersvc's call to usersvc through the resilient client, made in
//     this process, vs a plain http.Client;
//   - the same GET through the gateway vs direct;
//   - POST /v1/orders end to end: the closed-loop maximum, then open-loop
//     latency at fixed fractions of it;
//   - the fast fail with usersvc killed and ordersvc's breaker open;
//   - each process's resident memory, idle and under load.
//
// The load generator and the services run on different CPUs when there
// are two or more (affinity.go). The generator speaks HTTP/1.1 itself
// (wire.go) so that it costs a fraction of what the servers do. Every
// window records the CPU time of the generator, of the processes serving
// the target and of everything else on the machine, so that a reader can
// tell a slow hop from a busy machine (stats.go). The run prints tables
// and writes the whole report as JSON (report.go).
package loadbench
