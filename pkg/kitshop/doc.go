// Package kitshop is the shop's domain vocabulary shared by every service:
// the one error type with its codes, and paging. It imports nothing of HTTP,
// SQL or metrics, so a program that only calls a service (through its
// library client) or a future gRPC transport can use it without pulling in
// a server.
//
// Transports map codes to their own statuses (package transport for HTTP);
// services return these errors, usually through their sentinels such as
// userservice.ErrNotFound.
package kitshop
